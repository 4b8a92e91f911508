//! ffmpeg publishers of a synthetic test picture and tone (H.264 + AAC over RTMP).

use std::process::{Child, Command, Stdio};

/// The ffmpeg command publishing `seconds` of 320x240 25 fps video and a tone to `url` in
/// real time, a keyframe every 2 s.
pub fn ffmpeg_publish(url: &str, seconds: u32) -> Command {
    ffmpeg_publish_as(url, seconds, "flv")
}

/// [`ffmpeg_publish`] with another muxer (`mpegts` for SRT).
pub fn ffmpeg_publish_as(url: &str, seconds: u32, muxer: &str) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=25:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50"])
        .args(["-c:a", "aac", "-f", muxer, url]);
    cmd
}

/// A publisher in the background.
pub fn spawn_publisher(url: &str, seconds: u32) -> Child {
    ffmpeg_publish(url, seconds)
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg is installed (scripts/setup.sh)")
}

/// Publishes and waits for ffmpeg to finish; panics if it fails.
pub fn publish(url: &str, seconds: u32) {
    let status = ffmpeg_publish(url, seconds)
        .stdin(Stdio::null())
        .status()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success(), "ffmpeg publish to {url} failed");
}
