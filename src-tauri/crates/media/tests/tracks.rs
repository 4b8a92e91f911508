//! Must-show 2: audio-only and video-only publishers; channel mode's audio-only MP4.

mod common;

use std::time::Duration;

use common::*;
use tally_media::{Format, Formats, RecordRequest};

/// Records a 6 s publish; the temp dir is returned so the files live as long as the caller.
async fn record(
    tracks: Tracks,
    code: &str,
) -> (Vec<tally_media::SegmentClosed>, tempfile::TempDir) {
    let (engine, dir) = engine(|_| {}).await;
    let mut events = engine.subscribe();
    let url = format!(
        "rtmp://{}/live/{code}?record=flv,hls,mp4",
        engine.rtmp_addr()
    );
    assert!(wait_child(ffmpeg_publish(&url, 6, tracks)).await.success());
    let all = collect_until(
        &mut events,
        Duration::from_secs(20),
        stream_ended_and_all_closed,
    )
    .await;
    (closed(&all), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_publisher_is_recorded_with_an_audio_track_only() {
    let (segs, _dir) = record(Tracks::AudioOnly, "aonly").await;
    assert_eq!(segs.len(), 3);
    for s in &segs {
        assert_eq!(stream_types(&s.path), vec!["audio"], "{}", s.path.display());
        assert_eq!(
            (s.video_codec.as_deref(), s.audio_codec.as_deref()),
            (None, Some("aac"))
        );
        assert_eq!(s.poster, None, "no picture, no poster");
        assert!(
            (duration_s(&s.path) - 6.0).abs() < 0.2,
            "{} lasts {}",
            s.path.display(),
            duration_s(&s.path)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_only_publisher_is_recorded_with_a_video_track_only() {
    let (segs, _dir) = record(Tracks::VideoOnly, "vonly").await;
    assert_eq!(segs.len(), 3);
    for s in &segs {
        assert_eq!(stream_types(&s.path), vec!["video"], "{}", s.path.display());
        assert_eq!((s.width, s.height), (Some(320), Some(240)));
        assert_eq!(video_frames(&s.path), 180, "{}", s.path.display());
    }
    // One poster for the segment, named by each of its formats, a JPEG of the first keyframe.
    let poster = segs[0]
        .poster
        .clone()
        .expect("a segment with video has a poster");
    assert!(segs.iter().all(|s| s.poster.as_ref() == Some(&poster)));
    let jpg = segs[0].path.with_extension("jpg");
    let rel = std::path::Path::new(&segs[0].rel_path).with_extension("jpg");
    assert_eq!(std::path::Path::new(&poster), rel);
    let probed = &ffprobe(&jpg)["streams"][0];
    assert_eq!(probed["codec_name"], "mjpeg");
    assert_eq!(
        (probed["width"].as_i64(), probed["height"].as_i64()),
        (Some(320), Some(240)),
        "kept at its size when no wider than 320"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_audio_only_recording_waits_for_the_stream_and_gives_m4a_compatible_mp4() {
    let (engine, _dir) = engine(|_| {}).await;
    let mut events = engine.subscribe();
    let req = RecordRequest {
        app: "live".into(),
        stream_code: "chan1".into(),
        formats: Formats::MP4,
        interval: Duration::from_secs(5400),
        audio_only: true,
        label: "lesson-1".into(),
        poster: true,
    };
    // Started before anyone publishes: the recording waits for the stream.
    let id = engine.start_recording(req.clone()).await.unwrap();
    assert_eq!(
        engine.start_recording(req).await.unwrap_err().code(),
        30_000_415
    );
    let url = format!("rtmp://{}/live/chan1", engine.rtmp_addr());
    assert!(wait_child(ffmpeg_publish(&url, 5, Tracks::AudioVideo))
        .await
        .success());
    collect_until(&mut events, Duration::from_secs(10), |e| {
        e.iter()
            .any(|e| matches!(e, tally_media::EngineEvent::StreamEnded { .. }))
    })
    .await;
    let segs = engine.stop_recording(id).await.unwrap();
    assert_eq!(segs.len(), 1);
    let s = &segs[0];
    assert_eq!(
        (s.format, s.manual, s.label.as_str()),
        (Format::Mp4, true, "lesson-1")
    );
    assert_eq!(stream_types(&s.path), vec!["audio"]);
    assert_eq!(s.poster, None);
    assert!((duration_s(&s.path) - 5.0).abs() < 0.3);
    assert_eq!(
        engine.stop_recording(id).await.unwrap_err().code(),
        30_000_412,
        "a second stop says already stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_start_mid_gop_begins_at_the_last_keyframe_at_once() {
    let (engine, _dir) = engine(|_| {}).await;
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/midgop", engine.rtmp_addr());
    // Keyframes every second.
    let publisher = ffmpeg_publish(&url, 8, Tracks::AudioVideo);
    collect_until(&mut events, Duration::from_secs(10), |e| {
        e.iter()
            .any(|e| matches!(e, tally_media::EngineEvent::StreamStarted { .. }))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let req = RecordRequest {
        app: "live".into(),
        stream_code: "midgop".into(),
        formats: Formats::MP4,
        interval: Duration::from_secs(5400),
        audio_only: false,
        label: String::new(),
        poster: true,
    };
    let asked_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let id = engine.start_recording(req).await.unwrap();
    let opened = collect_until(&mut events, Duration::from_secs(10), |e| {
        e.iter()
            .any(|e| matches!(e, tally_media::EngineEvent::SegmentOpened { recording, .. } if *recording == id))
    })
    .await;
    let start_ms = opened
        .iter()
        .find_map(|e| match e {
            tally_media::EngineEvent::SegmentOpened { start_ms, .. } => Some(*start_ms),
            _ => None,
        })
        .unwrap();
    // It starts from the keyframe already received, not the next one.
    assert!(
        start_ms <= asked_at && asked_at - start_ms < 1_500,
        "asked at {asked_at}, the file starts at {start_ms}"
    );
    assert!(wait_child(publisher).await.success());
    let segs = engine.stop_recording(id).await.unwrap();
    assert_eq!(segs.len(), 1);
    assert!(first_video_frame_is_keyframe(&segs[0].path));
    assert_eq!(stream_types(&segs[0].path), vec!["video", "audio"]);
}
