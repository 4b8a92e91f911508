//! Publishers that misbehave do not keep a stream code from its real owner: a half-open
//! publisher (its app froze or its network vanished without a FIN) is dropped once it has sent
//! nothing for the idle timeout, and the same stream code can be published again.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{ffprobe_plays, publish, spawn_publisher, start_server};

#[tokio::test(flavor = "multi_thread")]
async fn a_half_open_publisher_is_dropped_within_the_idle_timeout_and_the_code_publishes_again() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--idle-timeout", "2"]);
    let push = format!("{}/live/8888_halfopen?record=flv", server.rtmp);
    let mut frozen = spawn_publisher(&push, 60);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Frozen: the TCP connection stays open and answers keepalives, but no byte comes.
    let pid = frozen.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(3500)).await;

    // The real publisher comes back on the same stream code and is recorded.
    let again = push.clone();
    tokio::task::spawn_blocking(move || publish(&again, 3))
        .await
        .unwrap();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let _ = frozen.kill();
    let _ = frozen.wait();
    let rows = server.wait_recordings(2).await;
    assert_eq!(
        rows.len(),
        2,
        "the frozen publish and the new one: {rows:#?}"
    );
    let newest = rows
        .iter()
        .max_by_key(|r| r["start_ms"].as_i64().unwrap())
        .unwrap();
    assert!(newest["duration_ms"].as_i64().unwrap() >= 2_500, "{newest}");
    let file = data
        .path()
        .join("vod")
        .join(common::vod_path(newest["url"].as_str().unwrap()));
    assert!(ffprobe_plays(&file));
}
