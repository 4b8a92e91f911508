//! Shared by the service's end-to-end tests: the test kit, bound to this crate's binary.
#![allow(dead_code, unused_imports)] // each test binary uses part of this

use std::path::Path;

pub use tally_testkit::receiver::files_by_id;
pub use tally_testkit::server::{serve_command, start_command};
pub use tally_testkit::{
    callback_receiver, ffprobe_plays, finished_files, md5_hex, publish, spawn_publisher, vod_path,
    ServerProcess,
};

/// The camera push URL of a member as `POST /v1/rooms/{room}/members` answers it.
pub fn camera_url(member: &serde_json::Value) -> String {
    member["push"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == "camera")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `tally-server` binary built with these tests.
pub fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tally-server"))
}

/// Starts this crate's `tally-server` on `data` with port 0 and the test ids.
pub fn start_server(data: &Path, extra: &[&str]) -> ServerProcess {
    tally_testkit::start_server(server_bin(), data, extra)
}
