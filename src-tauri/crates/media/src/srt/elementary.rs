//! PES → FLV tag bodies: what an SRT publisher sends, in the shape an RTMP one sends it, so the
//! rest of the pipeline (frame parsing, every writer, posters, stats) is the same for both.
//!
//! - H.264: Annex B → 4-byte length prefixes; SPS / PPS go into an avcC, sent as a sequence
//!   header whenever they change; AUDs are dropped (MP4 and FLV carry none).
//! - HEVC: the same with VPS / SPS / PPS and an hvcC, as enhanced-RTMP `hvc1` tags.
//! - AAC: each ADTS frame becomes a raw frame; its header gives the AudioSpecificConfig.
//!
//! NAL splitting, SPS parsing, the avcC / hvcC records and ADTS parsing are `shiguredo_mp4`'s.

use bytes::{BufMut, Bytes, BytesMut};
use shiguredo_mp4::bitstream::{aac, h264, h265};
use shiguredo_mp4::Encode;

use super::demux::{EsKind, Pes};
use crate::codec::AAC_SAMPLE_RATES;
use crate::frame::{TAG_AUDIO, TAG_VIDEO};

/// One FLV tag body and its timestamp, ms on the publish's 33-bit-unwrapped timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// 8 audio, 9 video.
    pub tag_type: u8,
    /// The body, as an RTMP publisher would send it.
    pub body: Bytes,
    /// Decode time, ms.
    pub ts: u32,
    /// A sequence header (decoder configuration) rather than a frame.
    pub config: bool,
}

/// Why an elementary stream packet was not turned into tags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad {what} in the transport stream: {detail}")]
pub struct EsError {
    /// "H.264", "HEVC" or "ADTS".
    pub what: &'static str,
    /// The parser's message.
    pub detail: String,
}

fn es_err(what: &'static str) -> impl Fn(shiguredo_mp4::Error) -> EsError {
    move |e| EsError {
        what,
        detail: e.to_string(),
    }
}

/// The converter of one publish: the current parameter sets and the timeline.
#[derive(Default)]
pub struct Elementary {
    /// The parameter sets of the last sequence header sent, per video codec.
    video_config: Option<Vec<Vec<u8>>>,
    /// The last AudioSpecificConfig sent.
    audio_config: Option<[u8; 2]>,
    /// 33-bit timestamps unwrapped: the last one seen and its 64-bit value.
    last: Option<(u64, i64)>,
    /// The first decode time, which becomes 0.
    base: Option<i64>,
}

/// 90 kHz ticks of a 33-bit wrap.
const WRAP: i64 = 1 << 33;

impl Elementary {
    /// The tags of one PES packet.
    pub fn tags(&mut self, pes: &Pes) -> Result<Vec<Tag>, EsError> {
        let dts = self.unwrap(pes.dts);
        let pts = dts
            + (pes.pts as i64 - pes.dts as i64)
                .rem_euclid(WRAP)
                .min(90_000 * 10);
        let base = *self.base.get_or_insert(dts);
        let ms = |t: i64| ((t - base).max(0) / 90) as u32;
        let cts = ((pts - dts) / 90) as i32;
        match pes.kind {
            EsKind::H264 => self.video(&pes.data, false, ms(dts), cts),
            EsKind::H265 => self.video(&pes.data, true, ms(dts), cts),
            EsKind::Aac => self.audio(&pes.data, dts - base),
        }
    }

    /// The 64-bit value of a 33-bit timestamp, taking the nearer of the wraps around the last.
    fn unwrap(&mut self, t: u64) -> i64 {
        let value = match self.last {
            None => t as i64,
            Some((raw, value)) => {
                let mut delta = (t as i64 - raw as i64).rem_euclid(WRAP);
                if delta > WRAP / 2 {
                    delta -= WRAP;
                }
                value + delta
            }
        };
        self.last = Some((t, value));
        value
    }

    fn video(&mut self, au: &[u8], hevc: bool, ts: u32, cts: i32) -> Result<Vec<Tag>, EsError> {
        let what = if hevc { "HEVC" } else { "H.264" };
        let nals = nal_units(au, hevc).map_err(es_err(what))?;
        let mut params: Vec<Vec<u8>> = Vec::new();
        let mut keyframe = false;
        let mut payload = BytesMut::with_capacity(au.len() + 16);
        for (kind, nal) in nals {
            match kind {
                NalKind::ParameterSet => params.push(nal.to_vec()),
                NalKind::Delimiter => {}
                NalKind::Slice { key } => {
                    keyframe |= key;
                    payload.put_u32(nal.len() as u32);
                    payload.put_slice(nal);
                }
                NalKind::Other => {
                    payload.put_u32(nal.len() as u32);
                    payload.put_slice(nal);
                }
            }
        }
        let mut tags = Vec::new();
        if !params.is_empty() && self.video_config.as_ref() != Some(&params) {
            let record = video_record(&params, hevc).map_err(es_err(what))?;
            tags.push(Tag {
                tag_type: TAG_VIDEO,
                body: video_body(hevc, true, Packet::Config, 0, &record),
                ts,
                config: true,
            });
            self.video_config = Some(params);
        }
        if self.video_config.is_none() || payload.is_empty() {
            return Ok(tags); // nothing decodable before the first parameter sets
        }
        tags.push(Tag {
            tag_type: TAG_VIDEO,
            body: video_body(hevc, keyframe, Packet::Frame, cts, &payload),
            ts,
            config: false,
        });
        Ok(tags)
    }

    /// Each ADTS frame of the PES, 1024 samples apart from `dts` (90 kHz, from the base).
    fn audio(&mut self, mut data: &[u8], dts: i64) -> Result<Vec<Tag>, EsError> {
        let mut tags = Vec::new();
        let mut samples = 0i64;
        while !data.is_empty() {
            let (header, raw) = aac::parse_adts_frame(data).map_err(es_err("ADTS"))?;
            let asc = audio_specific_config(&header);
            let rate = i64::from(AAC_SAMPLE_RATES[usize::from(header.sampling_frequency_index)]);
            let ts = ((dts.max(0) + samples * 90_000 / rate) / 90) as u32;
            if self.audio_config != Some(asc) {
                tags.push(Tag {
                    tag_type: TAG_AUDIO,
                    body: [&[0xaf, 0][..], &asc].concat().into(),
                    ts,
                    config: true,
                });
                self.audio_config = Some(asc);
            }
            tags.push(Tag {
                tag_type: TAG_AUDIO,
                body: [&[0xaf, 1][..], raw].concat().into(),
                ts,
                config: false,
            });
            samples += 1024;
            data = &data[usize::from(header.frame_length).min(data.len())..];
        }
        Ok(tags)
    }
}

/// The two-byte AAC-LC AudioSpecificConfig of an ADTS header (object type 2).
fn audio_specific_config(h: &aac::AdtsHeader) -> [u8; 2] {
    let channels = u16::from(h.channel_configuration.as_u8());
    let v: u16 = (2 << 11) | (u16::from(h.sampling_frequency_index) << 7) | (channels << 3);
    v.to_be_bytes()
}

/// What a NAL unit is to the recorder.
enum NalKind {
    ParameterSet,
    Delimiter,
    Slice { key: bool },
    Other,
}

/// The NAL units of an Annex B access unit, classified.
fn nal_units(au: &[u8], hevc: bool) -> Result<Vec<(NalKind, &[u8])>, shiguredo_mp4::Error> {
    if hevc {
        use h265::H265NalUnitType as T;
        Ok(h265::parse_annexb_nal_units(au)?
            .into_iter()
            .map(|n| {
                let kind = match n.nal_unit_type {
                    T::Vps | T::Sps | T::Pps => NalKind::ParameterSet,
                    T::Aud => NalKind::Delimiter,
                    // VCL types 0..=31; 16..=23 are IRAP pictures (BLA, IDR, CRA).
                    T::Other(t @ 16..=23) => NalKind::Slice { key: t <= 21 },
                    T::Other(0..=31) => NalKind::Slice { key: false },
                    _ => NalKind::Other,
                };
                (kind, n.data)
            })
            .collect())
    } else {
        use h264::H264NalUnitType as T;
        Ok(h264::parse_annexb_nal_units(au)?
            .into_iter()
            .map(|n| {
                let kind = match n.nal_unit_type {
                    T::Sps | T::Pps => NalKind::ParameterSet,
                    T::Aud => NalKind::Delimiter,
                    T::IdrSlice => NalKind::Slice { key: true },
                    T::NonIdrSlice => NalKind::Slice { key: false },
                    _ => NalKind::Other,
                };
                (kind, n.data)
            })
            .collect())
    }
}

/// The avcC or hvcC record of a set of parameter sets (in the order they came).
fn video_record(params: &[Vec<u8>], hevc: bool) -> Result<Vec<u8>, shiguredo_mp4::Error> {
    let encoded = if hevc {
        let of = |t: u8| -> Vec<Vec<u8>> {
            params
                .iter()
                .filter(|p| p.first().map(|b| (b >> 1) & 0x3f) == Some(t))
                .cloned()
                .collect()
        };
        let config = h265::H265SampleEntryConfig {
            length_size: h264::LengthSize::FourBytes,
            avg_frame_rate: h265::H265SampleEntryConfig::AVG_FRAME_RATE_UNSPECIFIED,
            constant_frame_rate: h265::H265ConstantFrameRate::Unknown,
        };
        h265::build_hvc1_box(&of(32), &of(33), &of(34), &config)?
            .hvcc_box
            .encode_to_vec()?
    } else {
        let of = |t: u8| -> Vec<Vec<u8>> {
            params
                .iter()
                .filter(|p| p.first().map(|b| b & 0x1f) == Some(t))
                .cloned()
                .collect()
        };
        let config = h264::H264SampleEntryConfig {
            length_size: h264::LengthSize::FourBytes,
        };
        h264::build_avc1_box(&of(7), &of(8), &config)?
            .avcc_box
            .encode_to_vec()?
    };
    // The box without its 8-byte header is the record.
    Ok(encoded[8..].to_vec())
}

enum Packet {
    Config,
    Frame,
}

/// A video tag body: classic for H.264, enhanced RTMP (`hvc1` FourCC) for HEVC.
fn video_body(hevc: bool, keyframe: bool, packet: Packet, cts: i32, payload: &[u8]) -> Bytes {
    let frame_type: u8 = if keyframe { 1 } else { 2 };
    let mut b = BytesMut::with_capacity(payload.len() + 8);
    let cts = &cts.to_be_bytes()[1..];
    match (hevc, packet) {
        (false, Packet::Config) => b.put_slice(&[0x17, 0, 0, 0, 0]),
        (false, Packet::Frame) => {
            b.put_slice(&[(frame_type << 4) | 7, 1]);
            b.put_slice(cts);
        }
        (true, Packet::Config) => b.put_slice(&[0x80 | (1 << 4), b'h', b'v', b'c', b'1']),
        (true, Packet::Frame) => {
            b.put_slice(&[0x80 | (frame_type << 4) | 1, b'h', b'v', b'c', b'1']);
            b.put_slice(cts);
        }
    }
    b.put_slice(payload);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{parse_avcc, AudioConfig, VideoConfig};
    use crate::flv::reader::{parse_header, parse_tag};
    use crate::frame::{self, Codec, Kind};

    /// The SPS and PPS of the bundled clip.
    fn clip_parameter_sets() -> (Vec<u8>, Vec<u8>) {
        let clip = crate::replay::SAMPLE_CLIP;
        let mut pos = parse_header(clip).unwrap();
        while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
            if tag.tag_type == TAG_VIDEO && tag.body[1] == 0 {
                let (_, sps, pps) = parse_avcc(&tag.body[5..]).unwrap();
                return (sps[0].clone(), pps[0].clone());
            }
            pos += n;
        }
        panic!("the clip has a sequence header")
    }

    fn annexb(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
            .collect()
    }

    fn pes(kind: EsKind, pts: u64, dts: u64, data: Vec<u8>) -> Pes {
        Pes {
            kind,
            pts,
            dts,
            data,
        }
    }

    #[test]
    fn h264_access_units_become_a_sequence_header_and_avcc_frames() {
        let (sps, pps) = clip_parameter_sets();
        let idr: &[u8] = &[0x65, 0x88, 0x84, 0x21];
        let inter: &[u8] = &[0x41, 0x9a, 0x02];
        let mut es = Elementary::default();
        let key = es
            .tags(&pes(
                EsKind::H264,
                93_600,
                90_000,
                annexb(&[&[0x09, 0xf0], &sps, &pps, idr]),
            ))
            .unwrap();
        assert_eq!(key.len(), 2, "a sequence header, then the keyframe");
        let config = frame::parse_tag(TAG_VIDEO, key[0].body.clone())
            .unwrap()
            .unwrap();
        assert_eq!(
            (config.kind, config.codec),
            (Kind::VideoConfig, Codec::H264)
        );
        let v = VideoConfig::from_frame(&config).unwrap();
        assert_eq!(v.parameter_sets, vec![sps.clone(), pps.clone()]);
        let frame = frame::parse_tag(TAG_VIDEO, key[1].body.clone())
            .unwrap()
            .unwrap();
        assert!(frame.keyframe);
        assert_eq!(frame.cts, 40, "PTS - DTS in ms");
        assert_eq!(
            frame.payload(),
            &[&[0, 0, 0, 4][..], idr].concat()[..],
            "AUD and parameter sets are not in the frame"
        );
        assert_eq!((key[0].ts, key[1].ts), (0, 0));

        // The same parameter sets again send no second header.
        let next = es
            .tags(&pes(
                EsKind::H264,
                97_200,
                93_600,
                annexb(&[&sps, &pps, inter]),
            ))
            .unwrap();
        assert_eq!(next.len(), 1);
        let frame = frame::parse_tag(TAG_VIDEO, next[0].body.clone())
            .unwrap()
            .unwrap();
        assert!(!frame.keyframe);
        assert_eq!(next[0].ts, 40);
    }

    #[test]
    fn frames_before_the_first_parameter_sets_are_dropped() {
        let mut es = Elementary::default();
        let tags = es
            .tags(&pes(EsKind::H264, 0, 0, annexb(&[&[0x41, 0x9a]])))
            .unwrap();
        assert!(tags.is_empty());
        assert!(
            es.tags(&pes(EsKind::H264, 0, 0, vec![1, 2, 3])).is_err(),
            "not Annex B"
        );
    }

    /// ADTS frames (AAC-LC, 44.1 kHz, stereo) of the raw frames given.
    fn adts(raws: &[&[u8]]) -> Vec<u8> {
        let asc = aac::parse_audio_specific_config(&[0x12, 0x10]).unwrap();
        let config = aac::AdtsEncodeConfig {
            mpeg_version: aac::AdtsMpegVersion::Mpeg4,
            original_copy: false,
            home: false,
        };
        raws.iter()
            .flat_map(|raw| aac::wrap_raw_aac_in_adts(raw, &asc, &config).unwrap())
            .collect()
    }

    #[test]
    fn adts_frames_become_raw_aac_1024_samples_apart() {
        let data = adts(&[&[0x21, 0x10], &[0x21, 0x11, 0x12]]);
        let mut es = Elementary::default();
        let tags = es.tags(&pes(EsKind::Aac, 180_000, 180_000, data)).unwrap();
        assert_eq!(tags.len(), 3, "the config, then two frames");
        let head = frame::parse_tag(TAG_AUDIO, tags[0].body.clone())
            .unwrap()
            .unwrap();
        let a = AudioConfig::from_frame(&head).unwrap();
        assert_eq!((a.sample_rate, a.channels), (44_100, 2));
        assert_eq!(&tags[1].body[..], &[0xaf, 1, 0x21, 0x10]);
        assert_eq!(
            (tags[1].ts, tags[2].ts),
            (0, 23),
            "1024 samples at 44.1 kHz"
        );
    }

    #[test]
    fn timestamps_run_on_across_the_33_bit_wrap() {
        let mut es = Elementary::default();
        assert_eq!(es.unwrap((1 << 33) - 90), (1 << 33) - 90);
        assert_eq!(es.unwrap(90), (1 << 33) + 90);
        assert_eq!(
            es.unwrap((1 << 33) - 900),
            (1 << 33) - 900,
            "a step back stays a step back"
        );
    }
}
