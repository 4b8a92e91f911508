//! Tally's own parsers of network bytes: FLV tags (aggregate messages, clips, recovery), tag
//! bodies, avcC / AudioSpecificConfig, and the AVCC → Annex B walk used for HLS.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tally_media::codec::{parse_avcc, AudioConfig, VideoConfig};
use tally_media::flv::reader::{parse_all_tags, parse_header, parse_tag};
use tally_media::frame::{self, Kind};
use tally_media::hls::ts::avcc_to_annexb;

fuzz_target!(|data: &[u8]| {
    let _ = parse_header(data);
    let _ = parse_avcc(data);
    let mut out = Vec::new();
    let _ = avcc_to_annexb(data, 4, &mut out);
    let _ = parse_all_tags(data);
    // Walk the tags after a file header (recovery, clips) the way the replay reader does.
    let mut pos = parse_header(data).unwrap_or(0);
    let mut tags = Vec::new();
    while let Ok(Some((tag, n))) = parse_tag(&data[pos..], pos) {
        tags.push(tag);
        pos += n;
    }
    for tag in tags {
        let Ok(Some(frame)) = frame::parse_tag(tag.tag_type, Bytes::copy_from_slice(tag.body)) else { continue };
        let payload = Bytes::copy_from_slice(frame.payload());
        match frame.kind {
            Kind::VideoConfig => drop(VideoConfig::from_record(payload)),
            Kind::AudioConfig => drop(AudioConfig::from_record(payload)),
            Kind::Video => drop(avcc_to_annexb(&payload, 4, &mut out)),
            Kind::Audio => {}
        }
    }
});
