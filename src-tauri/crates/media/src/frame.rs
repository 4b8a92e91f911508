//! Media frames as they come out of RTMP: FLV audio/video tag bodies, parsed just enough to
//! know the codec, the keyframes and the decoder configuration. I/O-free, so fuzzable.
//!
//! Both tag layouts are read: the classic one (a codec id in the first byte: H.264 7, the
//! widespread HEVC extension 12, AAC 10) and enhanced RTMP's (E-RTMP v2: a FourCC, packet
//! types, ModEx, multitrack). The headers are a few bit fields, hand-read here because what is
//! needed is the offsets into the received body (its bytes go to FLV, MP4 and TS uncopied);
//! the configuration records behind them are parsed by `shiguredo_mp4` (`codec.rs`).

use bytes::Bytes;

/// FLV tag type of audio.
pub const TAG_AUDIO: u8 = 8;
/// FLV tag type of video.
pub const TAG_VIDEO: u8 = 9;
/// FLV tag type of script data (onMetaData).
pub const TAG_SCRIPT: u8 = 18;

/// What a tag body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A video access unit: H.264 / HEVC length-prefixed NAL units, or an AV1 temporal unit
    /// (low-overhead OBUs).
    Video,
    /// A raw AAC frame or an Opus packet.
    Audio,
    /// The video decoder configuration record (avcC, hvcC, av1C).
    VideoConfig,
    /// AudioSpecificConfig (AAC) or OpusHead.
    AudioConfig,
}

/// The codecs Tally records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
    /// AV1.
    Av1,
    /// AAC.
    Aac,
    /// Opus.
    Opus,
}

impl Codec {
    /// The name in events, the index and ffprobe's `codec_name`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "hevc",
            Codec::Av1 => "av1",
            Codec::Aac => "aac",
            Codec::Opus => "opus",
        }
    }

    /// The codec of an E-RTMP FourCC.
    fn from_fourcc(fourcc: &[u8]) -> Option<Codec> {
        Some(match fourcc {
            b"avc1" => Codec::H264,
            b"hvc1" => Codec::H265,
            b"av01" => Codec::Av1,
            b"mp4a" => Codec::Aac,
            b"Opus" => Codec::Opus,
            _ => return None,
        })
    }
}

/// One media frame. `body` is the whole FLV tag body (what FLV files store); the codec payload
/// is `body[payload_offset..payload_end]`, so no copy is made for MP4/TS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What it is.
    pub kind: Kind,
    /// Its codec.
    pub codec: Codec,
    /// Decode time on the publish timeline, ms (set by the stream actor).
    pub dts: u64,
    /// Composition offset (PTS - DTS), ms; 0 for audio and AV1.
    pub cts: i32,
    /// True for video keyframes; true for every audio frame.
    pub keyframe: bool,
    /// The FLV tag body.
    pub body: Bytes,
    /// Start of the codec payload in `body`.
    pub payload_offset: usize,
    /// End of the codec payload in `body` (before a multitrack tag's other tracks).
    pub payload_end: usize,
}

impl Frame {
    /// The codec payload (an access unit, an audio frame, or a decoder configuration).
    pub fn payload(&self) -> &[u8] {
        let end = self.payload_end.min(self.body.len());
        &self.body[self.payload_offset.min(end)..end]
    }

    /// The codec payload, sharing the body's buffer.
    pub fn payload_bytes(&self) -> Bytes {
        self.body.slice_ref(self.payload())
    }

    /// True for audio and audio config.
    pub fn is_audio(&self) -> bool {
        matches!(self.kind, Kind::Audio | Kind::AudioConfig)
    }

    /// FLV tag type of this frame.
    pub fn tag_type(&self) -> u8 {
        if self.is_audio() {
            TAG_AUDIO
        } else {
            TAG_VIDEO
        }
    }
}

/// Why a tag body was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Shorter than its header says.
    #[error("{kind} tag body of {len} bytes is truncated")]
    Truncated {
        /// "audio" or "video".
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// A classic codec id other than H.264 / HEVC / AAC.
    #[error("unsupported {kind} codec id {id}")]
    UnsupportedCodec {
        /// "audio" or "video".
        kind: &'static str,
        /// The FLV codec id.
        id: u8,
    },
    /// An enhanced-RTMP FourCC Tally does not record (e.g. `vp09`, `fLaC`).
    #[error("unsupported {kind} codec {fourcc:?} (Tally records avc1, hvc1, av01, mp4a and Opus)")]
    UnsupportedFourCc {
        /// "audio" or "video".
        kind: &'static str,
        /// The FourCC as text.
        fourcc: String,
    },
}

/// A bounds-checked reader over a tag body.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    kind: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TagError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or(TagError::Truncated {
            kind: self.kind,
            len: self.b.len(),
        })?;
        let out = &self.b[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, TagError> {
        Ok(self.take(1)?[0])
    }
    fn uint(&mut self, n: usize) -> Result<usize, TagError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0, |acc, &b| (acc << 8) | usize::from(b)))
    }
    /// A signed 24-bit big-endian value (a composition time offset).
    fn si24(&mut self) -> Result<i32, TagError> {
        let raw = self.uint(3)? as u32;
        Ok(((raw << 8) as i32) >> 8)
    }
    /// Skips E-RTMP ModEx entries (sub-millisecond timestamp offsets, which ms timelines do
    /// not use) and returns the packet type that follows them.
    fn skip_mod_ex(&mut self, mut packet_type: u8, mod_ex: u8) -> Result<u8, TagError> {
        while packet_type == mod_ex {
            let mut size = usize::from(self.u8()?) + 1;
            if size == 256 {
                size = self.uint(2)? + 1;
            }
            self.take(size)?;
            packet_type = self.u8()? & 0x0f;
        }
        Ok(packet_type)
    }
    /// A FourCC this crate records.
    fn fourcc(&mut self) -> Result<Codec, TagError> {
        let kind = self.kind;
        let f = self.take(4)?;
        Codec::from_fourcc(f).ok_or_else(|| TagError::UnsupportedFourCc {
            kind,
            fourcc: String::from_utf8_lossy(f).into_owned(),
        })
    }
    /// After the packet type: the multitrack header when `packet_type` is `multitrack` (the
    /// packet type then follows in it), the FourCC, and the first track's size. Returns the
    /// codec, the end of its data and the packet type.
    fn track_header(
        &mut self,
        packet_type: u8,
        multitrack: u8,
    ) -> Result<(Codec, usize, u8), TagError> {
        let (layout, packet_type) = if packet_type == multitrack {
            let b = self.u8()?;
            (Some(b >> 4), b & 0x0f)
        } else {
            (None, packet_type)
        };
        let codec = self.fourcc()?;
        let end = self.track_end(layout)?;
        Ok((codec, end, packet_type))
    }

    /// The end of this track's data: the tag's end, or a multitrack tag's track size.
    fn track_end(&mut self, multitrack: Option<u8>) -> Result<usize, TagError> {
        let Some(layout) = multitrack else {
            return Ok(self.b.len());
        };
        self.u8()?; // track id: the first track is the one recorded, whatever its id
        if layout == ONE_TRACK {
            return Ok(self.b.len());
        }
        let size = self.uint(3)?;
        self.at
            .checked_add(size)
            .filter(|&e| e <= self.b.len())
            .ok_or(TagError::Truncated {
                kind: self.kind,
                len: self.b.len(),
            })
    }
}

/// Multitrack layouts (E-RTMP `AvMultitrackType`).
const ONE_TRACK: u8 = 0;

/// E-RTMP video packet types.
mod video_packet {
    pub const SEQUENCE_START: u8 = 0;
    pub const CODED_FRAMES: u8 = 1;
    pub const CODED_FRAMES_X: u8 = 3;
    pub const METADATA: u8 = 4;
    pub const MULTITRACK: u8 = 6;
    pub const MOD_EX: u8 = 7;
}

/// E-RTMP audio packet types.
mod audio_packet {
    pub const SEQUENCE_START: u8 = 0;
    pub const CODED_FRAMES: u8 = 1;
    pub const MULTITRACK: u8 = 5;
    pub const MOD_EX: u8 = 7;
}

/// FLV video frame types.
const KEY_FRAME: u8 = 1;
const COMMAND_FRAME: u8 = 5;

/// The frame made of a parsed header.
fn frame(
    kind: Kind,
    codec: Codec,
    cts: i32,
    keyframe: bool,
    body: Bytes,
    at: usize,
    end: usize,
) -> Frame {
    Frame {
        kind,
        codec,
        dts: 0,
        cts,
        keyframe,
        body,
        payload_offset: at,
        payload_end: end,
    }
}

/// Parses a video tag body. `Ok(None)` for bodies that carry no frame (end of sequence,
/// video info/command frames, metadata).
pub fn parse_video(body: Bytes) -> Result<Option<Frame>, TagError> {
    match body.first() {
        Some(b) if b & 0x80 != 0 => parse_enhanced_video(body),
        _ => parse_classic_video(body),
    }
}

/// The classic layout: frame type, codec id, AVCPacketType, composition time.
fn parse_classic_video(body: Bytes) -> Result<Option<Frame>, TagError> {
    let len = body.len();
    if len >= 1 && body[0] >> 4 == COMMAND_FRAME {
        return Ok(None);
    }
    if len < 5 {
        return Err(TagError::Truncated { kind: "video", len });
    }
    let codec = match body[0] & 0x0f {
        7 => Codec::H264,
        12 => Codec::H265,
        id => return Err(TagError::UnsupportedCodec { kind: "video", id }),
    };
    let mut r = Reader {
        b: &body,
        at: 2,
        kind: "video",
    };
    let cts = r.si24()?;
    let kind = match body[1] {
        0 => Kind::VideoConfig,
        1 => Kind::Video,
        _ => return Ok(None), // end of sequence
    };
    let cts = if kind == Kind::Video { cts } else { 0 };
    let keyframe = body[0] >> 4 == KEY_FRAME;
    Ok(Some(frame(kind, codec, cts, keyframe, body, 5, len)))
}

/// The E-RTMP layout: `[1 | frame type:3 | packet type:4]`, ModEx entries, an optional
/// multitrack header, the FourCC, then the packet (the first track's, when multitrack).
fn parse_enhanced_video(body: Bytes) -> Result<Option<Frame>, TagError> {
    use video_packet::*;
    let mut r = Reader {
        b: &body,
        at: 1,
        kind: "video",
    };
    let frame_type = (body[0] >> 4) & 7;
    let packet_type = r.skip_mod_ex(body[0] & 0x0f, MOD_EX)?;
    if frame_type == COMMAND_FRAME && packet_type != METADATA {
        return Ok(None);
    }
    let (codec, end, packet_type) = r.track_header(packet_type, MULTITRACK)?;
    let (kind, cts) = match packet_type {
        SEQUENCE_START => (Kind::VideoConfig, 0),
        // Only AVC and HEVC coded frames carry a composition time.
        CODED_FRAMES if matches!(codec, Codec::H264 | Codec::H265) => (Kind::Video, r.si24()?),
        CODED_FRAMES | CODED_FRAMES_X => (Kind::Video, 0),
        _ => return Ok(None), // sequence end, metadata (HDR colour info), MPEG-2 TS start
    };
    if r.at > end {
        return Err(TagError::Truncated {
            kind: "video",
            len: body.len(),
        });
    }
    let keyframe = frame_type == KEY_FRAME;
    let at = r.at;
    Ok(Some(frame(kind, codec, cts, keyframe, body, at, end)))
}

/// Parses an audio tag body. `Ok(None)` for bodies that carry no frame.
pub fn parse_audio(body: Bytes) -> Result<Option<Frame>, TagError> {
    let len = body.len();
    if len < 1 {
        return Err(TagError::Truncated { kind: "audio", len });
    }
    match body[0] >> 4 {
        10 => {
            if len < 2 {
                return Err(TagError::Truncated { kind: "audio", len });
            }
            let kind = if body[1] == 0 {
                Kind::AudioConfig
            } else {
                Kind::Audio
            };
            Ok(Some(frame(kind, Codec::Aac, 0, true, body, 2, len)))
        }
        9 => parse_enhanced_audio(body),
        id => Err(TagError::UnsupportedCodec { kind: "audio", id }),
    }
}

/// The E-RTMP audio layout: `[9:4 | packet type:4]`, ModEx, multitrack, FourCC, packet.
fn parse_enhanced_audio(body: Bytes) -> Result<Option<Frame>, TagError> {
    use audio_packet::*;
    let mut r = Reader {
        b: &body,
        at: 1,
        kind: "audio",
    };
    let packet_type = r.skip_mod_ex(body[0] & 0x0f, MOD_EX)?;
    let (codec, end, packet_type) = r.track_header(packet_type, MULTITRACK)?;
    let kind = match packet_type {
        SEQUENCE_START => Kind::AudioConfig,
        CODED_FRAMES => Kind::Audio,
        _ => return Ok(None), // sequence end, multichannel layout
    };
    let at = r.at;
    Ok(Some(frame(kind, codec, 0, true, body, at, end)))
}

/// Parses a tag body of FLV tag type `tag_type` (8 audio, 9 video; others give `None`).
pub fn parse_tag(tag_type: u8, body: Bytes) -> Result<Option<Frame>, TagError> {
    match tag_type {
        TAG_AUDIO => parse_audio(body),
        TAG_VIDEO => parse_video(body),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(b: &'static [u8]) -> Frame {
        parse_video(Bytes::from_static(b)).unwrap().unwrap()
    }

    #[test]
    fn keyframe_and_composition_offset_are_read() {
        let f = video(&[0x17, 1, 0, 0, 66, 0, 0, 0, 1, 0x65]);
        assert_eq!(
            (f.kind, f.codec, f.keyframe, f.cts),
            (Kind::Video, Codec::H264, true, 66)
        );
        assert_eq!(f.payload(), &[0, 0, 0, 1, 0x65]);
    }

    #[test]
    fn negative_composition_offset_is_sign_extended() {
        let f = video(&[0x27, 1, 0xff, 0xff, 0xdf]);
        assert_eq!((f.keyframe, f.cts), (false, -33));
    }

    #[test]
    fn sequence_headers_are_configs() {
        let v = video(&[0x17, 0, 0, 0, 0, 1, 2]);
        assert_eq!(v.kind, Kind::VideoConfig);
        let a = parse_audio(Bytes::from_static(&[0xaf, 0, 0x12, 0x10]))
            .unwrap()
            .unwrap();
        assert_eq!((a.kind, a.codec), (Kind::AudioConfig, Codec::Aac));
    }

    #[test]
    fn classic_hevc_codec_id_12_is_read() {
        let f = video(&[0x1c, 1, 0, 0, 40, 0, 0, 0, 1, 0x26]);
        assert_eq!((f.codec, f.keyframe, f.cts), (Codec::H265, true, 40));
    }

    #[test]
    fn enhanced_hevc_frames_carry_a_composition_time_and_x_frames_do_not() {
        // KeyFrame | CodedFrames, "hvc1", cts 80, then the payload.
        let f = video(b"\x91hvc1\x00\x00\x50\x00\x00\x00\x01\x26");
        assert_eq!(
            (f.kind, f.codec, f.keyframe, f.cts),
            (Kind::Video, Codec::H265, true, 80)
        );
        assert_eq!(f.payload(), &[0, 0, 0, 1, 0x26]);
        // InterFrame | CodedFramesX: no composition time.
        let f = video(b"\xa3hvc1\x00\x00\x00\x01\x02");
        assert_eq!((f.keyframe, f.cts), (false, 0));
        assert_eq!(f.payload(), &[0, 0, 0, 1, 2]);
    }

    #[test]
    fn enhanced_av1_coded_frames_have_no_composition_time() {
        let f = video(b"\x91av01\x12\x00\x0a");
        assert_eq!((f.codec, f.cts), (Codec::Av1, 0));
        assert_eq!(f.payload(), &[0x12, 0, 0x0a]);
        let c = video(b"\x90av01\x81\x00\x0c\x00");
        assert_eq!(
            (c.kind, c.payload()),
            (Kind::VideoConfig, &[0x81, 0, 0x0c, 0][..])
        );
    }

    #[test]
    fn mod_ex_entries_are_skipped() {
        // ModEx with 3 bytes of nanosecond offset, then (TimestampOffsetNano | CodedFramesX).
        let f = video(b"\x97\x02\x00\x01\x02\x03hvc1\xaa");
        assert_eq!((f.kind, f.payload()), (Kind::Video, &[0xaa][..]));
    }

    #[test]
    fn the_first_track_of_a_multitrack_tag_is_recorded() {
        // Multitrack, ManyTracks | CodedFramesX, "av01", track 0 of 2 bytes, track 1 of 1.
        let f = video(b"\x96\x13av01\x00\x00\x00\x02\xab\xcd\x01\x00\x00\x01\xef");
        assert_eq!((f.codec, f.payload()), (Codec::Av1, &[0xab, 0xcd][..]));
        // OneTrack: no size, the track runs to the end.
        let f = video(b"\x96\x03hvc1\x05\xab");
        assert_eq!(f.payload(), &[0xab]);
        // A track size past the end is an error, not a short frame.
        assert!(parse_video(Bytes::from_static(b"\x96\x13av01\x00\x00\x00\x09\xab")).is_err());
    }

    #[test]
    fn metadata_command_and_end_carry_no_frame() {
        for b in [
            &b"\xd4hvc1\x02\x00"[..],
            b"\xd0",
            b"\xd2hvc1",
            b"\x92hvc1",
            b"\x50\x00",
        ] {
            assert_eq!(parse_video(Bytes::from_static(b)), Ok(None), "{b:x?}");
        }
    }

    #[test]
    fn enhanced_audio_is_read() {
        let a = parse_audio(Bytes::from_static(b"\x90OpusOpusHead"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.kind, a.codec, a.payload()),
            (Kind::AudioConfig, Codec::Opus, &b"OpusHead"[..])
        );
        let a = parse_audio(Bytes::from_static(b"\x91mp4a\x21\x00"))
            .unwrap()
            .unwrap();
        assert_eq!((a.kind, a.codec), (Kind::Audio, Codec::Aac));
        assert_eq!(
            parse_audio(Bytes::from_static(b"\x94Opus\x01\x01")),
            Ok(None)
        );
    }

    #[test]
    fn truncated_and_foreign_codecs_are_errors() {
        assert!(parse_video(Bytes::from_static(&[0x17, 1])).is_err());
        assert!(parse_video(Bytes::from_static(&[0x12, 1, 0, 0, 0])).is_err());
        assert!(parse_video(Bytes::from_static(b"\x91hvc")).is_err());
        assert!(parse_video(Bytes::from_static(b"\x91hvc1\x00")).is_err());
        assert!(parse_video(Bytes::from_static(b"\x97\xff\x00")).is_err());
        assert!(matches!(
            parse_video(Bytes::from_static(b"\x91vp09\x00")),
            Err(TagError::UnsupportedFourCc { .. })
        ));
        assert!(parse_audio(Bytes::from_static(&[0xaf])).is_err());
        assert!(parse_audio(Bytes::from_static(&[0x2f, 1])).is_err());
        assert!(parse_audio(Bytes::from_static(b"\x91fLaC\x00")).is_err());
    }
}
