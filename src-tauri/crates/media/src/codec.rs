//! Decoder configurations (H.264 avcC, AAC AudioSpecificConfig) and the MP4 sample entries
//! built from them. The avcC walk is hand-written because it is 20 lines over network bytes
//! that we want fuzzed; the SPS parse and the sample entries come from `shiguredo_mp4`.

use bytes::Bytes;
use shiguredo_mp4::bitstream::aac::{self, AudioSpecificConfig, Mp4aSampleEntryConfig};
use shiguredo_mp4::bitstream::h264::{self, H264SampleEntryConfig, LengthSize};
use shiguredo_mp4::boxes::SampleEntry;

/// H.264 decoder configuration.
#[derive(Debug, Clone)]
pub struct VideoConfig {
    /// The AVCDecoderConfigurationRecord as received.
    pub record: Bytes,
    /// Sequence parameter sets (NAL units without start codes).
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
    /// NAL length prefix size in bytes (1, 2 or 4).
    pub nal_length_size: usize,
    /// Coded width after cropping.
    pub width: u32,
    /// Coded height after cropping.
    pub height: u32,
    /// The MP4 `avc1` sample entry.
    pub sample_entry: SampleEntry,
}

/// AAC decoder configuration.
#[derive(Debug, Clone)]
pub struct AudioConfig {
    /// The AudioSpecificConfig as received.
    pub record: Bytes,
    /// Parsed form (used for ADTS headers).
    pub asc: AudioSpecificConfig,
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
    /// "avcC" or "AudioSpecificConfig".
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
    /// Builds the configuration from an AVC sequence header payload.
    pub fn from_record(record: Bytes) -> Result<Self, ConfigError> {
        let (nal_length_size, sps, pps) = parse_avcc(&record)?;
        let first = sps.first().ok_or_else(|| avc_err("no SPS"))?;
        let parsed = h264::parse_sps(first).map_err(|e| avc_err(e.to_string()))?;
        let length_size = match nal_length_size {
            1 => LengthSize::OneByte,
            2 => LengthSize::TwoBytes,
            _ => LengthSize::FourBytes,
        };
        let avc1 = h264::build_avc1_box(&sps, &pps, &H264SampleEntryConfig { length_size })
            .map_err(|e| avc_err(e.to_string()))?;
        Ok(VideoConfig {
            record,
            sps,
            pps,
            nal_length_size,
            width: u32::from(parsed.width),
            height: u32::from(parsed.height),
            sample_entry: SampleEntry::Avc1(avc1),
        })
    }
}

impl AudioConfig {
    /// Builds the configuration from an AAC sequence header payload.
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
            sample_rate: asc.sampling_frequency.hz(),
            channels: asc.channel_configuration.channel_count(),
            asc,
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
    /// "h264" when video is configured.
    pub fn video_name(&self) -> Option<String> {
        self.video.as_ref().map(|_| "h264".to_string())
    }
    /// "aac" when audio is configured.
    pub fn audio_name(&self) -> Option<String> {
        self.audio.as_ref().map(|_| "aac".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
