//! The start of a TS publish, held until every stream has its decoder configuration. An RTMP
//! publisher sends both sequence headers before any frame; a TS muxer interleaves by time and
//! buffers audio for up to ~0.7 s, so either track's first frames can come before the other's
//! configuration — and a recording opened then would have one track only. The gate holds the
//! first tags until the program's video and audio are both configured (or 5 s pass, for a
//! stream that lists a track it never sends), then lets the configurations through first and
//! the frames in time order.

use super::elementary::Tag;
use crate::frame::{TAG_AUDIO, TAG_VIDEO};

/// Media time held at most before opening with what is configured.
const HOLD_MS: u32 = 5_000;

/// The gate of one publish.
#[derive(Default)]
pub struct StartGate {
    held: Vec<Tag>,
    open: bool,
}

impl StartGate {
    /// Passes `tags` on, or holds them. `want_video` / `want_audio`: the program lists them.
    pub fn pass(&mut self, tags: Vec<Tag>, want_video: bool, want_audio: bool) -> Vec<Tag> {
        if self.open {
            return tags;
        }
        self.held.extend(tags);
        let configured = |kind| self.held.iter().any(|t| t.config && t.tag_type == kind);
        let ready =
            (!want_video || configured(TAG_VIDEO)) && (!want_audio || configured(TAG_AUDIO));
        let span = match (
            self.held.iter().map(|t| t.ts).min(),
            self.held.iter().map(|t| t.ts).max(),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        if ready || span > HOLD_MS {
            self.release()
        } else {
            Vec::new()
        }
    }

    /// Opens the gate (also at the end of the publish): configurations first, then the frames
    /// in time order (a stable sort keeps each track's own order).
    pub fn release(&mut self) -> Vec<Tag> {
        self.open = true;
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(|t| (!t.config, t.ts));
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn tag(tag_type: u8, ts: u32, config: bool) -> Tag {
        Tag {
            tag_type,
            body: Bytes::new(),
            ts,
            config,
        }
    }

    fn kinds(tags: &[Tag]) -> Vec<(u8, u32, bool)> {
        tags.iter().map(|t| (t.tag_type, t.ts, t.config)).collect()
    }

    #[test]
    fn video_first_waits_for_the_audio_configuration() {
        let mut gate = StartGate::default();
        let video = vec![tag(TAG_VIDEO, 0, true), tag(TAG_VIDEO, 0, false)];
        assert!(gate.pass(video, true, true).is_empty());
        assert!(gate
            .pass(vec![tag(TAG_VIDEO, 40, false)], true, true)
            .is_empty());
        let out = gate.pass(
            vec![
                tag(TAG_AUDIO, 0, true),
                tag(TAG_AUDIO, 0, false),
                tag(TAG_AUDIO, 23, false),
            ],
            true,
            true,
        );
        assert_eq!(
            kinds(&out),
            [
                (TAG_VIDEO, 0, true),
                (TAG_AUDIO, 0, true),
                (TAG_VIDEO, 0, false),
                (TAG_AUDIO, 0, false),
                (TAG_AUDIO, 23, false),
                (TAG_VIDEO, 40, false),
            ]
        );
        let later = gate.pass(vec![tag(TAG_VIDEO, 80, false)], true, true);
        assert_eq!(kinds(&later), [(TAG_VIDEO, 80, false)], "open from then on");
    }

    #[test]
    fn a_listed_track_that_never_comes_holds_for_5_s_only() {
        let mut gate = StartGate::default();
        let mut out = Vec::new();
        for n in 0..200 {
            let config = n == 0;
            out.extend(gate.pass(vec![tag(TAG_AUDIO, n * 40, config)], true, true));
        }
        assert_eq!(out.len(), 200, "released after 5 s, nothing lost");
    }

    #[test]
    fn a_program_of_one_track_is_not_held() {
        let mut gate = StartGate::default();
        let out = gate.pass(vec![tag(TAG_AUDIO, 0, true)], false, true);
        assert_eq!(out.len(), 1);
    }
}
