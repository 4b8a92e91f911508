//! A stream's health as a console shows it: bitrate, frame rate and keyframe interval, measured
//! over windows of media time (not wall time, so a stalled publisher does not read as slow).

use serde::{Deserialize, Serialize};

/// Media time a measurement covers, ms.
pub const WINDOW_MS: u64 = 2_000;

/// One measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Audio and video payload, kbit/s.
    pub bitrate_kbps: u32,
    /// Video frames per second.
    pub fps: f32,
    /// Media time between the last two video keyframes, ms (0 until there are two).
    pub keyframe_interval_ms: u64,
}

/// Counts frames and bytes; yields a measurement each [`WINDOW_MS`] of media.
#[derive(Debug, Default)]
pub struct Meter {
    window_start: Option<u64>,
    bytes: u64,
    video_frames: u32,
    last_keyframe: Option<u64>,
    keyframe_interval_ms: u64,
}

impl Meter {
    /// Takes in a media frame; returns a measurement when a window is complete.
    pub fn on_frame(
        &mut self,
        dts: u64,
        bytes: usize,
        video: bool,
        keyframe: bool,
    ) -> Option<StreamStats> {
        if video && keyframe {
            if let Some(last) = self.last_keyframe.filter(|l| dts > *l) {
                self.keyframe_interval_ms = dts - last;
            }
            self.last_keyframe = Some(dts);
        }
        let start = *self.window_start.get_or_insert(dts);
        let span = dts.saturating_sub(start);
        let done = (span >= WINDOW_MS).then(|| StreamStats {
            bitrate_kbps: (self.bytes * 8 / span) as u32,
            fps: self.video_frames as f32 * 1000.0 / span as f32,
            keyframe_interval_ms: self.keyframe_interval_ms,
        });
        if done.is_some() {
            self.window_start = Some(dts);
            self.bytes = 0;
            self.video_frames = 0;
        }
        self.bytes += bytes as u64;
        self.video_frames += u32::from(video);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_bitrate_fps_and_keyframe_interval_over_media_time() {
        let mut meter = Meter::default();
        let mut last = None;
        // 25 fps video of 2,500 bytes a frame with a keyframe every second, 4 s of it.
        for i in 0..=100u64 {
            let dts = i * 40;
            if let Some(stats) = meter.on_frame(dts, 2_500, true, i % 25 == 0) {
                last = Some(stats);
            }
        }
        let stats = last.expect("a measurement every two seconds");
        assert_eq!(stats.bitrate_kbps, 500);
        assert!((stats.fps - 25.0).abs() < 0.01, "{stats:?}");
        assert_eq!(stats.keyframe_interval_ms, 1_000);
    }

    #[test]
    fn audio_only_has_a_bitrate_and_no_frame_rate() {
        let mut meter = Meter::default();
        let stats = (0..=100u64)
            .filter_map(|i| meter.on_frame(i * 23, 200, false, true))
            .last()
            .unwrap();
        assert_eq!(stats.fps, 0.0);
        assert_eq!(stats.keyframe_interval_ms, 0);
        assert!((69..=70).contains(&stats.bitrate_kbps), "{stats:?}");
    }
}
