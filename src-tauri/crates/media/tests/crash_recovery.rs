//! Must-show 3: `kill -9` of the server mid-recording, then restart: every `.part` becomes a
//! playable file holding all but about a second of what was published; a second restart
//! changes nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Starts `tally-media serve`; returns the child, its RTMP address and the recovered segments.
// The caller owns and waits for the child; a panic here fails the test anyway.
#[allow(clippy::zombie_processes)]
fn serve(data: &Path) -> (Child, String, Vec<serde_json::Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally-media"))
        .args([
            "serve",
            "--rtmp",
            "127.0.0.1:0",
            "--reserve-mb",
            "1",
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut recovered = Vec::new();
    loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(r) = v.get("recovered") {
            recovered.push(r.clone());
        } else if let Some(a) = v["rtmp"].as_str() {
            return (child, a.to_string(), recovered);
        }
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn listing(data: &Path) -> Vec<(std::path::PathBuf, u64)> {
    files(data)
        .into_iter()
        .map(|p| {
            let len = p.metadata().unwrap().len();
            (p, len)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_recording_then_restart_finalizes_every_part_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, addr, recovered) = serve(&data);
    assert!(recovered.is_empty());
    let url = format!("rtmp://{addr}/live/crash?record=flv,hls,mp4&record_interval=60");
    let mut publisher = ffmpeg_publish(&url, 60, Tracks::AudioVideo);
    // Wait until the MP4 fragment file has grown for a while, then pull the plug.
    let began = Instant::now();
    let part_seen = loop {
        let parts: Vec<_> = files(&data)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".mp4.part"))
            .collect();
        if !parts.is_empty() || began.elapsed() > Duration::from_secs(20) {
            break parts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        part_seen.len(),
        1,
        "the MP4 is written as a fragmented .part"
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    server.kill().unwrap(); // SIGKILL
    let killed_at = unix_ms();
    server.wait().unwrap();
    let _ = publisher.kill();
    let _ = publisher.wait();
    assert!(
        files(&data)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".part")),
        "the crash left .part files"
    );

    let (mut server, _, recovered) = serve(&data);
    assert_eq!(
        recovered.len(),
        3,
        "one recovered segment per format: {recovered:#?}"
    );
    for r in &recovered {
        let path = Path::new(r["path"].as_str().unwrap());
        assert_eq!(r["recovered"], true);
        let published_ms = killed_at - r["start_ms"].as_i64().unwrap();
        let kept_ms = (duration_s(path) * 1000.0) as i64;
        assert!(
            published_ms - kept_ms <= 1_500,
            "{}: kept {kept_ms} ms of {published_ms} ms",
            path.display()
        );
        assert!(first_video_frame_is_keyframe(path));
        assert_eq!(stream_types(path).len(), 2);
        if r["format"] == "mp4" {
            let boxes = mp4_boxes(path);
            assert!(
                boxes.iter().position(|b| b == "moov") < boxes.iter().position(|b| b == "mdat"),
                "{boxes:?}"
            );
        }
        if r["format"] == "hls" {
            assert!(std::fs::read_to_string(path)
                .unwrap()
                .trim_end()
                .ends_with("#EXT-X-ENDLIST"));
        }
    }
    assert!(
        !files(&data)
            .iter()
            .any(|p| p.to_string_lossy().contains(".part")),
        "no .part left"
    );
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    server.wait().unwrap();

    let before = listing(&data);
    let (mut server, _, recovered) = serve(&data);
    assert!(recovered.is_empty(), "a second restart recovers nothing");
    assert_eq!(listing(&data), before, "and changes no file");
    server.kill().unwrap();
    server.wait().unwrap();
}
