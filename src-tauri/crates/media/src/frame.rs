//! Media frames as they come out of RTMP: FLV audio/video tag bodies, parsed just enough to
//! know the codec, the keyframes and the decoder configuration. I/O-free, so fuzzable.

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
    /// An H.264 access unit (AVCC, length-prefixed NAL units).
    Video,
    /// A raw AAC frame.
    Audio,
    /// AVCDecoderConfigurationRecord.
    VideoConfig,
    /// AudioSpecificConfig.
    AudioConfig,
}

/// One media frame. `body` is the whole FLV tag body (what FLV files store); `payload_offset`
/// says where the codec payload starts inside it, so no copy is made for MP4/TS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What it is.
    pub kind: Kind,
    /// Decode time on the publish timeline, ms (set by the stream actor).
    pub dts: u64,
    /// Composition offset (PTS - DTS), ms; 0 for audio.
    pub cts: i32,
    /// True for video keyframes (IDR); true for every audio frame.
    pub keyframe: bool,
    /// The FLV tag body.
    pub body: Bytes,
    /// Offset of the codec payload in `body`.
    pub payload_offset: usize,
}

impl Frame {
    /// The codec payload (AVCC access unit, raw AAC, or a decoder configuration).
    pub fn payload(&self) -> &[u8] {
        &self.body[self.payload_offset.min(self.body.len())..]
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
    /// Shorter than its fixed header.
    #[error("{kind} tag body of {len} bytes is truncated")]
    Truncated {
        /// "audio" or "video".
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// A codec other than H.264 / AAC.
    #[error("unsupported {kind} codec id {id}")]
    UnsupportedCodec {
        /// "audio" or "video".
        kind: &'static str,
        /// The FLV codec id.
        id: u8,
    },
}

/// Parses a video tag body. `Ok(None)` for bodies that carry no frame (end of sequence,
/// video info/command frames).
pub fn parse_video(body: Bytes) -> Result<Option<Frame>, TagError> {
    let len = body.len();
    if len < 5 {
        if len >= 1 && body[0] >> 4 == 5 {
            return Ok(None); // video info/command frame
        }
        return Err(TagError::Truncated { kind: "video", len });
    }
    let frame_type = body[0] >> 4;
    let codec = body[0] & 0x0f;
    if frame_type == 5 {
        return Ok(None);
    }
    if codec != 7 {
        return Err(TagError::UnsupportedCodec {
            kind: "video",
            id: codec,
        });
    }
    // Composition time is a signed 24-bit big-endian value.
    let raw = (u32::from(body[2]) << 16) | (u32::from(body[3]) << 8) | u32::from(body[4]);
    let cts = ((raw << 8) as i32) >> 8;
    let kind = match body[1] {
        0 => Kind::VideoConfig,
        1 => Kind::Video,
        _ => return Ok(None), // end of sequence
    };
    Ok(Some(Frame {
        kind,
        dts: 0,
        cts: if kind == Kind::Video { cts } else { 0 },
        keyframe: frame_type == 1,
        body,
        payload_offset: 5,
    }))
}

/// Parses an audio tag body.
pub fn parse_audio(body: Bytes) -> Result<Option<Frame>, TagError> {
    let len = body.len();
    if len < 2 {
        return Err(TagError::Truncated { kind: "audio", len });
    }
    let format = body[0] >> 4;
    if format != 10 {
        return Err(TagError::UnsupportedCodec {
            kind: "audio",
            id: format,
        });
    }
    let kind = if body[1] == 0 {
        Kind::AudioConfig
    } else {
        Kind::Audio
    };
    Ok(Some(Frame {
        kind,
        dts: 0,
        cts: 0,
        keyframe: true,
        body,
        payload_offset: 2,
    }))
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

    #[test]
    fn keyframe_and_composition_offset_are_read() {
        let f = parse_video(Bytes::from_static(&[0x17, 1, 0, 0, 66, 0, 0, 0, 1, 0x65]))
            .unwrap()
            .unwrap();
        assert_eq!((f.kind, f.keyframe, f.cts), (Kind::Video, true, 66));
        assert_eq!(f.payload(), &[0, 0, 0, 1, 0x65]);
    }

    #[test]
    fn negative_composition_offset_is_sign_extended() {
        let f = parse_video(Bytes::from_static(&[0x27, 1, 0xff, 0xff, 0xdf]))
            .unwrap()
            .unwrap();
        assert_eq!((f.keyframe, f.cts), (false, -33));
    }

    #[test]
    fn sequence_headers_are_configs() {
        let v = parse_video(Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 2]))
            .unwrap()
            .unwrap();
        assert_eq!(v.kind, Kind::VideoConfig);
        let a = parse_audio(Bytes::from_static(&[0xaf, 0, 0x12, 0x10]))
            .unwrap()
            .unwrap();
        assert_eq!(a.kind, Kind::AudioConfig);
    }

    #[test]
    fn truncated_and_foreign_codecs_are_errors() {
        assert!(parse_video(Bytes::from_static(&[0x17, 1])).is_err());
        assert!(parse_video(Bytes::from_static(&[0x12, 1, 0, 0, 0])).is_err());
        assert!(parse_audio(Bytes::from_static(&[0xaf])).is_err());
        assert!(parse_audio(Bytes::from_static(&[0x2f, 1])).is_err());
    }
}
