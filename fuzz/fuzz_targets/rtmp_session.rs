//! The RTMP server side as Tally drives it: handshake bytes, then the chunk stream (headers,
//! chunk sizes, AMF0 commands, media messages) through `rml_rtmp::ServerSession`, then any
//! media payload through Tally's own tag parser.
#![no_main]

use std::cell::Cell;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use rml_rtmp::handshake::{Handshake, PeerType};
use rml_rtmp::sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult};

thread_local!(static IN_SESSION: Cell<bool> = const { Cell::new(false) });

/// Tally catches panics of `ServerSession::handle_input` (see `rtmp/conn.rs`): the first
/// finding of this target, rml_rtmp indexing past a short AMF0 command, is contained there.
/// Mirror that, but only for that call: a panic anywhere else still aborts and is reported.
fn handle(session: &mut ServerSession, bytes: &[u8]) -> Option<Vec<ServerSessionResult>> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_SESSION.with(Cell::get) {
                abort_hook(info)
            }
        }));
    });
    IN_SESSION.with(|c| c.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.handle_input(bytes)));
    IN_SESSION.with(|c| c.set(false));
    r.ok()?.ok()
}

fuzz_target!(|data: &[u8]| {
    let mut hs = Handshake::new(PeerType::Server);
    let _ = hs.process_bytes(data);

    let Ok((mut session, _)) = ServerSession::new(ServerSessionConfig::new()) else { return };
    // Feed in two reads so messages split across reads are exercised too.
    let mid = data.len() / 2;
    for part in [&data[..mid], &data[mid..]] {
        let Some(results) = handle(&mut session, part) else { return };
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
