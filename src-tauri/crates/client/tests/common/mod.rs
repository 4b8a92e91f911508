//! A real `tally-server` process and an ffmpeg publisher for the client's tests.
#![allow(dead_code)] // each test binary uses part of this

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `tally-server` binary of this workspace. A workspace test run builds it; a run of this
/// crate alone builds it when it is missing.
pub fn server_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target"));
    let bin = target.join("debug/tally-server");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "tally-server"])
            .status()
            .unwrap();
        assert!(status.success(), "building tally-server failed");
    }
    bin
}

/// A running server, killed on drop.
pub struct Server {
    child: Child,
    /// `http://host:port`
    pub http: String,
    /// `rtmp://host:port`
    pub rtmp: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tally-server serve` on `data` with loopback addresses (`127.0.0.1:0` picks ports).
pub fn start_server(data: &Path, http: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(server_bin())
        .args(["serve", "--http", http, "--rtmp", "127.0.0.1:0"])
        .args(["--bizid", "8888"])
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addrs: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    Server {
        http: format!("http://{}", addrs["http"].as_str().unwrap()),
        rtmp: format!("rtmp://{}", addrs["rtmp"].as_str().unwrap()),
        child,
    }
}

/// ffmpeg publishing test video and audio to `url` for `seconds`.
pub fn publisher(url: &str, seconds: u32) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=320x240:rate=25:duration={seconds}"),
        ])
        .args(["-f", "lavfi", "-i", &format!("sine=duration={seconds}")])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-c:a", "aac", "-f", "flv", url])
        .stdin(Stdio::null());
    cmd
}
