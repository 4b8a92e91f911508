//! Shared helpers for the engine's integration tests: real ffmpeg publishers, ffprobe checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tally_media::{Engine, EngineConfig, EngineEvent, SegmentClosed};
use tokio::sync::broadcast;

/// What the test publisher sends.
#[derive(Clone, Copy, PartialEq)]
pub enum Tracks {
    AudioVideo,
    AudioOnly,
    VideoOnly,
}

/// Starts an engine on an ephemeral port in a fresh temp dir.
pub async fn engine(tweak: impl FnOnce(&mut EngineConfig)) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EngineConfig::new(dir.path().join("data"));
    cfg.rtmp_addr = "127.0.0.1:0".parse().unwrap();
    cfg.free_space_reserve = 1024 * 1024;
    tweak(&mut cfg);
    (Engine::start(cfg).await.unwrap(), dir)
}

/// `ffmpeg -re` publishing testsrc2 + sine (libx264 with B-frames, AAC) for `secs` seconds.
pub fn ffmpeg_publish(url: &str, secs: u32, tracks: Tracks) -> Child {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"]);
    if tracks != Tracks::AudioOnly {
        c.args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"]);
    }
    if tracks != Tracks::VideoOnly {
        c.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
    }
    c.args(["-t", &secs.to_string()]);
    if tracks != Tracks::AudioOnly {
        c.args([
            "-c:v",
            "libx264",
            "-preset",
            "superfast",
            "-tune",
            "zerolatency",
            "-bf",
            "2",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
        ]);
        // zerolatency turns B-frames off; put them back (the point is to have them).
        c.args(["-x264-params", "bframes=2:b-adapt=0"]);
    }
    if tracks != Tracks::VideoOnly {
        c.args(["-c:a", "aac", "-b:a", "64k"]);
    }
    c.args(["-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c.spawn().expect("ffmpeg must be installed")
}

/// Waits for a child without blocking the runtime.
pub async fn wait_child(mut child: Child) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

/// Collects events until `done` says so, or panics after `limit`.
pub async fn collect_until(
    rx: &mut broadcast::Receiver<EngineEvent>,
    limit: Duration,
    mut done: impl FnMut(&[EngineEvent]) -> bool,
) -> Vec<EngineEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => seen.push(e),
            Ok(Err(broadcast::error::RecvError::Lagged(n))) => panic!("lagged {n} events"),
            Ok(Err(e)) => panic!("event channel: {e}"),
            Err(_) => panic!("timed out; events so far: {seen:#?}"),
        }
    }
    seen
}

/// The closed segments among `events`.
pub fn closed(events: &[EngineEvent]) -> Vec<SegmentClosed> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::SegmentClosed(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// ffprobe's JSON for a file (streams + format); panics if ffprobe cannot open it.
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Codec types of the streams in a file ("video", "audio").
pub fn stream_types(path: &Path) -> Vec<String> {
    let v = ffprobe(path);
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap().to_string())
        .collect()
}

/// Duration of the video stream (or the format when there is none), seconds.
pub fn duration_s(path: &Path) -> f64 {
    let v = ffprobe(path);
    v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0)
}

/// Number of video frames, counted by decoding packets.
pub fn video_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    // HLS prints the stream twice (program and stream sections): take the first line.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

/// True when the first video frame of the file is a keyframe.
pub fn first_video_frame_is_keyframe(path: &Path) -> bool {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-read_intervals",
            "%+#1",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .is_some_and(|l| l.starts_with('K'))
}

/// Top-level MP4 box types in order.
pub fn mp4_boxes(path: &Path) -> Vec<String> {
    let d = std::fs::read(path).unwrap();
    let mut i = 0usize;
    let mut out = Vec::new();
    while i + 8 <= d.len() {
        let mut size = u32::from_be_bytes(d[i..i + 4].try_into().unwrap()) as usize;
        if size == 1 {
            size = u64::from_be_bytes(d[i + 8..i + 16].try_into().unwrap()) as usize;
        }
        out.push(String::from_utf8_lossy(&d[i + 4..i + 8]).into_owned());
        if size == 0 {
            break;
        }
        i += size;
    }
    out
}

/// Every file under `dir`, recursively, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    tally_testkit::walk(dir)
}

/// True once the stream ended and every opened segment has been closed.
pub fn stream_ended_and_all_closed(events: &[EngineEvent]) -> bool {
    let opened = events
        .iter()
        .filter(|e| matches!(e, EngineEvent::SegmentOpened { .. }))
        .count();
    let ended = events
        .iter()
        .any(|e| matches!(e, EngineEvent::StreamEnded { .. }));
    ended && opened > 0 && opened == closed(events).len()
}
