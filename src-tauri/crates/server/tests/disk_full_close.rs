//! A full disk while an MP4 closes loses nothing: the file that cannot be finalized keeps its
//! `.part` and sidecar (never renamed unrecoverable), and once space returns it is finalized,
//! indexed and called back without a restart. Needs root to mount a small tmpfs, so it is
//! ignored by plain `cargo test`; `scripts/test.sh` runs it wherever it can mount one.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    callback_receiver, ffprobe_plays, files_by_id, finished_files, spawn_publisher, start_server,
};

struct Tmpfs(std::path::PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the disk is full.
fn fill(path: &std::path::Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![7u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root to mount a 24 MiB tmpfs"]
async fn an_mp4_whose_close_hits_a_full_disk_is_finalized_indexed_and_called_back_once_space_returns(
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs (root needed)");
    let _mount = Tmpfs(data.clone());
    let (cb, received) = callback_receiver().await;
    let server = start_server(
        &data,
        &[
            "--reserve-mb",
            "0",
            "--callback-url",
            &cb,
            "--callback-key",
            "k",
        ],
    );
    let push = format!("{}/live/8888_full?record=mp4&recordId=full", server.rtmp);
    let mut publisher = spawn_publisher(&push, 9);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The disk fills up mid-recording: the open MP4 closes, and its finalize has no room.
    let ballast = data.join("ballast");
    fill(&ballast);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = tally_testkit::walk(&data.join("vod"));
    let names: Vec<String> = all
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("unrecoverable")),
        "{names:#?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".mp4.part")),
        "kept as .part: {names:#?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".mp4.part.json")),
        "with its sidecar: {names:#?}"
    );
    assert!(
        server.recordings().await.is_empty(),
        "not indexed before it is finalized"
    );

    // Space returns: the kept file is finalized, indexed and called back, no restart.
    std::fs::remove_file(&ballast).unwrap();
    tokio::task::spawn_blocking(move || publisher.wait().unwrap())
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = server.recordings().await;
        let files = finished_files(&data);
        let called = files_by_id(&received);
        let kept = tally_testkit::walk(&data.join("vod"))
            .iter()
            .any(|p| p.to_string_lossy().contains(".part"));
        let done = !kept
            && !files.is_empty()
            && rows.len() == files.len()
            && rows
                .iter()
                .all(|r| called.contains_key(r["file_id"].as_str().unwrap()));
        if done {
            break;
        }
        assert!(Instant::now() < until, "files {files:?}, rows {rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = server.recordings().await;
    let first = rows
        .iter()
        .min_by_key(|r| r["start_ms"].as_i64().unwrap())
        .unwrap();
    assert!(
        first["duration_ms"].as_i64().unwrap() >= 2_000,
        "the kept file holds what was recorded before the disk filled: {first}"
    );
    for file in finished_files(&data) {
        assert!(ffprobe_plays(&data.join(&file)), "{file}");
    }
    let leftovers: Vec<_> = tally_testkit::walk(&data.join("vod"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
