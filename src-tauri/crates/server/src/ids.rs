//! Identifiers of recorded files.

use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};

/// A new numeric file id: unix milliseconds × 1000 plus a counter, strictly increasing in
/// this process, so ids stay unique across restarts while the clock moves forward.
pub fn next_file_id(now_ms: i64) -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let candidate = (now_ms.max(0) as u64) * 1000;
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let id = candidate.max(prev + 1);
        match LAST.compare_exchange(prev, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id.to_string(),
            Err(p) => prev = p,
        }
    }
}

/// Lower-case hex MD5 of `input`.
pub fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// The VOD id of a file: `<appid>_<md5 of its path>` as in the seed's callbacks.
pub fn video_id(appid: u64, rel_path: &str) -> String {
    format!("{appid}_{}", md5_hex(rel_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_numeric_and_increasing() {
        let a = next_file_id(1_700_000_000_000);
        let b = next_file_id(1_700_000_000_000);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert!(b.parse::<u64>().unwrap() > a.parse::<u64>().unwrap());
    }

    #[test]
    fn md5_matches_a_known_digest() {
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
