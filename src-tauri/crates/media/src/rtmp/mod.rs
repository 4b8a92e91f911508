//! RTMP ingest.
//!
//! Crate choice (SPEC §9): `rml_rtmp` 0.8 over `scuffle-rtmp` 0.2. rml_rtmp is sans-IO
//! (`Handshake::process_bytes`, `ServerSession::handle_input`), so the protocol code is a pure
//! function of input bytes: we drive it from our own tokio task, apply our own limits (chunk
//! size, handshake deadline) and fuzz it directly. It keeps the publish name's `?query` raw,
//! which is where `record=`/`txSecret` live, and it has been stable for years. scuffle-rtmp owns
//! the socket loop itself, calls itself "may not be stable", and stopped releasing in 2025; its
//! one advantage (enhanced-RTMP capsEx for HEVC) is a plus we do not need for H.264 + AAC.

pub mod conn;
mod merged_read;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::stream::Shared;

/// Accepts connections forever, one task per connection.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    static NEXT_CONN: AtomicU64 = AtomicU64::new(1);
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                let _ = socket.set_nodelay(true);
                tokio::spawn(conn::serve(socket, peer, id, shared.clone()));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// The address a listener is bound to, for the `{"rtmp": ...}` line.
pub fn local_addr(l: &TcpListener) -> std::io::Result<SocketAddr> {
    l.local_addr()
}
