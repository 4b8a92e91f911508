//! MPEG-TS muxing on top of `mpeg2ts`'s packet writer: PAT/PMT, PES packetization with PCR,
//! length-prefixed H.264 / HEVC → Annex B (with an AUD and the in-band parameter sets at
//! keyframes), raw AAC → ADTS. AV1 has no TS mapping players read, so HLS refuses it
//! (`HlsWriter::create`).

use std::io::Write;

use mpeg2ts::es::{StreamId, StreamType};
use mpeg2ts::pes::PesHeader;
use mpeg2ts::time::{ClockReference, Timestamp};
use mpeg2ts::ts::payload::{Bytes as TsBytes, Pat, Pes, Pmt};
use mpeg2ts::ts::{
    AdaptationField, ContinuityCounter, EsInfo, Pid, ProgramAssociation,
    TransportScramblingControl, TsHeader, TsPacket, TsPacketWriter, TsPayload, VersionNumber,
    WriteTsPacket,
};

use crate::codec::{AudioConfig, VideoConfig, AAC_SAMPLE_RATES};
use crate::frame::Codec;

const PMT_PID: u16 = 0x1000;
const VIDEO_PID: u16 = 0x100;
const AUDIO_PID: u16 = 0x101;
const PAYLOAD: usize = 184;

/// Why a frame could not be muxed into TS.
#[derive(Debug, thiserror::Error)]
pub enum TsError {
    /// A NAL length prefix points past the end of the access unit.
    #[error("NAL unit length {len} at byte {at} overruns the {total}-byte access unit")]
    LyingNalLength {
        /// Declared length.
        len: usize,
        /// Where the prefix is.
        at: usize,
        /// Access unit size.
        total: usize,
    },
    /// The TS library refused a packet.
    #[error("ts: {0}")]
    Packet(#[from] mpeg2ts::Error),
}

/// Muxes one program (H.264 and/or AAC) into TS packets.
pub struct TsMuxer {
    video: Option<VideoConfig>,
    audio: Option<(AudioConfig, [u8; 7])>,
    cc: [ContinuityCounter; 4],
    annexb: Vec<u8>,
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap_or_else(|_| unreachable!("constant PIDs are below 0x1FFF"))
}

impl TsMuxer {
    /// A muxer for the given tracks (either may be absent).
    pub fn new(video: Option<VideoConfig>, audio: Option<AudioConfig>) -> Self {
        let audio = audio.map(|a| {
            let h = adts_template(&a);
            (a, h)
        });
        TsMuxer {
            video,
            audio,
            cc: Default::default(),
            annexb: Vec::new(),
        }
    }

    fn pcr_pid(&self) -> u16 {
        if self.video.is_some() {
            VIDEO_PID
        } else {
            AUDIO_PID
        }
    }

    fn header(&mut self, p: u16) -> TsHeader {
        let i = match p {
            VIDEO_PID => 0,
            AUDIO_PID => 1,
            PMT_PID => 2,
            _ => 3,
        };
        let cc = self.cc[i];
        self.cc[i].increment();
        TsHeader {
            transport_error_indicator: false,
            transport_priority: false,
            pid: pid(p),
            transport_scrambling_control: TransportScramblingControl::NotScrambled,
            continuity_counter: cc,
        }
    }

    /// Writes PAT and PMT (at the start of every chunk and before each keyframe).
    pub fn write_tables<W: Write>(&mut self, out: &mut W) -> Result<(), TsError> {
        let mut w = TsPacketWriter::new(out);
        let pat = Pat {
            transport_stream_id: 1,
            version_number: VersionNumber::new(),
            table: vec![ProgramAssociation {
                program_num: 1,
                program_map_pid: pid(PMT_PID),
            }],
        };
        let header = self.header(0);
        w.write_ts_packet(&TsPacket {
            header,
            adaptation_field: None,
            payload: Some(TsPayload::Pat(pat)),
        })?;
        let mut es_info = Vec::new();
        if let Some(v) = &self.video {
            es_info.push(EsInfo {
                stream_type: match v.codec {
                    Codec::H265 => StreamType::H265,
                    _ => StreamType::H264,
                },
                elementary_pid: pid(VIDEO_PID),
                descriptors: vec![],
            });
        }
        if self.audio.is_some() {
            es_info.push(EsInfo {
                stream_type: StreamType::AdtsAac,
                elementary_pid: pid(AUDIO_PID),
                descriptors: vec![],
            });
        }
        let pmt = Pmt {
            program_num: 1,
            pcr_pid: Some(pid(self.pcr_pid())),
            version_number: VersionNumber::new(),
            program_info: vec![],
            es_info,
        };
        let header = self.header(PMT_PID);
        w.write_ts_packet(&TsPacket {
            header,
            adaptation_field: None,
            payload: Some(TsPayload::Pmt(pmt)),
        })?;
        Ok(())
    }

    /// Writes one H.264 / HEVC access unit (length-prefixed NAL units) with DTS `dts_ms` and
    /// PTS `dts_ms + cts_ms`.
    pub fn write_video<W: Write>(
        &mut self,
        out: &mut W,
        au: &[u8],
        dts_ms: u64,
        cts_ms: i32,
        keyframe: bool,
    ) -> Result<(), TsError> {
        let Some(v) = &self.video else { return Ok(()) };
        let mut buf = std::mem::take(&mut self.annexb);
        buf.clear();
        let hevc = v.codec == Codec::H265;
        // An access unit delimiter (any slice types), as TS wants one first in each unit.
        buf.extend_from_slice(match hevc {
            true => &[0, 0, 0, 1, 0x46, 0x01, 0x50],
            false => &[0, 0, 0, 1, 0x09, 0xf0],
        });
        if keyframe {
            for ps in &v.parameter_sets {
                buf.extend_from_slice(&[0, 0, 0, 1]);
                buf.extend_from_slice(ps);
            }
        }
        let result = avcc_to_annexb(au, v.nal_length_size, hevc, &mut buf).and_then(|_| {
            let dts = dts_ms * 90;
            let pts = (dts as i64 + i64::from(cts_ms) * 90).max(0) as u64;
            if keyframe {
                self.write_tables(out)?;
            }
            self.write_pes(out, VIDEO_PID, pts, Some(dts), &buf, keyframe)
        });
        self.annexb = buf;
        result
    }

    /// Writes one raw AAC frame at `pts_ms`.
    pub fn write_audio<W: Write>(
        &mut self,
        out: &mut W,
        raw: &[u8],
        pts_ms: u64,
    ) -> Result<(), TsError> {
        let Some((_, template)) = &self.audio else {
            return Ok(());
        };
        let mut frame = Vec::with_capacity(raw.len() + 7);
        frame.extend_from_slice(template);
        let len = (raw.len() + 7).min(0x1fff);
        frame[3] |= (len >> 11) as u8 & 0x03;
        frame[4] = (len >> 3) as u8;
        frame[5] |= ((len & 7) << 5) as u8;
        frame.extend_from_slice(raw);
        let random_access = self.video.is_none();
        self.write_pes(out, AUDIO_PID, pts_ms * 90, None, &frame, random_access)
    }

    fn write_pes<W: Write>(
        &mut self,
        out: &mut W,
        p: u16,
        pts: u64,
        dts: Option<u64>,
        data: &[u8],
        random_access: bool,
    ) -> Result<(), TsError> {
        let stream_id = if p == VIDEO_PID { 0xe0 } else { 0xc0 };
        let mut w = TsPacketWriter::new(out);
        let with_pcr = p == self.pcr_pid();
        let af = (with_pcr || random_access).then(|| AdaptationField {
            discontinuity_indicator: false,
            random_access_indicator: random_access,
            es_priority_indicator: false,
            pcr: if with_pcr {
                ClockReference::new(dts.unwrap_or(pts) * 300 % (ClockReference::MAX + 1)).ok()
            } else {
                None
            },
            opcr: None,
            splice_countdown: None,
            transport_private_data: vec![],
            extension: None,
        });
        let af_size = af
            .as_ref()
            .map_or(0, |a| 2 + if a.pcr.is_some() { 6 } else { 0 });
        let dts = dts.filter(|&d| d != pts);
        let pes_header = 9 + 5 + if dts.is_some() { 5 } else { 0 };
        let first = data.len().min(PAYLOAD - af_size - pes_header);
        let after_len = 3 + (pes_header - 9) + data.len();
        // Video PES may exceed 64 KiB: 0 means "unbounded" and is allowed for video only.
        let pes_packet_len = if stream_id == 0xe0 || after_len > 0xffff {
            0
        } else {
            after_len as u16
        };
        let ts = |v: u64| Timestamp::new(v % (Timestamp::MAX + 1));
        let pes = Pes {
            header: PesHeader {
                stream_id: StreamId::new(stream_id),
                priority: false,
                data_alignment_indicator: true,
                copyright: false,
                original_or_copy: false,
                pts: Some(ts(pts)?),
                dts: dts.map(ts).transpose()?,
                escr: None,
            },
            pes_packet_len,
            data: TsBytes::new(&data[..first])?,
        };
        let header = self.header(p);
        w.write_ts_packet(&TsPacket {
            header,
            adaptation_field: af,
            payload: Some(TsPayload::PesStart(pes)),
        })?;
        for chunk in data[first..].chunks(PAYLOAD) {
            let header = self.header(p);
            w.write_ts_packet(&TsPacket {
                header,
                adaptation_field: None,
                payload: Some(TsPayload::PesContinuation(TsBytes::new(chunk)?)),
            })?;
        }
        Ok(())
    }
}

/// Appends the NAL units of a length-prefixed (H.264 or, with `hevc`, HEVC) access unit to
/// `out` with 4-byte start codes.
pub fn avcc_to_annexb(
    au: &[u8],
    length_size: usize,
    hevc: bool,
    out: &mut Vec<u8>,
) -> Result<(), TsError> {
    let length_size = length_size.max(1);
    let mut at = 0;
    while at < au.len() {
        if au.len() - at < length_size {
            return Err(TsError::LyingNalLength {
                len: length_size,
                at,
                total: au.len(),
            });
        }
        let len = au[at..at + length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let start = at + length_size;
        if len > au.len() - start {
            return Err(TsError::LyingNalLength {
                len,
                at,
                total: au.len(),
            });
        }
        let nal = &au[start..start + len];
        // Skip AUDs the encoder put in: we write our own at the start of every access unit.
        let aud = match hevc {
            true => nal.first().map(|b| (b >> 1) & 0x3f) == Some(35),
            false => nal.first().map(|b| b & 0x1f) == Some(9),
        };
        if !aud {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
        at = start + len;
    }
    Ok(())
}

/// The fixed part of the ADTS header for this AAC configuration (length bits left zero).
fn adts_template(a: &AudioConfig) -> [u8; 7] {
    let sf = AAC_SAMPLE_RATES
        .iter()
        .position(|&r| r == a.sample_rate)
        .unwrap_or(3) as u8;
    let profile = 1u8; // AAC-LC (audio object type 2) - 1
    let ch = a.channels.min(7) as u8;
    [
        0xff,
        0xf1,
        (profile << 6) | (sf << 2) | (ch >> 2),
        (ch & 3) << 6,
        0,
        0x1f,
        0xfc,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_becomes_annexb() {
        let mut out = vec![];
        avcc_to_annexb(&[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41], 4, false, &mut out).unwrap();
        assert_eq!(out, vec![0, 0, 0, 1, 0x65, 1, 0, 0, 0, 1, 0x41]);
    }

    #[test]
    fn hevc_access_unit_delimiters_are_dropped() {
        let mut out = vec![];
        avcc_to_annexb(
            &[0, 0, 0, 3, 0x46, 1, 0x50, 0, 0, 0, 2, 0x26, 1],
            4,
            true,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, vec![0, 0, 0, 1, 0x26, 1]);
    }

    #[test]
    fn lying_nal_length_is_an_error() {
        let mut out = vec![];
        assert!(avcc_to_annexb(&[0, 0, 0, 9, 0x65], 4, false, &mut out).is_err());
        assert!(avcc_to_annexb(&[0, 0], 4, false, &mut out).is_err());
    }
}
