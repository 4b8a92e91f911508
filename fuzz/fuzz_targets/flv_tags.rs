//! Tally's own parsers of network bytes: FLV tags (aggregate messages, clips, recovery), tag
//! bodies in the classic and the enhanced-RTMP layouts (FourCC, ModEx, multitrack), the
//! avcC / hvcC / av1C / AudioSpecificConfig records, and the length-prefixed → Annex B walk
//! used for HLS.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tally_media::codec::{parse_avcc, AudioConfig, VideoConfig};
use tally_media::flv::reader::{parse_all_tags, parse_header, parse_tag};
use tally_media::frame::{self, Codec, Kind};
use tally_media::hls::ts::avcc_to_annexb;

fuzz_target!(|data: &[u8]| {
    let _ = parse_header(data);
    let _ = parse_avcc(data);
    let mut out = Vec::new();
    let _ = avcc_to_annexb(data, 4, false, &mut out);
    let _ = avcc_to_annexb(data, 2, true, &mut out);
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
        match frame.kind {
            Kind::VideoConfig => drop(VideoConfig::from_frame(&frame)),
            Kind::AudioConfig => drop(AudioConfig::from_frame(&frame)),
            Kind::Video => drop(avcc_to_annexb(frame.payload(), 4, frame.codec == Codec::H265, &mut out)),
            Kind::Audio => {}
        }
    }
});
