//! Numeric ids that stay unique for the life of a data dir: unix milliseconds × 1000 plus a
//! counter, strictly increasing in this process even when the clock stalls or steps back.
//! At start the service raises the floor past every id it already holds ([`raise_floor`]), so
//! a clock stepped back across a restart cannot reuse one either.

use std::sync::atomic::{AtomicU64, Ordering};

static LAST: AtomicU64 = AtomicU64::new(0);

/// A new id for wall-clock time `now_ms`.
pub fn next_id(now_ms: i64) -> u64 {
    let candidate = (now_ms.max(0) as u64).saturating_mul(1000);
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let id = candidate.max(prev + 1);
        match LAST.compare_exchange(prev, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id,
            Err(p) => prev = p,
        }
    }
}

/// Every later id is greater than `id`.
pub fn raise_floor(id: u64) {
    LAST.fetch_max(id, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_increasing_when_the_clock_steps_back() {
        let a = next_id(1_800_000_000_000);
        let b = next_id(1_800_000_000_000);
        let c = next_id(1_700_000_000_000); // an NTP step back by ~3 years
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn a_raised_floor_is_never_reused() {
        raise_floor(9_000_000_000_000_000);
        assert!(next_id(1_000) > 9_000_000_000_000_000);
    }
}
