//! RTMP ingest.
//!
//! Crate choice (SPEC §9): `rml_rtmp` 0.8 over `scuffle-rtmp` 0.2. rml_rtmp is sans-IO
//! (`Handshake::process_bytes`, `ServerSession::handle_input`), so the protocol code is a pure
//! function of input bytes: we drive it from our own tokio task, apply our own limits (chunk
//! size, handshake deadline) and fuzz it directly. It keeps the publish name's `?query` raw,
//! which is where `record=`/`txSecret` live, and it has been stable for years. scuffle-rtmp owns
//! the socket loop itself, calls itself "may not be stable", and stopped releasing in 2025.
//! Enhanced RTMP needs nothing from the session layer: its FourCC tags are media messages like
//! any other, read by `frame.rs`.

pub mod conn;
mod merged_read;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::ingest::ConnSlot;
use crate::stream::Shared;

/// Accepts connections forever, one task per connection.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let Some(slot) = ConnSlot::take(&shared) else {
                    // Over the cap: drop it at once.
                    crate::ingest::warn_over_cap(&shared, peer, "RTMP");
                    continue;
                };
                let id = crate::ingest::next_conn_id();
                let _ = socket.set_nodelay(true);
                keep_alive(&socket);
                let shared = shared.clone();
                tokio::spawn(async move {
                    conn::serve(socket, peer, id, shared).await;
                    drop(slot);
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// TCP keepalive probes, so a peer that vanished (power cut, NAT timeout) is noticed in about
/// a minute even when nothing is being sent.
fn keep_alive(socket: &tokio::net::TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(std::time::Duration::from_secs(30))
        .with_interval(std::time::Duration::from_secs(10))
        .with_retries(3);
    let _ = socket2::SockRef::from(socket).set_tcp_keepalive(&ka);
}

/// The address a listener is bound to, for the `{"rtmp": ...}` line.
pub fn local_addr(l: &TcpListener) -> std::io::Result<SocketAddr> {
    l.local_addr()
}
