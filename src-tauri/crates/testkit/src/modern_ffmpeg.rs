//! A current ffmpeg (the static build in the `imageio-ffmpeg` wheel, installed into `.venv` by
//! `scripts/setup.sh`): Debian's ffmpeg 5.1 neither publishes nor reads enhanced RTMP / FLV.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wheel's ffmpeg binary below the checkout's `.venv`.
pub fn modern_ffmpeg() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let lib = root.join(".venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|pythons| {
        pythons.flatten().find_map(|py| {
            let bins = py.path().join("site-packages/imageio_ffmpeg/binaries");
            std::fs::read_dir(bins)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("ffmpeg-linux"))
                })
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "no imageio-ffmpeg binary below {} (run scripts/setup.sh)",
            lib.display()
        )
    })
}

/// HEVC at a keyframe a second (x265), for [`publish_command`].
pub const HEVC: &[&str] = &[
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-x265-params",
    "keyint=25:log-level=error",
];
/// AV1 at a keyframe a second (SVT-AV1, fastest preset, one thread), for [`publish_command`].
pub const AV1: &[&str] = &[
    "-c:v",
    "libsvtav1",
    "-preset",
    "12",
    "-g",
    "25",
    "-svtav1-params",
    "lp=1",
];

/// The modern ffmpeg publishing `seconds` of a 320x240 25 fps test picture and an AAC tone
/// in real time to `url` through `muxer` (`flv` for RTMP, `mpegts` for SRT), the video
/// encoded as `video` says (e.g. `-c:v libx265 ...`; a `-c:a` there replaces AAC).
pub fn publish_command(video: &[&str], muxer: &str, url: &str, seconds: u32) -> Command {
    let mut cmd = Command::new(modern_ffmpeg());
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=25:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac"])
        .args(video)
        .args(["-f", muxer, url])
        .stdin(std::process::Stdio::null());
    cmd
}

/// One packet as ffmpeg's `framecrc` muxer lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Decode time, in the stream's time base.
    pub dts: i64,
    /// Duration, in the stream's time base.
    pub duration: i64,
    /// True for keyframes.
    pub keyframe: bool,
}

/// What a file's first video (or audio) stream holds, read by the modern ffmpeg without
/// decoding: its codec and every packet.
#[derive(Debug, Clone)]
pub struct StreamPackets {
    /// ffmpeg's codec name (`hevc`, `av1`, `h264`, `aac`).
    pub codec: String,
    /// Seconds per time-base unit.
    pub time_base: f64,
    /// The packets in file order.
    pub packets: Vec<Packet>,
}

impl StreamPackets {
    /// The span from the first packet's start to the last one's end, seconds.
    pub fn duration(&self) -> f64 {
        let (Some(first), Some(last)) = (self.packets.first(), self.packets.last()) else {
            return 0.0;
        };
        (last.dts + last.duration - first.dts) as f64 * self.time_base
    }
}

/// The packets of `path`'s stream `which` (`v:0` or `a:0`), via `-c copy -f framecrc`.
pub fn stream_packets(path: &Path, which: &str) -> StreamPackets {
    let out = Command::new(modern_ffmpeg())
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            &format!("0:{which}"),
            "-c",
            "copy",
            "-f",
            "framecrc",
            "-",
        ])
        .output()
        .expect("the modern ffmpeg runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ffmpeg cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut codec = String::new();
    let mut time_base = 0.0;
    let mut packets = Vec::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("#codec_id 0: ") {
            codec = c.trim().to_owned();
        } else if let Some(tb) = line.strip_prefix("#tb 0: ") {
            let (n, d) = tb.trim().split_once('/').expect("a time base n/d");
            time_base = n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap();
        } else if !line.starts_with('#') {
            // stream, dts, pts, duration, size, crc[, F=0x..] (flags only when not a keyframe)
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < 6 {
                continue;
            }
            let flags = fields.get(6).and_then(|f| f.strip_prefix("F=0x"));
            let keyframe = flags.is_none_or(|f| u32::from_str_radix(f, 16).unwrap_or(0) & 1 == 1);
            packets.push(Packet {
                dts: fields[1].parse().unwrap(),
                duration: fields[3].parse().unwrap(),
                keyframe,
            });
        }
    }
    StreamPackets {
        codec,
        time_base,
        packets,
    }
}

/// True when the modern ffmpeg decodes the whole file without an error.
pub fn decodes_cleanly(path: &Path) -> Result<(), String> {
    let out = Command::new(modern_ffmpeg())
        .args(["-hide_banner", "-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("the modern ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if out.status.success() && stderr.is_empty() {
        Ok(())
    } else {
        Err(stderr)
    }
}
