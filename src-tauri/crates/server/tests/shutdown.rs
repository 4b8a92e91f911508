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
    // Several streams, so that shutdown closes many files at once and the last ones are
    // indexed only if shutdown waits for them.
    let codes = [
        "8888_5f0c1d2e3a4b5c6d7e8f901234567890",
        "8888_6f0c1d2e3a4b5c6d7e8f901234567891",
        "8888_7f0c1d2e3a4b5c6d7e8f901234567892",
    ];
    let mut publishers: Vec<_> = codes
        .iter()
        .map(|code| {
            let push = format!("{}/live/{code}?record=flv,mp4&recordId=r1", server.rtmp);
            spawn_publisher(&push, 20)
        })
        .collect();

    // Wait until every file is open and has media in it.
    let mut open = Vec::new();
    for _ in 0..150 {
        open = files_under(&vod)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".part"))
            .collect();
        if open.len() == 2 * codes.len()
            && open.iter().all(|p| p.metadata().unwrap().len() > 10_000)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        open.len(),
        2 * codes.len(),
        "open files: {:?}",
        files_under(&vod)
    );

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status}");
    for p in &mut publishers {
        let _ = p.kill();
        let _ = p.wait();
    }
    let left: Vec<_> = files_under(&vod)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "unfinished files left: {left:?}");

    // Restarted on the same data, the service lists every file from its index.
    let server = start_server(data.path(), &[]);
    let page: Value = reqwest::get(format!("{}/v1/recordings", server.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recordings = page["recordings"].as_array().unwrap();
    for code in codes {
        let mut formats: Vec<&str> = recordings
            .iter()
            .filter(|r| r["stream_code"] == code)
            .map(|r| r["format"].as_str().unwrap())
            .collect();
        formats.sort();
        assert_eq!(formats, ["flv", "mp4"], "{code}: {page}");
    }
    for r in recordings {
        assert_eq!(
            r["recovered"], false,
            "indexed at shutdown, not recovered: {r}"
        );
        if r["format"] == "mp4" {
            let rel = common::vod_path(r["url"].as_str().unwrap());
            let probe = Command::new("ffprobe")
                .args(["-v", "error", "-show_entries", "format=duration"])
                .arg(vod.join(rel))
                .output()
                .expect("ffprobe is installed");
            assert!(probe.status.success(), "ffprobe rejects {rel}");
        }
    }
}
