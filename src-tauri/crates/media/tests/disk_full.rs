//! ENOSPC mid-file: the segment is closed cleanly with what was written, the error is reported
//! with code 2, and recording resumes in a new segment once space returns. Needs root (it mounts
//! a small tmpfs), so it is ignored by plain `cargo test`; `scripts/test.sh` runs it wherever
//! it can mount one (`cargo nextest run -p tally-media --run-ignored all disk_full`).

mod common;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use tally_media::replay::{replay, SAMPLE_CLIP};
use tally_media::{Engine, EngineConfig, EngineEvent, Format};

struct Tmpfs(std::path::PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root to mount a 2 MiB tmpfs"]
async fn disk_full_closes_the_segment_cleanly_and_recording_resumes_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs (root needed)");
    let _mount = Tmpfs(data.clone());
    let ballast = data.join("ballast");
    std::fs::write(&ballast, vec![1u8; 700 * 1024]).unwrap();

    let mut cfg = EngineConfig::new(&data);
    cfg.rtmp_addr = "127.0.0.1:0".parse().unwrap();
    cfg.free_space_reserve = 0;
    let engine = Engine::start(cfg).await.unwrap();
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/full?record=flv", engine.rtmp_addr());
    let publisher = tokio::spawn(async move {
        replay(
            &url,
            Bytes::from_static(SAMPLE_CLIP),
            Some(Duration::from_secs(40)),
        )
        .await
    });

    let seen = collect_until(&mut events, Duration::from_secs(40), |e| {
        e.iter()
            .any(|e| matches!(e, EngineEvent::RecorderError { code: 2, .. }))
            && !closed(e).is_empty()
    })
    .await;
    let first = closed(&seen);
    assert_eq!(first.len(), 1, "the full segment was closed: {seen:#?}");
    assert_eq!(first[0].format, Format::Flv);
    assert!(
        duration_s(&first[0].path) > 5.0,
        "what was written is playable"
    );

    std::fs::remove_file(&ballast).unwrap(); // space returns
    let more = collect_until(&mut events, Duration::from_secs(20), |e| {
        e.iter()
            .any(|e| matches!(e, EngineEvent::SegmentOpened { .. }))
    })
    .await;
    assert!(!more.is_empty());
    publisher.abort();
    engine.shutdown().await;
}
