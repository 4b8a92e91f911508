//! The durable-file order and free-space checks.
//!
//! Every finished file goes through the same steps (see `docs/design.md`):
//! 1. written under a temporary name (`*.part` / `*.tmp`) in its final directory,
//! 2. `fsync`ed,
//! 3. renamed to its final name,
//! 4. the directory `fsync`ed, so the rename itself survives a power cut,
//! 5. only then is `SegmentClosed` emitted (the service writes its index row after that).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Fsyncs a directory so that entries created or renamed in it are durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| EngineError::io("fsync dir", dir, e))
}

/// Renames a fully written and fsynced file into place and makes the rename durable.
pub fn durable_rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| EngineError::io("rename", from, e))?;
    fsync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync dir.
/// A failed write leaves no temp file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_synced(path, bytes)?;
    fsync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes `bytes` to `path` through a synced temp file and a rename, leaving the rename to be
/// made durable by the writer's next fsync of the directory. For a segment's poster: its file
/// names it only after the poster is in place, and the file's close fsyncs that directory.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .map_err(|e| EngineError::io("write", &tmp, e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| EngineError::io("rename", &tmp, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates a directory and its parents, fsyncing each newly created level's parent.
pub fn create_dirs(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => fsync_dir(dir.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(EngineError::io("mkdir", dir, e)),
    }
}

/// `path` with `suffix` appended to its file name (`a.mp4` + `.part` = `a.mp4.part`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Bytes available to unprivileged users on the file system holding `path`.
pub fn free_space(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| EngineError::Invalid(format!("path {} has a NUL byte", path.display())))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` is a properly sized out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(EngineError::io(
            "statvfs",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Errors with [`EngineError::DiskBelowReserve`] when `dir` has less than `reserve` bytes free.
pub fn check_reserve(dir: &Path, reserve: u64) -> Result<()> {
    let free = free_space(dir)?;
    if free < reserve {
        return Err(EngineError::DiskBelowReserve {
            path: dir.to_path_buf(),
            free,
            reserve,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.m3u8");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!with_suffix(&p, ".tmp").exists());
    }

    #[test]
    fn reserve_above_free_space_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_reserve(dir.path(), u64::MAX).unwrap_err();
        assert_eq!(err.code(), crate::error::codes::DISK);
        check_reserve(dir.path(), 0).unwrap();
    }
}
