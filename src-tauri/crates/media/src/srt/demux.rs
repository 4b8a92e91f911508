//! MPEG-TS → PES: the transport packets of an SRT publish, reassembled into one PES packet
//! (an access unit, or a run of ADTS frames) per elementary stream. I/O-free, so fuzzable.
//!
//! Packets are parsed by `mpeg2ts` (sync, adaptation fields, PAT / PMT, PES headers). PES
//! reassembly is ours rather than `mpeg2ts::pes::PesPacketReader`'s because live input loses
//! packets: a gap in a PID's continuity counter drops that PES instead of failing the stream,
//! and a packet that does not parse is skipped, not fatal.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use mpeg2ts::es::StreamType;
use mpeg2ts::ts::{Pid, ReadTsPacket, TsPacketReader, TsPayload};

/// TS packet size.
const PACKET: usize = 188;
const SYNC: u8 = 0x47;
/// A PES larger than this is dropped (a 4K keyframe is a few MB; this bounds a hostile one).
const MAX_PES: usize = 16 << 20;

/// The elementary streams recorded from TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsKind {
    /// H.264 Annex B.
    H264,
    /// HEVC Annex B.
    H265,
    /// AAC in ADTS.
    Aac,
}

/// One reassembled PES packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pes {
    /// Its stream's kind.
    pub kind: EsKind,
    /// Presentation time, 90 kHz, 33 bits.
    pub pts: u64,
    /// Decode time, 90 kHz, 33 bits (the PTS when the header has none).
    pub dts: u64,
    /// The elementary stream bytes.
    pub data: Vec<u8>,
}

/// A PES being gathered.
struct Partial {
    pts: u64,
    dts: u64,
    data: Vec<u8>,
    /// The declared payload length (0 in the header: unbounded, ends at the next start).
    expected: Option<usize>,
}

/// What the demuxer counts of what it had to throw away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemuxStats {
    /// Packets that did not parse, or bytes skipped to find the sync byte (in packets).
    pub bad_packets: u64,
    /// PES packets dropped for a continuity gap, a missing timestamp or their size.
    pub dropped_pes: u64,
}

/// The TS demuxer of one publish.
pub struct TsDemux {
    /// `mpeg2ts`'s reader keeps the PAT / PMT state; `feed` hands it one packet at a time.
    reader: TsPacketReader<Feed>,
    feed: Feed,
    /// Left over from the last input when it did not end on a packet boundary.
    carry: Vec<u8>,
    streams: HashMap<Pid, EsKind>,
    partial: HashMap<Pid, Partial>,
    next_cc: HashMap<Pid, u8>,
    /// What was thrown away so far.
    pub stats: DemuxStats,
}

/// The one packet the reader is given at a time.
#[derive(Clone, Default)]
struct Feed(Arc<Mutex<Cursor<Vec<u8>>>>);

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).read(buf)
    }
}

impl Default for TsDemux {
    fn default() -> Self {
        let feed = Feed::default();
        TsDemux {
            reader: TsPacketReader::new(feed.clone()),
            feed,
            carry: Vec::new(),
            streams: HashMap::new(),
            partial: HashMap::new(),
            next_cc: HashMap::new(),
            stats: DemuxStats::default(),
        }
    }
}

impl TsDemux {
    /// Takes the next bytes of the transport stream; returns the PES packets they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Pes> {
        let mut out = Vec::new();
        let mut input = std::mem::take(&mut self.carry);
        input.extend_from_slice(bytes);
        let mut at = 0;
        while input.len() - at >= PACKET {
            // In sync: a sync byte here and, when the input holds it, at the next packet.
            let next = input.get(at + PACKET);
            if input[at] != SYNC || next.is_some_and(|&b| b != SYNC) {
                // Lost sync: skip to the next sync byte.
                let skip = input[at + 1..]
                    .iter()
                    .position(|&b| b == SYNC)
                    .map_or(input.len() - at, |p| p + 1);
                at += skip;
                self.stats.bad_packets += 1;
                continue;
            }
            self.packet(&input[at..at + PACKET], &mut out);
            at += PACKET;
        }
        self.carry = input[at..].to_vec();
        out
    }

    /// True once the program map lists a video stream that is recorded.
    pub fn has_video(&self) -> bool {
        self.streams
            .values()
            .any(|k| matches!(k, EsKind::H264 | EsKind::H265))
    }

    /// True once the program map lists an AAC stream.
    pub fn has_audio(&self) -> bool {
        self.streams.values().any(|k| *k == EsKind::Aac)
    }

    /// Ends the stream: PES packets still being gathered are complete now.
    pub fn finish(&mut self) -> Vec<Pes> {
        let mut out: Vec<Pes> = Vec::new();
        for (pid, p) in std::mem::take(&mut self.partial) {
            if let Some(&kind) = self.streams.get(&pid) {
                self.complete(kind, p, &mut out);
            }
        }
        out.sort_by_key(|p| p.dts);
        out
    }

    fn packet(&mut self, bytes: &[u8], out: &mut Vec<Pes>) {
        *self.feed.0.lock().unwrap_or_else(|p| p.into_inner()) = Cursor::new(bytes.to_vec());
        let packet = match self.reader.read_ts_packet() {
            Ok(Some(p)) => p,
            _ => {
                self.stats.bad_packets += 1;
                return;
            }
        };
        let pid = packet.header.pid;
        let Some(payload) = packet.payload else {
            return;
        };
        match payload {
            TsPayload::Pmt(pmt) => {
                for es in &pmt.es_info {
                    let kind = match es.stream_type {
                        StreamType::H264 => EsKind::H264,
                        StreamType::H265 => EsKind::H265,
                        StreamType::AdtsAac => EsKind::Aac,
                        _ => continue, // other streams (Opus, data) are not recorded
                    };
                    // One video and one audio stream are recorded, the first the map lists:
                    // a hostile map of thousands of PIDs gathers two PES at most.
                    let video = |k: &EsKind| *k != EsKind::Aac;
                    let taken = self
                        .streams
                        .iter()
                        .any(|(p, k)| *p != es.elementary_pid && video(k) == video(&kind));
                    if !taken {
                        self.streams.insert(es.elementary_pid, kind);
                    }
                }
            }
            TsPayload::PesStart(pes) => {
                let Some(&kind) = self.streams.get(&pid) else {
                    return;
                };
                self.next_cc
                    .insert(pid, (packet.header.continuity_counter.as_u8() + 1) & 0x0f);
                if let Some(previous) = self.partial.remove(&pid) {
                    self.complete(kind, previous, out);
                }
                let Some(pts) = pes.header.pts.map(|t| t.as_u64()) else {
                    self.stats.dropped_pes += 1;
                    return;
                };
                let dts = pes.header.dts.map_or(pts, |t| t.as_u64());
                // The declared length counts the optional header: 3 bytes of flags, 5 per
                // timestamp, 6 for an ESCR (stuffing would make it a hint only; see below).
                let optional = 3
                    + 5 * usize::from(pes.header.dts.is_some())
                    + 5
                    + 6 * usize::from(pes.header.escr.is_some());
                let expected = match pes.pes_packet_len {
                    0 => None,
                    len => Some(usize::from(len).saturating_sub(optional)),
                };
                let partial = Partial {
                    pts,
                    dts,
                    data: pes.data.to_vec(),
                    expected,
                };
                self.gathered(pid, kind, partial, out);
            }
            TsPayload::PesContinuation(data) => {
                let Some(&kind) = self.streams.get(&pid) else {
                    return;
                };
                let cc = packet.header.continuity_counter.as_u8();
                let expected_cc = self.next_cc.get(&pid).copied();
                if expected_cc.is_some_and(|e| cc == (e + 15) & 0x0f) {
                    return; // a duplicate packet (allowed once by the standard)
                }
                self.next_cc.insert(pid, (cc + 1) & 0x0f);
                let Some(mut partial) = self.partial.remove(&pid) else {
                    return;
                };
                if expected_cc != Some(cc) {
                    // A packet of this PES was lost: the access unit cannot be decoded.
                    self.stats.dropped_pes += 1;
                    return;
                }
                partial.data.extend_from_slice(&data);
                self.gathered(pid, kind, partial, out);
            }
            _ => {}
        }
    }

    /// Keeps a PES being gathered, or completes it when it has its declared length.
    fn gathered(&mut self, pid: Pid, kind: EsKind, partial: Partial, out: &mut Vec<Pes>) {
        if partial.data.len() > MAX_PES {
            self.stats.dropped_pes += 1;
        } else if partial.expected.is_some_and(|e| partial.data.len() >= e) {
            // A last packet may carry more than the declared length (its own padding).
            let mut partial = partial;
            partial
                .data
                .truncate(partial.expected.unwrap_or(usize::MAX));
            self.complete(kind, partial, out);
        } else {
            self.partial.insert(pid, partial);
        }
    }

    /// A complete PES (a bounded one short of its declared length is kept: the declared length
    /// can include header stuffing, and lost packets are caught by the continuity counter).
    fn complete(&self, kind: EsKind, p: Partial, out: &mut Vec<Pes>) {
        out.push(Pes {
            kind,
            pts: p.pts,
            dts: p.dts,
            data: p.data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpeg2ts::es::StreamId;
    use mpeg2ts::pes::PesHeader;
    use mpeg2ts::time::Timestamp;
    use mpeg2ts::ts::payload::{self, Pat, Pmt};
    use mpeg2ts::ts::{
        ContinuityCounter, EsInfo, ProgramAssociation, TransportScramblingControl, TsHeader,
        TsPacket, TsPacketWriter, VersionNumber, WriteTsPacket,
    };

    const PMT_PID: u16 = 0x1000;
    const VIDEO_PID: u16 = 0x100;

    fn header(pid: u16, cc: u8) -> TsHeader {
        TsHeader {
            transport_error_indicator: false,
            transport_priority: false,
            pid: Pid::new(pid).unwrap(),
            transport_scrambling_control: TransportScramblingControl::NotScrambled,
            continuity_counter: ContinuityCounter::from_u8(cc).unwrap(),
        }
    }

    /// PAT, PMT (one H.264 stream), then a PES of `frame_len` bytes at 90 kHz time `pts`,
    /// split into packets; `drop_packet` leaves one continuation packet out.
    fn stream(frame_len: usize, pts: u64, drop_packet: Option<usize>) -> Vec<u8> {
        let mut packets = vec![
            TsPacket {
                header: header(0, 0),
                adaptation_field: None,
                payload: Some(TsPayload::Pat(Pat {
                    transport_stream_id: 1,
                    version_number: VersionNumber::default(),
                    table: vec![ProgramAssociation {
                        program_num: 1,
                        program_map_pid: Pid::new(PMT_PID).unwrap(),
                    }],
                })),
            },
            TsPacket {
                header: header(PMT_PID, 0),
                adaptation_field: None,
                payload: Some(TsPayload::Pmt(Pmt {
                    program_num: 1,
                    pcr_pid: Some(Pid::new(VIDEO_PID).unwrap()),
                    version_number: VersionNumber::default(),
                    program_info: vec![],
                    es_info: vec![EsInfo {
                        stream_type: StreamType::H264,
                        elementary_pid: Pid::new(VIDEO_PID).unwrap(),
                        descriptors: vec![],
                    }],
                })),
            },
        ];
        let data: Vec<u8> = (0..frame_len).map(|i| i as u8).collect();
        let first = payload::Bytes::MAX_SIZE - 14;
        packets.push(TsPacket {
            header: header(VIDEO_PID, 0),
            adaptation_field: None,
            payload: Some(TsPayload::PesStart(payload::Pes {
                header: PesHeader {
                    stream_id: StreamId::new(0xe0),
                    priority: false,
                    data_alignment_indicator: false,
                    copyright: false,
                    original_or_copy: false,
                    pts: Some(Timestamp::new(pts).unwrap()),
                    dts: None,
                    escr: None,
                },
                pes_packet_len: 0,
                data: payload::Bytes::new(&data[..first.min(frame_len)]).unwrap(),
            })),
        });
        for (n, chunk) in data[first.min(frame_len)..]
            .chunks(payload::Bytes::MAX_SIZE)
            .enumerate()
        {
            if drop_packet == Some(n) {
                continue;
            }
            let mut chunk = chunk.to_vec();
            chunk.resize(payload::Bytes::MAX_SIZE, 0xff); // the test reads whole packets
            packets.push(TsPacket {
                header: header(VIDEO_PID, (n as u8 + 1) & 0x0f),
                adaptation_field: None,
                payload: Some(TsPayload::PesContinuation(
                    payload::Bytes::new(&chunk).unwrap(),
                )),
            });
        }
        let mut out = Vec::new();
        let mut writer = TsPacketWriter::new(&mut out);
        for p in &packets {
            writer.write_ts_packet(p).unwrap();
        }
        out
    }

    #[test]
    fn an_unbounded_pes_is_complete_at_the_end_of_the_stream() {
        let bytes = stream(1000, 90_000, None);
        let mut demux = TsDemux::default();
        // Fed in odd pieces, as datagrams would not line up with packets.
        let mut out = Vec::new();
        for piece in bytes.chunks(100) {
            out.extend(demux.push(piece));
        }
        assert!(out.is_empty());
        let out = demux.finish();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].kind, out[0].pts, out[0].dts),
            (EsKind::H264, 90_000, 90_000)
        );
        assert_eq!(
            &out[0].data[..1000],
            &(0..1000).map(|i| i as u8).collect::<Vec<_>>()[..]
        );
        assert_eq!(demux.stats, DemuxStats::default());
    }

    #[test]
    fn a_lost_packet_drops_its_pes_and_the_stream_goes_on() {
        let bytes = stream(1000, 90_000, Some(1));
        let mut demux = TsDemux::default();
        assert!(demux.push(&bytes).is_empty());
        assert!(demux.finish().is_empty());
        assert_eq!(demux.stats.dropped_pes, 1);
    }

    #[test]
    fn one_video_and_one_audio_stream_are_gathered_whatever_the_map_lists() {
        let mut demux = TsDemux::default();
        let pmt = TsPacket {
            header: header(PMT_PID, 1),
            adaptation_field: None,
            payload: Some(TsPayload::Pmt(Pmt {
                program_num: 1,
                pcr_pid: None,
                version_number: VersionNumber::default(),
                program_info: vec![],
                es_info: (0..24u16)
                    .map(|n| EsInfo {
                        stream_type: if n % 2 == 0 {
                            StreamType::H264
                        } else {
                            StreamType::AdtsAac
                        },
                        elementary_pid: Pid::new(0x200 + n).unwrap(),
                        descriptors: vec![],
                    })
                    .collect(),
            })),
        };
        let mut bytes = stream(10, 0, None);
        TsPacketWriter::new(&mut bytes)
            .write_ts_packet(&pmt)
            .unwrap();
        demux.push(&bytes);
        assert_eq!(demux.streams.len(), 2, "{:?}", demux.streams);
        assert!(demux.has_video() && demux.has_audio());
    }

    #[test]
    fn garbage_before_and_between_packets_is_skipped() {
        let mut bytes = vec![1, 2, 3, 0x47, 9];
        bytes.extend(stream(100, 1, None));
        let mut demux = TsDemux::default();
        demux.push(&bytes);
        assert_eq!(demux.finish().len(), 1);
        assert!(demux.stats.bad_packets >= 1);
    }
}
