//! The RTMP server side as Tally drives it: handshake bytes, then the chunk stream (headers,
//! chunk sizes, AMF0 commands, media messages) through `rml_rtmp::ServerSession`, then any
//! media payload through Tally's own tag parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rml_rtmp::handshake::{Handshake, PeerType};
use rml_rtmp::sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult};

fuzz_target!(|data: &[u8]| {
    let mut hs = Handshake::new(PeerType::Server);
    let _ = hs.process_bytes(data);

    let Ok((mut session, _)) = ServerSession::new(ServerSessionConfig::new()) else { return };
    // Feed in two reads so messages split across reads are exercised too.
    let mid = data.len() / 2;
    for part in [&data[..mid], &data[mid..]] {
        let Ok(results) = session.handle_input(part) else { return };
        for r in results {
            match r {
                ServerSessionResult::RaisedEvent(ServerSessionEvent::VideoDataReceived { data, .. }) => {
                    let _ = tally_media::rtmp::conn::parse_network_tag(9, &data);
                }
                ServerSessionResult::RaisedEvent(ServerSessionEvent::AudioDataReceived { data, .. }) => {
                    let _ = tally_media::rtmp::conn::parse_network_tag(8, &data);
                }
                ServerSessionResult::UnhandleableMessageReceived(m) if m.type_id == 22 => {
                    let _ = tally_media::flv::reader::parse_all_tags(&m.data);
                }
                _ => {}
            }
        }
    }
});
