//! SIGTERM while recording: the service finalizes the open files, indexes them before it
//! exits, and exits with 0; after a restart they are listed and play.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{spawn_publisher, start_server};
use serde_json::Value;

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_recording_indexes_the_open_files_before_exiting() {
    let data = tempfile::tempdir().unwrap();
    let vod = data.path().join("vod");
    let mut server = start_server(data.path(), &[]);
    let code = "8888_5f0c1d2e3a4b5c6d7e8f901234567890";
    let push = format!("{}/live/{code}?record=flv,mp4&recordId=r1", server.rtmp);
    let mut publisher = spawn_publisher(&push, 20);

    // Wait until both files are open and have media in them.
    let mut open = Vec::new();
    for _ in 0..150 {
        open = files_under(&vod)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".part"))
            .collect();
        if open.len() == 2 && open.iter().all(|p| p.metadata().unwrap().len() > 10_000) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open.len(), 2, "open files: {:?}", files_under(&vod));

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status}");
    let _ = publisher.kill();
    let _ = publisher.wait();
    let left: Vec<_> = files_under(&vod)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "unfinished files left: {left:?}");

    // Restarted on the same data, the service lists both files from its index.
    let server = start_server(data.path(), &[]);
    let page: Value = reqwest::get(format!("{}/v1/recordings", server.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recordings = page["recordings"].as_array().unwrap();
    let mut formats: Vec<&str> = recordings
        .iter()
        .map(|r| r["format"].as_str().unwrap())
        .collect();
    formats.sort();
    assert_eq!(formats, ["flv", "mp4"], "{page}");
    for r in recordings {
        assert_eq!(r["stream_code"], code);
        assert_eq!(
            r["recovered"], false,
            "indexed at shutdown, not recovered: {r}"
        );
    }

    let mp4 = recordings.iter().find(|r| r["format"] == "mp4").unwrap();
    let rel = mp4["url"].as_str().unwrap().split_once("/vod/").unwrap().1;
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(vod.join(rel))
        .output()
        .expect("ffprobe is installed");
    assert!(probe.status.success(), "ffprobe rejects the MP4");
}
