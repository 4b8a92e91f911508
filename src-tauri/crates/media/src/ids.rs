//! Numeric ids that stay unique for the life of a data dir: unix milliseconds × 1000 plus a
//! counter, strictly increasing in this process even when the clock stalls or steps back.
//! At start the service raises the floor past every id it already holds ([`raise_floor`]), so
//! a clock stepped back across a restart cannot reuse one either. Servers sharing one index
//! each take a lane ([`use_lane`]): their ids differ in `id % lanes`, so two of them never
//! make the same id in the same millisecond.

use std::sync::atomic::{AtomicU64, Ordering};

static LAST: AtomicU64 = AtomicU64::new(0);
/// This process's lane and the number of lanes (one lane: every id is ours).
static LANE: AtomicU64 = AtomicU64::new(0);
static LANES: AtomicU64 = AtomicU64::new(1);

/// From now on, ids are `lane` modulo `lanes` (`lane < lanes`).
pub fn use_lane(lane: u64, lanes: u64) {
    assert!(lane < lanes, "lane {lane} of {lanes}");
    LANES.store(lanes, Ordering::Relaxed);
    LANE.store(lane, Ordering::Relaxed);
}

/// A new id for wall-clock time `now_ms`.
pub fn next_id(now_ms: i64) -> u64 {
    let candidate = (now_ms.max(0) as u64).saturating_mul(1000);
    let (lane, lanes) = (LANE.load(Ordering::Relaxed), LANES.load(Ordering::Relaxed));
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let at_least = candidate.max(prev + 1);
        let id = at_least + (lane + lanes - at_least % lanes) % lanes;
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
    fn ids_in_a_lane_stay_in_it_and_keep_increasing() {
        use_lane(7, 100);
        let ids: Vec<u64> = (0..50).map(|_| next_id(1_900_000_000_000)).collect();
        use_lane(0, 1);
        assert!(ids.iter().all(|id| id % 100 == 7), "{ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[test]
    fn a_raised_floor_is_never_reused() {
        raise_floor(9_000_000_000_000_000);
        assert!(next_id(1_000) > 9_000_000_000_000_000);
    }
}
