//! Publish admission beyond auth: duplicate publishers, and the free-space reserve.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tally_media::replay::{replay, SAMPLE_CLIP};
use tally_media::{EngineEvent, Formats, RecordRequest};

fn clip() -> Bytes {
    Bytes::from_static(SAMPLE_CLIP)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publisher_of_a_live_stream_is_refused() {
    let (engine, _dir) = engine(|_| {}).await;
    let url = format!("rtmp://{}/live/dup?record=flv", engine.rtmp_addr());
    let first = tokio::spawn({
        let url = url.clone();
        async move { replay(&url, clip(), Some(Duration::from_secs(4))).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = replay(&url, clip(), Some(Duration::from_secs(1))).await;
    assert!(second.is_err(), "the duplicate is refused");
    first
        .await
        .unwrap()
        .expect("the first publisher is not disturbed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_publisher_replaces_the_first_when_configured() {
    let (engine, _dir) = engine(|c| c.replace_duplicate_publisher = true).await;
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/dup?record=flv", engine.rtmp_addr());
    let first = tokio::spawn({
        let url = url.clone();
        async move { replay(&url, clip(), Some(Duration::from_secs(6))).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    replay(&url, clip(), Some(Duration::from_secs(2)))
        .await
        .expect("the newcomer takes over");
    assert!(
        first.await.unwrap().is_err(),
        "the first publisher was cut off"
    );
    let seen = collect_until(&mut events, Duration::from_secs(5), |e| {
        e.iter().any(
            |e| matches!(e, EngineEvent::StreamEnded { reason, .. } if reason.contains("replaced")),
        )
    })
    .await;
    assert!(!seen.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_recording_starts_below_the_free_space_reserve() {
    let (engine, _dir) = engine(|c| c.free_space_reserve = u64::MAX).await;
    let mut events = engine.subscribe();
    let req = RecordRequest {
        app: "live".into(),
        stream_code: "full".into(),
        formats: Formats::MP4,
        interval: Duration::from_secs(5400),
        audio_only: false,
        label: String::new(),
        poster: true,
    };
    assert_eq!(engine.start_recording(req).await.unwrap_err().code(), 2);

    let url = format!("rtmp://{}/live/full?record=flv,mp4", engine.rtmp_addr());
    replay(&url, clip(), Some(Duration::from_secs(2)))
        .await
        .unwrap();
    let seen = collect_until(&mut events, Duration::from_secs(5), |e| {
        e.iter()
            .any(|e| matches!(e, EngineEvent::RecorderError { code: 2, .. }))
    })
    .await;
    assert!(closed(&seen).is_empty());
    let media: Vec<_> = files(&engine.config().data_dir)
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "flv" || e == "mp4" || e == "part")
        })
        .collect();
    assert!(
        media.is_empty(),
        "no media file below the reserve: {media:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_starts_waiting_for_streams_that_never_come_are_capped() {
    let (engine, _dir) = engine(|c| c.max_manual_recordings = 3).await;
    let request = |code: &str| RecordRequest {
        app: "live".into(),
        stream_code: code.into(),
        formats: Formats::MP4,
        interval: Duration::from_secs(60),
        audio_only: false,
        label: String::new(),
        poster: true,
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            engine
                .start_recording(request(&format!("never{i}")))
                .await
                .unwrap(),
        );
    }
    let err = engine.start_recording(request("never3")).await.unwrap_err();
    assert_eq!(err.code(), 30_000_207, "{err}");
    // Stopping one frees its place.
    engine.stop_recording(ids[0]).await.unwrap();
    engine.start_recording(request("never3")).await.unwrap();
}
