//! Turns RTMP's 32-bit millisecond timestamps into one monotonic 64-bit timeline per publish.
//!
//! RTMP timestamps wrap after 2^32 ms (~49.7 days), encoders restart them, and bad networks
//! or buggy clients make them jump. Files need a timeline that starts at 0, only moves forward
//! per track, and has no holes of minutes: this is the one place that guarantees it.

/// Jumps larger than this (forward) are treated as a discontinuity, not as real time passing.
pub const MAX_FORWARD_JUMP_MS: i64 = 5_000;
/// Backward steps up to this are normal audio/video interleaving; larger ones are a reset.
pub const MAX_BACKWARD_JITTER_MS: i64 = 1_000;
/// Assumed frame spacing when a discontinuity leaves nothing better to go on.
const DEFAULT_STEP_MS: u64 = 33;

/// Which elementary stream a timestamp belongs to (each is kept monotonic on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// The video track.
    Video,
    /// The audio track.
    Audio,
}

/// A timestamp placed on the publish timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    /// Milliseconds since the first frame of the publish.
    pub ms: u64,
    /// True when the input jumped and was re-based (files may want to note it).
    pub discontinuity: bool,
}

/// Maps raw RTMP timestamps to the publish timeline.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Last raw value seen and its unwrapped (64-bit) counterpart.
    last_raw: Option<(u32, i64)>,
    /// Added to the unwrapped value to get the output; changes at discontinuities.
    offset: i64,
    /// Last output per track (video, audio) and overall.
    last_video: Option<u64>,
    last_audio: Option<u64>,
    last_out: u64,
    /// Last forward step seen on a track, used to bridge discontinuities.
    last_step: u64,
}

impl Timeline {
    /// A timeline that starts at 0 with the first timestamp given to it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Places `raw` (an RTMP timestamp of `track`) on the timeline.
    pub fn map(&mut self, raw: u32, track: Track) -> Mapped {
        let unwrapped = match self.last_raw {
            None => {
                self.offset = -i64::from(raw);
                i64::from(raw)
            }
            // A signed 32-bit difference makes the wrap at 2^32 an ordinary small step.
            Some((last_raw, last_unwrapped)) => {
                last_unwrapped + i64::from(raw.wrapping_sub(last_raw) as i32)
            }
        };
        self.last_raw = Some((raw, unwrapped));

        let mut discontinuity = false;
        let mut out = unwrapped + self.offset;
        let delta = out - self.last_out as i64;
        let first = self.last_video.is_none() && self.last_audio.is_none();
        if !first && !(-MAX_BACKWARD_JITTER_MS..=MAX_FORWARD_JUMP_MS).contains(&delta) {
            // Re-base so this frame follows the previous one by one frame step.
            let target = self.last_out + self.step();
            self.offset = target as i64 - unwrapped;
            out = target as i64;
            discontinuity = true;
        }
        let mut ms = out.max(0) as u64;
        let last_of_track = match track {
            Track::Video => &mut self.last_video,
            Track::Audio => &mut self.last_audio,
        };
        if let Some(prev) = *last_of_track {
            // Per track, time never goes backwards (MP4 and TS cannot express it).
            ms = ms.max(prev);
            if ms > prev {
                self.last_step = ms - prev;
            }
        }
        *last_of_track = Some(ms);
        self.last_out = self.last_out.max(ms);
        Mapped { ms, discontinuity }
    }

    fn step(&self) -> u64 {
        match self.last_step {
            0 => DEFAULT_STEP_MS,
            s => s.min(1_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(t: &mut Timeline, raws: &[u32]) -> Vec<u64> {
        raws.iter().map(|&r| t.map(r, Track::Video).ms).collect()
    }

    #[test]
    fn timeline_starts_at_zero() {
        let mut t = Timeline::new();
        assert_eq!(video(&mut t, &[5000, 5033, 5066]), vec![0, 33, 66]);
    }

    #[test]
    fn wrap_around_of_32_bit_timestamps_continues_smoothly() {
        let mut t = Timeline::new();
        let start = u32::MAX - 40;
        let ms = video(
            &mut t,
            &[
                start,
                start.wrapping_add(33),
                start.wrapping_add(66),
                start.wrapping_add(99),
            ],
        );
        assert_eq!(ms, vec![0, 33, 66, 99]);
        assert!(!t.map(start.wrapping_add(132), Track::Video).discontinuity);
    }

    #[test]
    fn backward_jump_is_rebased_one_step_after_the_last_frame() {
        let mut t = Timeline::new();
        video(&mut t, &[100_000, 100_040, 100_080]);
        let m = t.map(10, Track::Video);
        assert!(m.discontinuity);
        assert_eq!(m.ms, 120);
        assert_eq!(t.map(50, Track::Video).ms, 160);
    }

    #[test]
    fn forward_gap_is_closed_up() {
        let mut t = Timeline::new();
        video(&mut t, &[0, 40, 80]);
        let m = t.map(3_600_000, Track::Video);
        assert!(m.discontinuity);
        assert_eq!(m.ms, 120);
    }

    #[test]
    fn small_interleaving_between_tracks_is_not_a_discontinuity() {
        let mut t = Timeline::new();
        assert_eq!(t.map(1000, Track::Video).ms, 0);
        let a = t.map(980, Track::Audio);
        assert!(!a.discontinuity);
        assert_eq!(a.ms, 0, "clamped at 0, the timeline origin");
        assert_eq!(t.map(1021, Track::Audio).ms, 21);
        assert_eq!(t.map(1033, Track::Video).ms, 33);
    }

    #[test]
    fn each_track_stays_monotonic() {
        let mut t = Timeline::new();
        t.map(0, Track::Audio);
        t.map(100, Track::Audio);
        assert_eq!(t.map(90, Track::Audio).ms, 100);
    }
}
