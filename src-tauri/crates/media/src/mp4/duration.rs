//! The duration a finished MP4 declares (its `mvhd`), for a file whose close was interrupted
//! after the rename: its sidecar may not have learnt the duration (a full disk refused the
//! update), but the file says it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use shiguredo_mp4::boxes::MoovBox;
use shiguredo_mp4::Decode;

use crate::error::{EngineError, Result};

/// The largest `moov` read: far above any Tally writes (its sample tables for 90 minutes).
const MAX_MOOV: u64 = 256 << 20;

/// The movie duration of the MP4 at `path`, in milliseconds.
pub fn movie_duration_ms(path: &Path) -> Result<u64> {
    let io = |what, e| EngineError::io(what, path, e);
    let mut file = File::open(path).map_err(|e| io("open", e))?;
    let len = file.metadata().map_err(|e| io("stat", e))?.len();
    let mut at = 0u64;
    while at + 8 <= len {
        let mut head = [0u8; 16];
        file.seek(SeekFrom::Start(at)).map_err(|e| io("seek", e))?;
        let n = if at + 16 <= len { 16 } else { 8 };
        file.read_exact(&mut head[..n]).map_err(|e| io("read", e))?;
        let size = match u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) {
            0 => len - at,
            1 if n == 16 => u64::from_be_bytes(head[8..16].try_into().expect("8 bytes")),
            s => u64::from(s),
        };
        if size < 8 || at + size > len {
            break;
        }
        if &head[4..8] == b"moov" && size <= MAX_MOOV {
            let mut moov = vec![0u8; size as usize];
            file.seek(SeekFrom::Start(at)).map_err(|e| io("seek", e))?;
            file.read_exact(&mut moov).map_err(|e| io("read", e))?;
            let (moov, _) = MoovBox::decode(&moov)
                .map_err(|e| EngineError::Invalid(format!("{}: moov: {e}", path.display())))?;
            let timescale = u64::from(moov.mvhd_box.timescale.get());
            return Ok(moov.mvhd_box.duration.saturating_mul(1000) / timescale);
        }
        at += size;
    }
    Err(EngineError::Invalid(format!(
        "{}: no moov box",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_movie_duration_of_an_ffmpeg_mp4_is_read_from_its_moov() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("three.mp4");
        let made = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=160x120:rate=25:duration=3")
            .args(["-c:v", "libx264", "-preset", "ultrafast"])
            .arg(&path)
            .status()
            .expect("ffmpeg is installed (scripts/setup.sh)");
        assert!(made.success());
        let ms = movie_duration_ms(&path).unwrap();
        assert!((2900..=3100).contains(&ms), "{ms} ms");
        std::fs::write(&path, b"\0\0\0\x08free").unwrap();
        assert!(movie_duration_ms(&path).is_err(), "no moov, no duration");
    }
}
