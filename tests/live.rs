//! The live view in the real app: join the demo room (its member publishes the bundled clip),
//! see the stream live, click Record, watch the segment grow, Stop, see the file IDs, and find
//! the MP4 on disk.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{mp4s_under, Desktop, Launch};

/// The live segment's size as shown ("12.3 KB"), in bytes.
async fn segment_bytes(desktop: &Desktop) -> f64 {
    let shown = desktop
        .wait_for_text("[data-testid=segment-live] [data-testid=segment-size]")
        .await;
    let (value, unit) = shown.split_once(' ').expect("a value and a unit");
    let scale = match unit {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other:?}"),
    };
    value.parse::<f64>().expect("a number") * scale
}

#[tokio::test(flavor = "multi_thread")]
async fn record_in_the_demo_room_and_find_the_file() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.wait_for_text("[data-testid=live-join]").await;
    // The demo room's ids are prefilled.
    desktop.click("[data-testid=live-join]").await;
    desktop.wait_for_text("[data-testid=push-camera]").await;
    // Beside the RTMP URL, the embedded server's SRT URL with the stream id encoded.
    let srt = desktop
        .wait_for_text("[data-testid=push-srt-camera] code")
        .await;
    assert!(
        srt.starts_with("srt://127.0.0.1:") && srt.contains("?streamid=live/8888_"),
        "the SRT push URL shows: {srt}"
    );

    let stream = desktop
        .wait_for_text("[data-testid=stream-state] .tag.on")
        .await;
    assert_eq!(stream, "Live");

    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    let first = segment_bytes(&desktop).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = segment_bytes(&desktop).await;
    assert!(
        later > first,
        "the live segment grows: {first} → {later} bytes"
    );
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
    let closed = desktop
        .wait_for_text("[data-testid=closed-files] .file-id")
        .await;
    assert_eq!(closed, ids, "the closed segment is listed with its file id");
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
