//! One crash run: a server that kills itself (SIGKILL) at a chosen point of a file's life
//! while a publisher records, then a clean restart on the same data dir, then the promise
//! checked — every finished file on disk has exactly one row, its callback delivered (the
//! receiver deduplicates by `file_id`), and it plays in ffprobe.

#![allow(dead_code)] // the suite and the soak read different fields

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tally_testkit::receiver::files_by_id;
use tally_testkit::server::{serve_command, start_command};
use tally_testkit::{callback_receiver, ffprobe_plays, finished_files, spawn_publisher};

/// What one run saw.
#[derive(Debug)]
pub struct CrashRun {
    /// `point@n` as set in `TALLY_CRASH_AT`.
    pub crash_at: String,
    /// The server died at the point (false: the point was never reached; it was stopped).
    pub crashed: bool,
    /// Finished files on disk after the restart.
    pub files: usize,
    /// Broken promises; empty when all is well.
    pub problems: Vec<String>,
}

/// Runs one crash at `point`, its `nth` visit, recording `formats` (e.g. `flv,mp4,hls`).
pub async fn crash_run(bin: &Path, point: &str, nth: u32, formats: &str, seconds: u32) -> CrashRun {
    let data = tempfile::tempdir().unwrap();
    let (cb_url, received) = callback_receiver().await;
    let args = ["--callback-url", cb_url.as_str(), "--callback-key", "k"];
    let crash_at = format!("{point}@{nth}");
    let mut cmd = serve_command(bin, data.path(), &args);
    cmd.env("TALLY_CRASH_AT", &crash_at);
    let mut server = start_command(cmd);
    let push = format!(
        "{}/live/8888_crash?record={formats}&recordId=c1",
        server.rtmp
    );
    let mut publisher = spawn_publisher(&push, seconds);
    let crashed = tokio::task::spawn_blocking(move || {
        let died = server.wait_exit(Duration::from_secs(u64::from(seconds) + 10));
        if died.is_none() {
            server.terminate();
        }
        died.is_some()
    })
    .await
    .unwrap();
    let _ = publisher.kill();
    let _ = publisher.wait();

    let server = start_command(serve_command(bin, data.path(), &args));
    let mut problems = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    let (files, rows) = loop {
        let files = finished_files(data.path());
        let rows = server.recordings().await;
        let delivered = files_by_id(&received);
        let settled = rows.len() >= files.len()
            && rows.iter().all(|r| {
                r["callback_state"] == "delivered"
                    && delivered.contains_key(r["file_id"].as_str().unwrap_or_default())
            });
        if settled || Instant::now() > until {
            break (files, rows);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let delivered = files_by_id(&received);
    for file in &files {
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|r| {
                let url = r["url"].as_str().unwrap_or_default();
                format!("vod/{}", tally_testkit::vod_path(url)) == *file
            })
            .collect();
        if mine.len() != 1 {
            problems.push(format!("{file}: {} rows", mine.len()));
            continue;
        }
        let id = mine[0]["file_id"].as_str().unwrap_or_default();
        if !delivered.contains_key(id) {
            problems.push(format!("{file}: no callback for file_id {id}"));
        }
        if !ffprobe_plays(&data.path().join(file)) {
            problems.push(format!("{file}: does not play"));
        }
    }
    if rows.len() != files.len() {
        problems.push(format!("{} rows for {} files", rows.len(), files.len()));
    }
    let leftovers: Vec<String> = tally_testkit::walk(&data.path().join("vod"))
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| {
            p.ends_with(".part") || p.ends_with(".part.json") || p.contains("unrecoverable")
        })
        .collect();
    if !leftovers.is_empty() {
        problems.push(format!("left over after the restart: {leftovers:?}"));
    }
    CrashRun {
        crash_at,
        crashed,
        files: files.len(),
        problems,
    }
}
