//! Must-show 1: a real `ffmpeg -re` publisher for 30 s with record=flv,hls,mp4&record_interval=10.

mod common;

use std::time::Duration;

use common::*;
use tally_media::Format;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_second_publish_is_split_into_keyframe_aligned_gapless_segments_in_every_format() {
    let (engine, _dir) = engine(|_| {}).await;
    let mut events = engine.subscribe();
    let url = format!(
        "rtmp://{}/live/s30?record=flv,hls,mp4&record_interval=10&recordId=r1",
        engine.rtmp_addr()
    );
    let status = wait_child(ffmpeg_publish(&url, 31, Tracks::AudioVideo)).await;
    assert!(status.success());
    let all = collect_until(
        &mut events,
        Duration::from_secs(30),
        stream_ended_and_all_closed,
    )
    .await;
    let segs = closed(&all);

    for format in [Format::Flv, Format::Hls, Format::Mp4] {
        let mut of: Vec<_> = segs.iter().filter(|s| s.format == format).collect();
        of.sort_by_key(|s| s.start_ms);
        assert!(of.len() >= 3, "{format:?}: {} segments", of.len());
        for pair in of.windows(2) {
            assert_eq!(
                pair[0].end_ms, pair[1].start_ms,
                "{format:?} segments are gapless"
            );
            assert!(pair[0].duration_ms >= 10_000, "cut only after the interval");
        }
        let per: Vec<(u64, u64)> = of
            .iter()
            .map(|s| (video_frames(&s.path), s.duration_ms))
            .collect();
        let frames: u64 = per.iter().map(|p| p.0).sum();
        assert!(
            (929..=931).contains(&frames),
            "{format:?}: {frames} video frames for 31 s at 30 fps"
        );
        let event_ms: u64 = of.iter().map(|s| s.duration_ms).sum();
        assert!(
            event_ms.abs_diff(31_000) <= 34,
            "{format:?}: durations sum to {event_ms} ms"
        );
        for s in &of {
            assert_eq!(
                stream_types(&s.path).len(),
                2,
                "{} has audio and video",
                s.path.display()
            );
            assert!(
                first_video_frame_is_keyframe(&s.path),
                "{} starts with a keyframe",
                s.path.display()
            );
            assert_eq!(s.record_id.as_deref(), Some("r1"));
            assert!(s.size > 0 && s.path.metadata().is_ok());
        }
        let probed: f64 = of.iter().map(|s| duration_s(&s.path)).sum();
        assert!(
            (probed - 31.0).abs() < 0.1,
            "{format:?}: ffprobe durations sum to {probed}"
        );
    }
    for s in segs.iter().filter(|s| s.format == Format::Mp4) {
        let boxes = mp4_boxes(&s.path);
        let moov = boxes.iter().position(|b| b == "moov").unwrap();
        let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
        assert!(
            moov < mdat,
            "moov before mdat in {}: {boxes:?}",
            s.path.display()
        );
    }
    for s in segs.iter().filter(|s| s.format == Format::Hls) {
        let text = std::fs::read_to_string(&s.path).unwrap();
        assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
        assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME"));
    }
    let leftovers: Vec<_> = files(&engine.config().data_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no .part files after close: {leftovers:?}"
    );
}
