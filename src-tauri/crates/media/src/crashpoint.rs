//! Crash-point injection for durability tests: with `TALLY_CRASH_AT=<point>` (or
//! `<point>@<n>`, the n-th time) in the environment, the process kills itself with SIGKILL (no
//! unwinding, no flush) when it reaches that point of a file's life. Unset, a point costs a
//! load of a cached value.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The points of a file's life, in order.
pub const POINTS: &[&str] = &[
    "after_part_fsync",
    "mid_finalize",
    "after_rename",
    "after_manifest",
    "after_sidecar_removal",
    "after_row_commit",
];

/// The points of a file's upload to a bucket (`--s3-bucket`), in order: every copy verified,
/// then the row marked as stored there (the local copy is removed after it).
pub const UPLOAD_POINTS: &[&str] = &["after_upload", "after_upload_commit"];

/// Dies here if `TALLY_CRASH_AT` names `point` and this is the chosen visit.
pub fn here(point: &str) {
    static AT: OnceLock<Option<(String, u32)>> = OnceLock::new();
    static VISITS: AtomicU32 = AtomicU32::new(0);
    let at = AT.get_or_init(|| {
        let v = std::env::var("TALLY_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())?;
        Some(match v.split_once('@') {
            Some((p, n)) => (p.to_owned(), n.parse().unwrap_or(1).max(1)),
            None => (v, 1),
        })
    });
    let Some((name, nth)) = at else {
        return;
    };
    if name == point && VISITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
        eprintln!("crash point {point}: killing the process");
        // SAFETY: raising a signal on our own process has no memory-safety preconditions.
        unsafe {
            libc::raise(libc::SIGKILL);
        }
    }
}
