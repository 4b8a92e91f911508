//! A real `tally-server` process and an ffmpeg publisher for the client's tests: the test kit,
//! bound to this workspace's server binary.
#![allow(dead_code)] // each test binary uses part of this

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use tally_testkit::ServerProcess as Server;

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

/// Starts `tally-server serve` on `data` with the API on `http` (`127.0.0.1:0` picks a port).
pub fn start_server(data: &Path, http: &str, extra: &[&str]) -> Server {
    tally_testkit::server::start_command(tally_testkit::server::serve_command_on(
        &server_bin(),
        data,
        http,
        extra,
    ))
}

/// ffmpeg publishing test video and audio to `url` for `seconds`.
pub fn publisher(url: &str, seconds: u32) -> Command {
    let mut cmd = tally_testkit::ffmpeg_publish(url, seconds);
    cmd.stdin(Stdio::null());
    cmd
}
