//! The SRT ingest path: an SRT stream id, then MPEG-TS bytes through the demuxer (fed in
//! pieces whose size the first byte picks, as datagrams would cut them), every PES through the
//! Annex B / ADTS conversion and the start gate, and every resulting tag body through the
//! frame and configuration parsers the recorders use.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_media::codec::{AudioConfig, VideoConfig};
use tally_media::frame::{self, Kind};
use tally_media::srt::demux::TsDemux;
use tally_media::srt::elementary::Elementary;
use tally_media::srt::gate::StartGate;
use tally_media::srt::stream_id::StreamName;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, rest)) = data.split_first() else { return };
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = StreamName::parse(s);
    }
    let piece = usize::from(piece).max(1) * 8;
    let mut demux = TsDemux::default();
    let mut elementary = Elementary::default();
    let mut gate = StartGate::default();
    let mut tags = Vec::new();
    for chunk in rest.chunks(piece).map(Some).chain([None]) {
        let pes = match chunk {
            Some(c) => demux.push(c),
            None => demux.finish(),
        };
        let converted = pes.iter().filter_map(|p| elementary.tags(p).ok()).flatten().collect();
        tags.extend(gate.pass(converted, demux.has_video(), demux.has_audio()));
    }
    tags.extend(gate.release());
    for tag in tags {
        let Ok(Some(frame)) = frame::parse_tag(tag.tag_type, tag.body) else { continue };
        match frame.kind {
            Kind::VideoConfig => drop(VideoConfig::from_frame(&frame)),
            Kind::AudioConfig => drop(AudioConfig::from_frame(&frame)),
            _ => {}
        }
    }
});
