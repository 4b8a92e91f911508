//! Decoder configurations (H.264 avcC, HEVC hvcC, AV1 av1C, AAC AudioSpecificConfig) and the
//! MP4 sample entries built from them. The avcC walk is hand-written because it is 20 lines
//! over network bytes that we want fuzzed; hvcC and av1C are decoded, and SPS / sequence
//! headers parsed and the sample entries built, by `shiguredo_mp4`.

use bytes::Bytes;
use shiguredo_mp4::bitstream::aac::{self, Mp4aSampleEntryConfig};
use shiguredo_mp4::bitstream::av1::{self, Av1SampleEntryConfig};
use shiguredo_mp4::bitstream::h264::{self, H264SampleEntryConfig, LengthSize};
use shiguredo_mp4::bitstream::h265::{self, H265ConstantFrameRate, H265SampleEntryConfig};
use shiguredo_mp4::bitstream::opus;
use shiguredo_mp4::boxes::{Av1cBox, HvccBox, SampleEntry};
use shiguredo_mp4::Decode;

use crate::frame::{Codec, Frame, Kind};

/// Video decoder configuration.
#[derive(Debug, Clone)]
pub struct VideoConfig {
    /// H.264, HEVC or AV1.
    pub codec: Codec,
    /// The configuration's FLV tag body as received (classic or enhanced layout): FLV
    /// segments start with it.
    pub tag: Bytes,
    /// The decoder configuration record (avcC, hvcC or av1C).
    pub record: Bytes,
    /// Parameter sets in decoding order (H.264: SPS, PPS; HEVC: VPS, SPS, PPS), NAL units
    /// without start codes; repeated before TS keyframes. Empty for AV1.
    pub parameter_sets: Vec<Vec<u8>>,
    /// NAL length prefix size in bytes (1, 2 or 4); 0 for AV1.
    pub nal_length_size: usize,
    /// Coded width after cropping.
    pub width: u32,
    /// Coded height after cropping.
    pub height: u32,
    /// The MP4 `avc1` sample entry.
    pub sample_entry: SampleEntry,
}

/// Audio decoder configuration (AAC, or Opus from enhanced RTMP).
#[derive(Debug, Clone)]
pub struct AudioConfig {
    /// AAC or Opus.
    pub codec: Codec,
    /// The configuration's FLV tag body as received.
    pub tag: Bytes,
    /// The AudioSpecificConfig (AAC) or OpusHead (Opus) as received.
    pub record: Bytes,
    /// Sampling rate, Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// The MP4 `mp4a` sample entry.
    pub sample_entry: SampleEntry,
}

/// Why a decoder configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad {what} decoder configuration: {detail}")]
pub struct ConfigError {
    /// "avcC", "hvcC", "av1C", "AudioSpecificConfig" or the codec.
    pub what: &'static str,
    /// Details.
    pub detail: String,
}

fn avc_err(detail: impl Into<String>) -> ConfigError {
    ConfigError {
        what: "avcC",
        detail: detail.into(),
    }
}

/// NAL length size, SPS list and PPS list of an avcC.
pub type AvccLists = (usize, Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Walks an AVCDecoderConfigurationRecord: (length size, SPS list, PPS list).
pub fn parse_avcc(record: &[u8]) -> Result<AvccLists, ConfigError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], ConfigError> {
        if b.len() < n {
            return Err(avc_err(format!("needs {n} more bytes, {} left", b.len())));
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    fn list(b: &mut &[u8], count: usize) -> Result<Vec<Vec<u8>>, ConfigError> {
        (0..count)
            .map(|_| {
                let len = take(b, 2)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                Ok(take(b, len)?.to_vec())
            })
            .collect()
    }
    let mut b = record;
    let head = take(&mut b, 6)?;
    if head[0] != 1 {
        return Err(avc_err(format!(
            "configurationVersion {} is not 1",
            head[0]
        )));
    }
    let length_size = usize::from(head[4] & 3) + 1;
    if length_size == 3 {
        return Err(avc_err("NAL length size 3 is invalid"));
    }
    let sps = list(&mut b, usize::from(head[5] & 0x1f))?;
    let pps_count = usize::from(take(&mut b, 1)?[0]);
    let pps = list(&mut b, pps_count)?;
    Ok((length_size, sps, pps))
}

impl VideoConfig {
    /// Builds the configuration from a video sequence header frame.
    pub fn from_frame(frame: &Frame) -> Result<Self, ConfigError> {
        let record = frame.payload_bytes();
        let (parameter_sets, nal_length_size, sample_entry) = match frame.codec {
            Codec::H264 => avc(&record)?,
            Codec::H265 => hevc(&record)?,
            Codec::Av1 => (Vec::new(), 0, av1(&record)?),
            other => {
                return Err(ConfigError {
                    what: other.name(),
                    detail: "not a video codec".into(),
                })
            }
        };
        let (width, height) = dimensions(&sample_entry).unwrap_or_default();
        Ok(VideoConfig {
            codec: frame.codec,
            tag: frame.body.clone(),
            record,
            parameter_sets,
            nal_length_size,
            width,
            height,
            sample_entry,
        })
    }

    /// The H.264 profile_idc (from the SPS), when the stream is H.264.
    pub fn h264_profile(&self) -> Option<u8> {
        let sps = self
            .parameter_sets
            .first()
            .filter(|_| self.codec == Codec::H264)?;
        sps.get(1).copied()
    }
}

/// Coded width and height of a video sample entry.
pub fn dimensions(entry: &SampleEntry) -> Option<(u32, u32)> {
    let visual = match entry {
        SampleEntry::Avc1(b) => &b.visual,
        SampleEntry::Hvc1(b) => &b.visual,
        SampleEntry::Av01(b) => &b.visual,
        _ => return None,
    };
    Some((u32::from(visual.width), u32::from(visual.height)))
}

fn length_size(bytes: usize) -> LengthSize {
    match bytes {
        1 => LengthSize::OneByte,
        2 => LengthSize::TwoBytes,
        _ => LengthSize::FourBytes,
    }
}

/// Parameter sets, NAL length size and `avc1` entry of an avcC.
fn avc(record: &[u8]) -> Result<(Vec<Vec<u8>>, usize, SampleEntry), ConfigError> {
    let (nal_length_size, sps, pps) = parse_avcc(record)?;
    sps.first().ok_or_else(|| avc_err("no SPS"))?;
    let config = H264SampleEntryConfig {
        length_size: length_size(nal_length_size),
    };
    let avc1 = h264::build_avc1_box(&sps, &pps, &config).map_err(|e| avc_err(e.to_string()))?;
    Ok((
        [sps, pps].concat(),
        nal_length_size,
        SampleEntry::Avc1(avc1),
    ))
}

/// A box of type `name` around `payload`, for decoding a bare record with the box decoder.
fn boxed(name: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = (8 + payload.len()) as u32;
    [&size.to_be_bytes()[..], name, payload].concat()
}

/// Parameter sets, NAL length size and `hvc1` entry of an HEVCDecoderConfigurationRecord.
fn hevc(record: &[u8]) -> Result<(Vec<Vec<u8>>, usize, SampleEntry), ConfigError> {
    let err = |e: shiguredo_mp4::Error| ConfigError {
        what: "hvcC",
        detail: e.to_string(),
    };
    let (hvcc, _) = HvccBox::decode(&boxed(b"hvcC", record)).map_err(err)?;
    let of_type = |t: u8| -> Vec<Vec<u8>> {
        let arrays = hvcc.nalu_arrays.iter();
        let arrays = arrays.filter(|a| a.nal_unit_type.get() == t);
        arrays.flat_map(|a| a.nalus.iter().cloned()).collect()
    };
    let (vps, sps, pps) = (of_type(32), of_type(33), of_type(34));
    let nal_length_size = usize::from(hvcc.length_size_minus_one.get()) + 1;
    let config = H265SampleEntryConfig {
        length_size: length_size(nal_length_size),
        avg_frame_rate: H265SampleEntryConfig::AVG_FRAME_RATE_UNSPECIFIED,
        constant_frame_rate: H265ConstantFrameRate::Unknown,
    };
    let hvc1 = h265::build_hvc1_box(&vps, &sps, &pps, &config).map_err(err)?;
    Ok((
        [vps, sps, pps].concat(),
        nal_length_size,
        SampleEntry::Hvc1(hvc1),
    ))
}

/// The `av01` entry of an AV1CodecConfigurationRecord (its configOBUs must hold the sequence
/// header, as every encoder's do: the dimensions come from it).
fn av1(record: &[u8]) -> Result<SampleEntry, ConfigError> {
    let err = |e: shiguredo_mp4::Error| ConfigError {
        what: "av1C",
        detail: e.to_string(),
    };
    let (av1c, _) = Av1cBox::decode(&boxed(b"av1C", record)).map_err(err)?;
    let config = Av1SampleEntryConfig {
        initial_presentation_delay_minus_one: av1c
            .initial_presentation_delay_minus_one
            .map(|d| d.get()),
    };
    let av01 = av1::build_av01_box_from_config_obus(&av1c.config_obus, &config).map_err(err)?;
    Ok(SampleEntry::Av01(av01))
}

impl AudioConfig {
    /// Builds the configuration from an audio sequence header frame.
    pub fn from_frame(frame: &Frame) -> Result<Self, ConfigError> {
        let mut config = match frame.codec {
            Codec::Aac => Self::from_record(frame.payload_bytes())?,
            Codec::Opus => Self::from_opus_head(frame.payload_bytes())?,
            other => {
                return Err(ConfigError {
                    what: other.name(),
                    detail: "not an audio codec".into(),
                })
            }
        };
        config.tag = frame.body.clone();
        Ok(config)
    }

    /// Builds the configuration from an OpusHead (RFC 7845 §5.1): 8 bytes of magic, version,
    /// channel count, pre-skip (LE), input rate (LE), gain (LE), mapping family. Hand-read:
    /// `shiguredo_mp4` builds the `Opus` / `dOps` entry but does not parse OpusHead.
    pub fn from_opus_head(record: Bytes) -> Result<Self, ConfigError> {
        let err = |detail: &str| ConfigError {
            what: "OpusHead",
            detail: detail.into(),
        };
        if record.len() < 19 || &record[..8] != b"OpusHead" {
            return Err(err("not an OpusHead of at least 19 bytes"));
        }
        let channel_count = match (record[9], record[18]) {
            (1, 0) => opus::ChannelCount::Mono,
            (2, 0) => opus::ChannelCount::Stereo,
            (n, family) => {
                return Err(err(&format!(
                    "{n} channels in mapping family {family}: mono and stereo are recorded"
                )))
            }
        };
        let opus = opus::build_opus_box(&opus::OpusSampleEntryConfig {
            channel_count,
            pre_skip: u16::from_le_bytes([record[10], record[11]]),
            input_sample_rate: u32::from_le_bytes([record[12], record[13], record[14], record[15]]),
            output_gain: i16::from_le_bytes([record[16], record[17]]),
        });
        Ok(AudioConfig {
            codec: Codec::Opus,
            tag: Bytes::new(),
            channels: u16::from(channel_count.as_u8()),
            sample_rate: OPUS_RATE,
            record,
            sample_entry: SampleEntry::Opus(opus),
        })
    }

    /// Samples (at `sample_rate`) of one audio frame: 1024 for AAC; for Opus, what its TOC
    /// byte says (RFC 6716 §3.1), 20 ms when it cannot be read.
    pub fn frame_samples(&self, frame: &[u8]) -> u32 {
        match self.codec {
            Codec::Opus => opus_packet_samples(frame).unwrap_or(OPUS_RATE / 50),
            _ => AAC_FRAME_SAMPLES,
        }
    }

    /// Builds the configuration from an AAC AudioSpecificConfig.
    pub fn from_record(record: Bytes) -> Result<Self, ConfigError> {
        let err = |e: shiguredo_mp4::Error| ConfigError {
            what: "AudioSpecificConfig",
            detail: e.to_string(),
        };
        // Encoders often pad the ASC (e.g. with a 0x56e5 SBR sync extension); only the first
        // two bytes matter for AAC-LC.
        let asc = aac::parse_audio_specific_config(&record)
            .or_else(|e| {
                record
                    .get(..2)
                    .ok_or(e.clone())
                    .and_then(aac::parse_audio_specific_config)
                    .map_err(|_| e)
            })
            .map_err(err)?;
        let mp4a = aac::build_mp4a_box(
            &asc,
            &Mp4aSampleEntryConfig {
                es_id: 1,
                buffer_size_db: 0,
                max_bitrate: 0,
                avg_bitrate: 0,
            },
        )
        .map_err(err)?;
        Ok(AudioConfig {
            codec: Codec::Aac,
            tag: [&[0xaf, 0][..], &record].concat().into(),
            sample_rate: asc.sampling_frequency.hz(),
            channels: asc.channel_configuration.channel_count(),
            record,
            sample_entry: SampleEntry::Mp4a(mp4a),
        })
    }
}

/// The decoder configurations of a stream, as far as known.
#[derive(Debug, Clone, Default)]
pub struct Codecs {
    /// H.264 configuration, once the sequence header arrived.
    pub video: Option<VideoConfig>,
    /// AAC configuration, once the sequence header arrived.
    pub audio: Option<AudioConfig>,
}

impl Codecs {
    /// "h264", "hevc" or "av1" when video is configured.
    pub fn video_name(&self) -> Option<String> {
        self.video.as_ref().map(|v| v.codec.name().to_string())
    }
    /// The configured codec of a frame's track (video or audio), when it has one.
    pub fn configured(&self, kind: Kind) -> Option<Codec> {
        match kind {
            Kind::Video | Kind::VideoConfig => self.video.as_ref().map(|v| v.codec),
            Kind::Audio | Kind::AudioConfig => self.audio.as_ref().map(|a| a.codec),
        }
    }

    /// "aac" or "opus" when audio is configured.
    pub fn audio_name(&self) -> Option<String> {
        self.audio.as_ref().map(|a| a.codec.name().to_string())
    }
}

/// Samples per AAC frame.
const AAC_FRAME_SAMPLES: u32 = 1024;
/// AAC sampling frequencies by `samplingFrequencyIndex` (ISO/IEC 14496-3), as ADTS headers
/// give them.
pub const AAC_SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];
/// Opus always decodes at 48 kHz; its MP4 timescale.
const OPUS_RATE: u32 = 48_000;

/// Samples at 48 kHz of an Opus packet from its TOC byte and, for code 3, its frame count.
fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame sizes in units of 2.5 ms: SILK 10/20/40/60 ms, hybrid 10/20, CELT 2.5/5/10/20.
    let quarter_ms: u32 = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    Some(quarter_ms * 120 * frames) // 2.5 ms = 120 samples at 48 kHz
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opus_head_gives_a_48_khz_opus_entry() {
        let mut head = b"OpusHead".to_vec();
        head.extend([1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let a = AudioConfig::from_opus_head(Bytes::from(head.clone())).unwrap();
        assert_eq!(
            (a.codec, a.sample_rate, a.channels),
            (Codec::Opus, 48_000, 2)
        );
        assert!(matches!(a.sample_entry, SampleEntry::Opus(_)));
        head[9] = 6; // 5.1 needs a channel mapping table
        assert!(AudioConfig::from_opus_head(Bytes::from(head)).is_err());
        assert!(AudioConfig::from_opus_head(Bytes::from_static(b"OpusHea")).is_err());
    }

    #[test]
    fn opus_packet_durations_come_from_the_toc() {
        assert_eq!(
            opus_packet_samples(&[0xfc]),
            Some(960),
            "CELT 20 ms, one frame"
        );
        assert_eq!(
            opus_packet_samples(&[0x08 | 1]),
            Some(1920),
            "SILK 20 ms, two frames"
        );
        assert_eq!(
            opus_packet_samples(&[0x83, 3]),
            Some(360),
            "CELT 2.5 ms, three frames"
        );
        assert_eq!(
            opus_packet_samples(&[0x03]),
            None,
            "code 3 without its count byte"
        );
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn avcc_lists_are_read() {
        let rec = [
            1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 0x64, 1, 0, 1, 0x68,
        ];
        let (len, sps, pps) = parse_avcc(&rec).unwrap();
        assert_eq!(
            (len, sps, pps),
            (4, vec![vec![0x67, 0x64]], vec![vec![0x68]])
        );
    }

    #[test]
    fn avcc_with_lying_lengths_is_rejected() {
        assert!(parse_avcc(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 200, 0x67]).is_err());
        assert!(parse_avcc(&[1, 2, 3]).is_err());
        assert!(parse_avcc(&[]).is_err());
    }

    #[test]
    fn aac_lc_stereo_48k_config_is_understood() {
        let a = AudioConfig::from_record(Bytes::from_static(&[0x11, 0x90])).unwrap();
        assert_eq!((a.sample_rate, a.channels), (48_000, 2));
    }
}
