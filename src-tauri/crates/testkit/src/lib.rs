//! Tally's test kit, shared by the media, server, client and desktop tests (dev-only): spawn
//! `tally-server` and read its address line, publish with ffmpeg, receive callbacks, probe files.

pub mod files;
pub mod modern_ffmpeg;
pub mod postgres;
pub mod publisher;
pub mod receiver;
pub mod s3;
pub mod server;

pub use files::{
    ffprobe_duration, ffprobe_plays, ffprobe_video, finished_files, md5_hex, recorded_files,
    vod_path, walk,
};
pub use publisher::{ffmpeg_publish, ffmpeg_publish_as, publish, spawn_publisher};
pub use receiver::{callback_receiver, Received};
pub use server::{start_server, ServerProcess};
