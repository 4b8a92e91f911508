//! Startup recovery: every segment that was open when the process died left a
//! `<file>.part.json` sidecar. Each is finalized into a playable file (losing at most the last
//! fragment), given its manifest, reported with `recovered: true`, and its sidecar removed — so
//! a second start finds nothing to do. The same path finalizes, later, a file whose close hit a
//! full disk. Nothing recorded is deleted: a `.part` that cannot be finalized because it is
//! damaged is renamed `*.part.unrecoverable` and kept; one that cannot be finalized for want of
//! space keeps its name and sidecar and is retried.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::config::Format;
use crate::disk::{durable_rename, fsync_dir, with_suffix, write_atomic};
use crate::error::{EngineError, Result};
use crate::events::SegmentClosed;
use crate::flv::writer::{find_metadata_offsets, patch_metadata};
use crate::hls::playlist::{self, Chunk};
use crate::manifest;
use crate::mp4::finalize_part;

const SIDECAR: &str = ".part.json";

/// What startup recovery did.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Segments finalized now.
    pub segments: Vec<SegmentClosed>,
    /// Sidecars of segments that need disk space to finalize: retry them later.
    pub deferred: Vec<PathBuf>,
}

/// Finalizes every leftover segment under `<data>/vod`.
pub fn recover(data_dir: &Path) -> Recovered {
    let mut sidecars = Vec::new();
    manifest::find(&data_dir.join("vod"), SIDECAR, &mut sidecars);
    sidecars.sort();
    let mut out = Recovered::default();
    for sidecar in sidecars {
        match finalize(&sidecar, true) {
            Ok(seg) => {
                tracing::info!(path = %seg.path.display(), duration_ms = seg.duration_ms, "recovered segment");
                out.segments.push(seg);
            }
            Err(e) if e.is_disk_full() => {
                tracing::warn!(sidecar = %sidecar.display(), error = %e, "no space to finalize a segment yet; kept and retried");
                out.deferred.push(sidecar);
            }
            Err(e @ EngineError::NothingRecorded(_)) => {
                tracing::info!(error = %e, "removed an empty leftover segment")
            }
            Err(e) => {
                tracing::error!(sidecar = %sidecar.display(), error = %e, "segment could not be recovered; its data is kept")
            }
        }
    }
    out
}

/// Finalizes the segment of `sidecar`: its file, its manifest, then the sidecar goes. On a
/// full disk everything stays as it was (the error says so); a damaged `.part` is set aside.
pub fn finalize(sidecar: &Path, recovered: bool) -> Result<SegmentClosed> {
    let json = fs::read(sidecar).map_err(|e| EngineError::io("read", sidecar, e))?;
    let mut meta: SegmentClosed = serde_json::from_slice(&json)
        .map_err(|e| EngineError::Invalid(format!("{}: {e}", sidecar.display())))?;
    let s = sidecar.to_string_lossy();
    let path = PathBuf::from(&s[..s.len() - SIDECAR.len()]);
    let part = with_suffix(&path, ".part");
    let result = match meta.format {
        Format::Mp4 if part.exists() => {
            let tmp = with_suffix(&path, ".tmp");
            let _ = fs::remove_file(&tmp);
            let done = finalize_part(&part, &path).map(|o| (o.size, o.duration_ms));
            if done.is_err() {
                // A half-written copy only takes the space the next try needs.
                let _ = fs::remove_file(&tmp);
            }
            done
        }
        Format::Flv if part.exists() => recover_flv(&part, &path),
        Format::Hls => recover_hls(&path, meta.start_ms),
        // Renamed before the crash: the sidecar was given the exact duration before the close,
        // unless the disk was too full to write it; an MP4 says it itself.
        _ if path.exists() => Ok((
            fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            match meta.format {
                Format::Mp4 if meta.duration_ms == 0 => {
                    crate::mp4::movie_duration_ms(&path).unwrap_or(0)
                }
                _ => meta.duration_ms,
            },
        )),
        _ => Err(EngineError::Invalid(format!(
            "{}: neither the file nor its .part exists",
            path.display()
        ))),
    };
    let (size, duration_ms) = match result {
        Ok(r) => r,
        Err(e) if e.is_disk_full() => return Err(e),
        // A segment cut before its first complete frame: nothing to keep, nothing to report.
        Err(e @ EngineError::NothingRecorded(_)) => {
            let _ = fs::remove_file(&part);
            if meta.format == Format::Hls {
                let _ = fs::remove_file(&path); // a playlist listing nothing
            }
            fs::remove_file(sidecar).map_err(|e| EngineError::io("remove", sidecar, e))?;
            return Err(e);
        }
        Err(e) => {
            if part.exists() {
                let _ = fs::rename(&part, with_suffix(&part, ".unrecoverable"));
            }
            let _ = fs::rename(sidecar, with_suffix(sidecar, ".unrecoverable"));
            return Err(e);
        }
    };
    meta.path = path;
    meta.size = size;
    meta.duration_ms = duration_ms;
    meta.end_ms = meta.start_ms + duration_ms as i64;
    meta.recovered = recovered;
    meta.find_poster();
    manifest::write(&meta)?;
    fs::remove_file(sidecar).map_err(|e| EngineError::io("remove", sidecar, e))?;
    fsync_dir(sidecar.parent().unwrap_or(Path::new(".")))?;
    Ok(meta)
}

/// Cuts an FLV `.part` after its last complete tag, patches onMetaData and renames it;
/// returns (size, duration ms).
pub(crate) fn recover_flv(part: &Path, path: &Path) -> Result<(u64, u64)> {
    let io = |e| EngineError::io("recover flv", part, e);
    let file = File::open(part).map_err(io)?;
    let mut r = BufReader::with_capacity(256 * 1024, file);
    let mut head = [0u8; 13];
    if r.read_exact(&mut head).is_err() {
        return Err(EngineError::NothingRecorded(part.to_path_buf()));
    }
    crate::flv::parse_header(&head).map_err(|e| EngineError::Mux {
        format: "flv",
        path: part.into(),
        detail: e.to_string(),
    })?;
    let mut good = 13u64;
    let (mut first_ts, mut last_ts, mut step) = (None, 0u32, 0u32);
    let mut th = [0u8; 11];
    loop {
        if r.read_exact(&mut th).is_err() {
            break;
        }
        let size = (u64::from(th[1]) << 16) | (u64::from(th[2]) << 8) | u64::from(th[3]);
        let ts = (u32::from(th[7]) << 24)
            | (u32::from(th[4]) << 16)
            | (u32::from(th[5]) << 8)
            | u32::from(th[6]);
        if r.seek_relative(size as i64).is_err() {
            break;
        }
        let mut back = [0u8; 4];
        if r.read_exact(&mut back).is_err() || u64::from(u32::from_be_bytes(back)) != 11 + size {
            break;
        }
        good += 11 + size + 4;
        if th[0] == 9 || th[0] == 8 {
            if th[0] == 9 && ts > last_ts && first_ts.is_some() {
                step = (ts - last_ts).min(1000);
            }
            first_ts.get_or_insert(ts);
            last_ts = last_ts.max(ts);
        }
    }
    if first_ts.is_none() {
        return Err(EngineError::NothingRecorded(part.to_path_buf()));
    }
    let duration = u64::from(last_ts.saturating_sub(first_ts.unwrap_or(0)) + step);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)
        .map_err(io)?;
    f.set_len(good).map_err(io)?;
    let mut start = vec![0u8; 1024.min(good as usize)];
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.read_exact(&mut start))
        .map_err(io)?;
    if let Some((d, s)) = find_metadata_offsets(&start) {
        patch_metadata(&mut f, d, s, duration, good).map_err(io)?;
    }
    f.sync_all().map_err(io)?;
    drop(f);
    durable_rename(part, path)?;
    Ok((good, duration))
}

/// Lists leftover TS chunks in the playlist and closes it with `#EXT-X-ENDLIST`.
fn recover_hls(playlist: &Path, start_ms: i64) -> Result<(u64, u64)> {
    let dir = playlist.parent().unwrap_or(Path::new("."));
    let stem = playlist
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut chunks = fs::read(playlist)
        .ok()
        .and_then(|b| playlist::parse(&b))
        .map(|(c, _)| c)
        .unwrap_or_default();
    // Chunks not in the playlist yet: still `.ts.part`, or renamed just before the crash and
    // not listed yet. Either kind is media to keep.
    let listed: std::collections::HashSet<String> = chunks.iter().map(|c| c.uri.clone()).collect();
    let mut leftovers: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .map_err(|e| EngineError::io("list", dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let n = p.file_name()?.to_string_lossy().into_owned();
            let name = n.strip_suffix(".part").unwrap_or(&n).to_owned();
            let ours = name.starts_with(&format!("{stem}_")) && name.ends_with(".ts");
            (ours && !listed.contains(&name)).then_some((name, p))
        })
        .collect();
    leftovers.sort();
    for (name, chunk) in leftovers {
        let io = |e| EngineError::io("recover ts", &chunk, e);
        let bytes = fs::read(&chunk).map_err(io)?;
        let usable = bytes.len() / 188 * 188;
        let Some(duration_ms) = ts_duration_ms(&bytes[..usable]) else {
            // Not one timestamped frame in it: nothing recorded to keep.
            let _ = fs::remove_file(&chunk);
            continue;
        };
        if chunk.to_string_lossy().ends_with(".part") {
            let f = OpenOptions::new().write(true).open(&chunk).map_err(io)?;
            f.set_len(usable as u64)
                .and_then(|_| f.sync_all())
                .map_err(io)?;
            durable_rename(&chunk, &dir.join(&name))?;
        }
        let start_wall_ms = chunks
            .last()
            .map_or(start_ms, |c| c.start_wall_ms + c.duration_ms as i64);
        chunks.push(Chunk {
            uri: name,
            duration_ms,
            start_wall_ms,
            size: usable as u64,
        });
    }
    if chunks.is_empty() {
        return Err(EngineError::NothingRecorded(playlist.to_path_buf()));
    }
    let size = chunks
        .iter()
        .map(|c| fs::metadata(dir.join(&c.uri)).map(|m| m.len()).unwrap_or(0))
        .sum();
    let duration = chunks.iter().map(|c| c.duration_ms).sum();
    write_atomic(playlist, &playlist::render(&chunks, true))?;
    Ok((size, duration))
}

/// Span of PES PTS values in a TS buffer (video PID if present, else audio), ms.
pub fn ts_duration_ms(ts: &[u8]) -> Option<u64> {
    let mut span: [Option<(u64, u64)>; 2] = [None, None];
    for p in ts.chunks_exact(188) {
        if p[0] != 0x47 || p[1] & 0x40 == 0 {
            continue;
        }
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        let i = match pid {
            0x100 => 0,
            0x101 => 1,
            _ => continue,
        };
        let mut at = 4;
        if p[3] & 0x20 != 0 {
            at += 1 + usize::from(p[4]);
        }
        let Some(pes) = p.get(at..at + 14) else {
            continue;
        };
        if pes[..3] != [0, 0, 1] || pes[7] & 0x80 == 0 {
            continue;
        }
        let b = &pes[9..14];
        let pts = (u64::from(b[0] >> 1 & 7) << 30)
            | (u64::from(b[1]) << 22)
            | (u64::from(b[2] >> 1) << 15)
            | (u64::from(b[3]) << 7)
            | u64::from(b[4] >> 1);
        let s = span[i].get_or_insert((pts, pts));
        s.0 = s.0.min(pts);
        s.1 = s.1.max(pts);
    }
    let (lo, hi) = span[0].or(span[1])?;
    Some((hi - lo) / 90 + 33)
}
