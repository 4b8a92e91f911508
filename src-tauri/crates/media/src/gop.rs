//! The frames since the stream's last video keyframe. A recording started mid-GOP begins from
//! them at once instead of waiting up to a keyframe interval for the next one (SPEC §8: record
//! start p99 ≤ 200 ms). The file then starts at that keyframe, up to one GOP before the start.

use std::collections::VecDeque;

use crate::frame::{Frame, Kind};

/// A GOP bigger than this is not kept (it waits for the next keyframe instead): the cache
/// must not make a high-bitrate, long-GOP stream cost megabytes of memory.
pub const MAX_BYTES: usize = 1 << 20;

/// Frames since the last keyframe, with their wall-clock times.
#[derive(Default)]
pub struct GopCache {
    frames: VecDeque<(Frame, i64)>,
    bytes: usize,
}

impl GopCache {
    /// Takes in a frame of a stream with video. Decoder configurations are not kept: a new
    /// recording gets the stream's current ones separately.
    pub fn push(&mut self, frame: &Frame, wall: i64) {
        match frame.kind {
            Kind::VideoConfig | Kind::AudioConfig => return,
            Kind::Video if frame.keyframe => self.clear(),
            // Nothing before the first keyframe can start a file.
            _ if self.frames.is_empty() => return,
            _ => {}
        }
        self.bytes += frame.body.len();
        self.frames.push_back((frame.clone(), wall));
        if self.bytes > MAX_BYTES {
            self.clear();
        }
    }

    /// The cached frames, oldest (the keyframe) first.
    pub fn frames(&self) -> Vec<(Frame, i64)> {
        self.frames.iter().cloned().collect()
    }

    /// The keyframe the cached GOP starts with.
    pub fn keyframe(&self) -> Option<&Frame> {
        self.frames.front().map(|(f, _)| f)
    }

    /// Forgets everything (a new publisher, a new timeline).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(kind: Kind, dts: u64, keyframe: bool, size: usize) -> Frame {
        Frame {
            kind,
            codec: crate::frame::Codec::H264,
            dts,
            cts: 0,
            keyframe,
            body: Bytes::from(vec![0u8; size]),
            payload_offset: 0,
            payload_end: size,
        }
    }

    fn dts_of(cache: &GopCache) -> Vec<u64> {
        cache.frames().iter().map(|(f, _)| f.dts).collect()
    }

    #[test]
    fn keeps_exactly_the_frames_since_the_last_keyframe() {
        let mut cache = GopCache::default();
        cache.push(&frame(Kind::Audio, 0, true, 10), 0);
        cache.push(&frame(Kind::Video, 10, false, 10), 0);
        assert!(
            cache.frames().is_empty(),
            "nothing before the first keyframe"
        );
        cache.push(&frame(Kind::Video, 40, true, 10), 0);
        cache.push(&frame(Kind::Audio, 45, true, 10), 0);
        cache.push(&frame(Kind::VideoConfig, 50, false, 10), 0);
        cache.push(&frame(Kind::Video, 80, false, 10), 0);
        assert_eq!(dts_of(&cache), vec![40, 45, 80]);
        cache.push(&frame(Kind::Video, 2040, true, 10), 0);
        assert_eq!(dts_of(&cache), vec![2040]);
    }

    #[test]
    fn a_gop_over_the_limit_is_dropped_until_the_next_keyframe() {
        let mut cache = GopCache::default();
        cache.push(&frame(Kind::Video, 0, true, MAX_BYTES / 2), 0);
        cache.push(&frame(Kind::Video, 40, false, MAX_BYTES / 2 + 1), 0);
        assert!(cache.frames().is_empty());
        cache.push(&frame(Kind::Video, 80, false, 10), 0);
        assert!(cache.frames().is_empty());
        cache.push(&frame(Kind::Video, 2000, true, 10), 0);
        assert_eq!(dts_of(&cache), vec![2000]);
    }
}
