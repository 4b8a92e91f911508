//! A finished file's manifest, `<file>.meta.json` beside it: everything the index needs to
//! list and call back the file (its id, recording, room, user, file name, tags, times), so the
//! disk alone is enough to rebuild a lost index. Written durably after the file's rename and
//! before its recovery sidecar is removed; removed with the file. Never served over HTTP.

use std::fs;
use std::path::{Path, PathBuf};

use crate::disk::{with_suffix, write_atomic};
use crate::error::{EngineError, Result};
use crate::events::SegmentClosed;

/// Appended to the file's name.
pub const SUFFIX: &str = ".meta.json";

/// Where the manifest of the file at `path` lives.
pub fn path_of(path: &Path) -> PathBuf {
    with_suffix(path, SUFFIX)
}

/// Writes `meta`'s manifest beside its file (temp, fsync, rename, fsync dir).
pub fn write(meta: &SegmentClosed) -> Result<()> {
    let json = serde_json::to_vec(meta).map_err(|e| EngineError::Invalid(e.to_string()))?;
    write_atomic(&path_of(&meta.path), &json)
}

/// Reads one manifest.
pub fn read(manifest: &Path) -> Result<SegmentClosed> {
    let json = fs::read(manifest).map_err(|e| EngineError::io("read", manifest, e))?;
    serde_json::from_slice(&json)
        .map_err(|e| EngineError::Invalid(format!("{}: {e}", manifest.display())))
}

/// Every manifest under `<data>/vod` whose file still exists, with `path` set from where it
/// lies now (the data dir may have moved). Unreadable manifests are logged and skipped.
pub fn collect(data_dir: &Path) -> Vec<SegmentClosed> {
    let mut found = Vec::new();
    walk(&data_dir.join("vod"), &mut found);
    found.sort();
    let mut out = Vec::new();
    for manifest in found {
        let s = manifest.to_string_lossy();
        let file = PathBuf::from(&s[..s.len() - SUFFIX.len()]);
        if !file.exists() {
            continue;
        }
        match read(&manifest) {
            Ok(mut meta) => {
                meta.path = file;
                out.push(meta);
            }
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable manifest"),
        }
    }
    out
}

/// Files under `dir` whose name ends with `suffix`, recursively.
pub(crate) fn find(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            find(&p, suffix, out);
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    find(dir, SUFFIX, out)
}
