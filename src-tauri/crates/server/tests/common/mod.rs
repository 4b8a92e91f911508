//! Shared by the service's end-to-end tests: the test kit, bound to this crate's binary.
#![allow(dead_code, unused_imports)] // each test binary uses part of this

use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};
use tally_media::flv::{parse_header, parse_tag};
use tally_media::replay::SAMPLE_CLIP;

pub use tally_testkit::receiver::{files_by_id, wait_files};
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

/// The bundled clip's video tags: its decoder configuration, a keyframe and inter frames.
pub struct ClipVideo {
    pub config: Bytes,
    pub keyframe: Bytes,
    pub inter: Vec<Bytes>,
}

pub fn clip_video() -> ClipVideo {
    let clip = Bytes::from_static(SAMPLE_CLIP);
    let mut pos = parse_header(&clip).unwrap();
    let (mut config, mut keyframe, mut inter) = (None, None, Vec::new());
    while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
        if tag.tag_type == 9 && tag.body.len() > 5 {
            let body = clip.slice_ref(tag.body);
            match (tag.body[0] >> 4, tag.body[1]) {
                (_, 0) => config = config.or(Some(body)),
                (1, 1) => keyframe = keyframe.or(Some(body)),
                (2, 1) => inter.push(body),
                _ => {}
            }
        }
        pos += n;
    }
    ClipVideo {
        config: config.unwrap(),
        keyframe: keyframe.unwrap(),
        inter,
    }
}

/// The clip's keyframe grown to the largest message RTMP can carry (2^24 - 1 bytes) with a
/// filler NAL unit (type 12), which decoders skip.
pub fn largest_keyframe(video: &ClipVideo) -> Bytes {
    const MAX_MESSAGE: usize = (1 << 24) - 1;
    let mut huge = BytesMut::with_capacity(MAX_MESSAGE);
    huge.put_slice(&video.keyframe);
    let filler = MAX_MESSAGE - huge.len() - 4;
    huge.put_u32(filler as u32);
    huge.put_u8(0x0c);
    huge.put_bytes(0xff, filler - 2);
    huge.put_u8(0x80);
    huge.freeze()
}

/// The `tally-server` binary built with these tests.
pub fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tally-server"))
}

/// Starts this crate's `tally-server` on `data` with port 0 and the test ids.
pub fn start_server(data: &Path, extra: &[&str]) -> ServerProcess {
    tally_testkit::start_server(server_bin(), data, extra)
}
