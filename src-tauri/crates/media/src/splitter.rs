//! Where segments start and end: at a video keyframe once the interval is reached (audio-only:
//! at any frame), so the next segment begins exactly where the previous one ended. A stream
//! that stops sending keyframes is still cut, [`FORCED_CUT_AFTER_MS`] past the interval: a
//! segment never grows without bound (the next one then starts mid-GOP). One that never sends a
//! keyframe at all is recorded too: the first segment opens after [`FORCED_CUT_AFTER_MS`] of
//! waiting for one.

/// How far past its interval a segment may run while waiting for a keyframe, and how long a
/// recording waits for its first one.
pub const FORCED_CUT_AFTER_MS: u64 = 10_000;

/// What to do with the frame just seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No segment is open and this frame cannot start one (not a keyframe): drop it.
    Skip,
    /// Open the first segment with this frame.
    Open,
    /// Write the frame into the open segment.
    Write,
    /// Close the open segment at this frame's time and open the next one with it.
    Cut,
}

/// The cutting rule for one recording, on the publish timeline (ms).
#[derive(Debug, Clone)]
pub struct Splitter {
    interval_ms: u64,
    segment_start: Option<u64>,
    /// While no segment is open: the first frame seen that could not start one.
    waiting_since: Option<u64>,
}

impl Splitter {
    /// A splitter cutting every `interval_ms` milliseconds of media.
    pub fn new(interval_ms: u64) -> Self {
        Splitter {
            interval_ms: interval_ms.max(1),
            segment_start: None,
            waiting_since: None,
        }
    }

    /// Start of the open segment, if one is open.
    pub fn segment_start(&self) -> Option<u64> {
        self.segment_start
    }

    /// Forgets the open segment (it was closed for another reason: disconnect, disk, stop).
    pub fn reset(&mut self) {
        self.segment_start = None;
        self.waiting_since = None;
    }

    /// Decides for a frame at `ms`. `can_start` is true for frames a segment may begin with:
    /// video keyframes, or any frame of a recording without video.
    pub fn on_frame(&mut self, ms: u64, can_start: bool) -> Decision {
        match self.segment_start {
            None if can_start
                || ms.saturating_sub(*self.waiting_since.get_or_insert(ms))
                    >= FORCED_CUT_AFTER_MS =>
            {
                self.segment_start = Some(ms);
                self.waiting_since = None;
                Decision::Open
            }
            None => Decision::Skip,
            Some(start)
                if (can_start && ms.saturating_sub(start) >= self.interval_ms)
                    || ms.saturating_sub(start) >= self.interval_ms + FORCED_CUT_AFTER_MS =>
            {
                self.segment_start = Some(ms);
                Decision::Cut
            }
            Some(_) => Decision::Write,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 fps video with a keyframe every `gop` frames; returns (ms, decision) pairs.
    fn run(interval_ms: u64, gop: u64, frames: u64) -> Vec<(u64, Decision)> {
        let mut s = Splitter::new(interval_ms);
        (0..frames)
            .map(|i| {
                let ms = i * 1000 / 30;
                (ms, s.on_frame(ms, i % gop == 0))
            })
            .collect()
    }

    #[test]
    fn segment_starts_with_keyframe() {
        let mut s = Splitter::new(10_000);
        assert_eq!(s.on_frame(0, false), Decision::Skip);
        assert_eq!(s.on_frame(33, false), Decision::Skip);
        assert_eq!(s.on_frame(66, true), Decision::Open);
        assert_eq!(s.segment_start(), Some(66));
    }

    #[test]
    fn a_stream_without_keyframes_is_cut_a_bounded_time_past_the_interval() {
        // One keyframe at the start, then none (a GOP longer than the whole run).
        let cuts: Vec<u64> = run(10_000, 1_000_000, 2_000)
            .into_iter()
            .filter(|(_, d)| *d == Decision::Cut)
            .map(|(ms, _)| ms)
            .collect();
        assert_eq!(cuts.len(), 3, "{cuts:?}");
        for pair in std::iter::once(0)
            .chain(cuts.iter().copied())
            .collect::<Vec<_>>()
            .windows(2)
        {
            let length = pair[1] - pair[0];
            assert!(length <= 10_000 + FORCED_CUT_AFTER_MS + 34, "{length}");
            assert!(length >= 10_000 + FORCED_CUT_AFTER_MS, "{length}");
        }
    }

    #[test]
    fn a_stream_that_never_sends_a_keyframe_is_recorded_from_a_bounded_wait_on() {
        let mut s = Splitter::new(10_000);
        let decisions: Vec<(u64, Decision)> = (0..1_500)
            .map(|i| {
                let ms = i * 1000 / 30;
                (ms, s.on_frame(ms, false))
            })
            .collect();
        let opened: Vec<u64> = decisions
            .iter()
            .filter(|(_, d)| *d == Decision::Open)
            .map(|(ms, _)| *ms)
            .collect();
        assert_eq!(opened, vec![10_000]);
        let first_cut = 10_000 + 10_000 + FORCED_CUT_AFTER_MS;
        let cuts: Vec<u64> = decisions
            .iter()
            .filter(|(_, d)| *d == Decision::Cut)
            .map(|(ms, _)| *ms)
            .collect();
        assert_eq!(cuts, vec![first_cut]);
        // A keyframe ends the wait at once, and a reset starts a new one.
        let mut s = Splitter::new(10_000);
        assert_eq!(s.on_frame(0, false), Decision::Skip);
        assert_eq!(s.on_frame(9_000, false), Decision::Skip);
        s.reset();
        assert_eq!(s.on_frame(12_000, false), Decision::Skip);
        assert_eq!(s.on_frame(12_500, true), Decision::Open);
    }

    #[test]
    fn cut_waits_for_the_first_keyframe_after_the_interval() {
        // GOP of 2 s (60 frames): the 10 s interval lands on a keyframe at frame 300.
        let cuts: Vec<u64> = run(10_000, 60, 1000)
            .into_iter()
            .filter(|(_, d)| *d == Decision::Cut)
            .map(|(ms, _)| ms)
            .collect();
        assert_eq!(cuts, vec![10_000, 20_000, 30_000]);
        // GOP of 7 s (210 frames): cuts happen at the first keyframe at or past 10 s.
        let cuts: Vec<u64> = run(10_000, 210, 1300)
            .into_iter()
            .filter(|(_, d)| *d == Decision::Cut)
            .map(|(ms, _)| ms)
            .collect();
        assert_eq!(cuts, vec![14_000, 28_000, 42_000]);
    }

    #[test]
    fn segments_are_gapless() {
        // Every frame after the first keyframe lands in exactly one segment, in order.
        let decisions = run(5_000, 45, 900);
        let written = decisions
            .iter()
            .filter(|(_, d)| *d != Decision::Skip)
            .count();
        assert_eq!(written, 900);
        let opens = decisions
            .iter()
            .filter(|(_, d)| *d == Decision::Open)
            .count();
        assert_eq!(opens, 1);
    }

    #[test]
    fn audio_only_cuts_at_any_frame() {
        let mut s = Splitter::new(1_000);
        let mut cuts = vec![];
        for i in 0..200u64 {
            let ms = i * 1024 * 1000 / 48_000;
            if s.on_frame(ms, true) == Decision::Cut {
                cuts.push(ms);
            }
        }
        assert_eq!(cuts.first(), Some(&1002));
        assert!(cuts.windows(2).all(|w| w[1] - w[0] < 1_030));
    }

    #[test]
    fn reset_makes_the_next_keyframe_open_a_new_segment() {
        let mut s = Splitter::new(10_000);
        s.on_frame(0, true);
        s.reset();
        assert_eq!(s.on_frame(500, false), Decision::Skip);
        assert_eq!(s.on_frame(600, true), Decision::Open);
    }
}
