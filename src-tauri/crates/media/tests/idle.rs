//! Must-show 4 with a real publisher: a frozen (SIGSTOP) ffmpeg makes the recording close after
//! the (shortened) idle timeout with its files intact.

mod common;

use std::time::Duration;

use common::*;
use tally_media::{EndReason, EngineEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_publisher_is_closed_after_the_idle_timeout_with_files_intact() {
    let (engine, _dir) = engine(|c| c.idle_timeout = Duration::from_secs(2)).await;
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/frozen?record=flv,mp4", engine.rtmp_addr());
    let child = ffmpeg_publish(&url, 60, Tracks::AudioVideo);
    let pid = child.id() as i32;
    collect_until(&mut events, Duration::from_secs(10), |e| {
        e.iter()
            .filter(|e| matches!(e, EngineEvent::SegmentProgress { .. }))
            .count()
            >= 6
    })
    .await;
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let all = collect_until(&mut events, Duration::from_secs(15), |e| {
        e.iter()
            .any(|e| matches!(e, EngineEvent::RecordingEnded { .. }))
    })
    .await;
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = wait_child(child).await;
    let ended = all.iter().find_map(|e| match e {
        EngineEvent::RecordingEnded { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(ended, Some(EndReason::IdleTimeout));
    let segs = closed(&all);
    assert_eq!(segs.len(), 2);
    for s in &segs {
        assert!(
            s.duration_ms >= 2_000,
            "kept what was recorded: {} ms",
            s.duration_ms
        );
        assert_eq!(stream_types(&s.path).len(), 2);
        assert!(duration_s(&s.path) >= 2.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_within_the_window_continues_the_recording_in_a_new_segment() {
    use bytes::Bytes;
    use tally_media::replay::{replay, SAMPLE_CLIP};

    let (engine, _dir) = engine(|c| c.idle_timeout = Duration::from_secs(3)).await;
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/again?record=mp4", engine.rtmp_addr());
    replay(
        &url,
        Bytes::from_static(SAMPLE_CLIP),
        Some(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    replay(
        &url,
        Bytes::from_static(SAMPLE_CLIP),
        Some(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let all = collect_until(&mut events, Duration::from_secs(15), |e| {
        e.iter()
            .any(|e| matches!(e, EngineEvent::RecordingEnded { .. }))
    })
    .await;
    let segs = closed(&all);
    assert_eq!(segs.len(), 2, "one segment per connection");
    assert_eq!(
        segs[0].recording, segs[1].recording,
        "one recording session"
    );
    assert!(
        segs[1].start_ms >= segs[0].end_ms,
        "the second segment follows the first"
    );
    for s in &segs {
        assert!(first_video_frame_is_keyframe(&s.path));
        assert!((duration_s(&s.path) - 2.0).abs() < 0.2);
    }
    let ended = all
        .iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::RecordingEnded {
                    reason: EndReason::IdleTimeout,
                    ..
                }
            )
        })
        .count();
    assert_eq!(ended, 1);
}
