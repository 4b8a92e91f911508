//! The live view in the real app: join the demo room (its member publishes the bundled clip),
//! click Record, Stop, see the file IDs, and find the MP4 on disk.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{Desktop, Launch};

fn mp4s_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(mp4s_under(&path));
            } else if path.extension().is_some_and(|e| e == "mp4") {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn record_in_the_demo_room_and_find_the_file() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.wait_for_text("[data-testid=live-join]").await;
    // The demo room's ids are prefilled.
    desktop.click("[data-testid=live-join]").await;
    desktop.wait_for_text("[data-testid=push-camera]").await;

    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let elapsed = desktop.wait_for_text("[data-testid=elapsed]").await;
    assert!(
        elapsed.starts_with("00:00:0"),
        "elapsed time shows: {elapsed}"
    );
    desktop.screenshot("live-recording");

    desktop.click("[data-testid=stop-button]").await;
    let ids = desktop
        .wait_for_text("[data-testid=file-ids] .file-id")
        .await;
    assert!(
        !ids.is_empty() && ids.bytes().all(|b| b.is_ascii_digit()),
        "file id: {ids:?}"
    );
    desktop.screenshot("live-stopped");

    let files = mp4s_under(&desktop.data_dir().join("server/vod"));
    assert_eq!(files.len(), 1, "one MP4 recorded: {files:?}");
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&files[0])
        .output()
        .expect("ffprobe");
    assert!(probe.status.success());
    let seconds: f64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(seconds > 2.0, "recorded {seconds} s");
    desktop.close().await;
}
