//! Files on disk: finished recordings and whether they play.

use std::path::{Path, PathBuf};
use std::process::Command;

use md5::{Digest, Md5};

/// Every file under `dir`, recursively, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    fn go(d: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    go(&p, out)
                } else {
                    out.push(p)
                }
            }
        }
    }
    let mut v = Vec::new();
    go(dir, &mut v);
    v.sort();
    v
}

/// The finished recordings under `<data>/vod` (`.flv`, `.mp4`, `.m3u8`), as paths relative to
/// the data dir.
pub fn finished_files(data: &Path) -> Vec<String> {
    walk(&data.join("vod"))
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "flv" || e == "mp4" || e == "m3u8")
        })
        .map(|p| {
            p.strip_prefix(data)
                .expect("below the data dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// True when ffprobe opens the file and finds a stream with a positive duration.
pub fn ffprobe_plays(path: &Path) -> bool {
    ffprobe_duration(path).is_some_and(|d| d > 0.0)
}

/// The duration ffprobe reads from the file, seconds; `None` when it cannot open it.
pub fn ffprobe_duration(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed (scripts/setup.sh)");
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// A file's first video stream as Debian's ffprobe reads it: (codec, packets, the format's
/// duration in seconds); an empty codec and zeros when it has none.
pub fn ffprobe_video(path: &Path) -> (String, u32, f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-count_packets"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_packets:format=duration",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe is installed (scripts/setup.sh)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let stream = &v["streams"][0];
    let codec = stream["codec_name"].as_str().unwrap_or_default().to_owned();
    let packets = stream["nb_read_packets"]
        .as_str()
        .map_or(0, |p| p.parse().unwrap_or(0));
    let duration = v["format"]["duration"]
        .as_str()
        .map_or(0.0, |d| d.parse().unwrap_or(0.0));
    (codec, packets, duration)
}

/// (format, path on disk) of each listed recording of a server on `data`.
pub fn recorded_files(data: &Path, rows: &[serde_json::Value]) -> Vec<(String, PathBuf)> {
    rows.iter()
        .map(|r| {
            let url = r["url"].as_str().expect("a recording has a url");
            let format = r["format"].as_str().unwrap_or_default().to_owned();
            (format, data.join("vod").join(vod_path(url)))
        })
        .collect()
}

/// Lower-case hex MD5.
pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The path below `vod/` that a download URL names, without its query (the signature).
pub fn vod_path(url: &str) -> &str {
    let path = url.split_once("/vod/").map_or(url, |(_, p)| p);
    path.split(['?', '#']).next().unwrap_or(path)
}
