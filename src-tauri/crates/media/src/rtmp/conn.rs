//! One RTMP connection: handshake, session, publish admission (auth, duplicates), then frames
//! to the stream actor. Every way a connection ends is logged with its reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::budget::ByteBudget;
use crate::flv::reader::parse_all_tags;
use crate::frame::{self, Frame};
use crate::ingest::{self, Forwarded, Refusal};
use crate::params::is_safe_name;
use crate::stream::{MediaMsg, Shared};

use super::merged_read;

/// A handshake must finish within this time (truncated handshakes are cut here).
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// A new connection must ask to publish within this time, however it trickles bytes in.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(30);
/// A connection between publishes (after an unpublish) must send something this often.
const IDLE_BEFORE_PUBLISH: Duration = Duration::from_secs(30);
/// Bytes a connection may send without completing a single message. A large chunk size is
/// legal (rml_rtmp accepts up to 2^31 - 1) but only a message of at most 2^24 - 1 bytes can
/// follow, so anything beyond this is a peer making us buffer for nothing.
const MAX_UNPRODUCTIVE_BYTES: usize = 1 << 25;
/// Bytes a connection may send while it is not publishing. Connecting and asking to publish
/// take a few hundred bytes; without this, every one of thousands of unauthenticated
/// connections could make us assemble a 16 MiB message.
const MAX_BYTES_BEFORE_PUBLISH: usize = 1 << 20;
/// A merged read takes up to this much at a time (a fast stream's takes several). The buffer
/// lives only for the read: hundreds of idle-between-ticks publishers do not each hold one.
const MERGED_READ_BUFFER: usize = 64 * 1024;
/// Reads of a connection that is not publishing (commands), or of unmerged media.
const READ_BUFFER: usize = 16 * 1024;
/// RTMP aggregate message type.
const AGGREGATE: u8 = 22;

/// Why a connection was closed by us.
type Close = String;

/// Serves one connection until it ends; logs why it ended.
pub async fn serve(mut socket: TcpStream, peer: SocketAddr, id: u64, shared: Arc<Shared>) {
    match run(&mut socket, id, &shared).await {
        Ok(()) => tracing::info!(conn = id, %peer, "connection closed by peer"),
        Err(reason) => tracing::warn!(conn = id, %peer, %reason, "connection closed"),
    }
    let _ = socket.shutdown().await;
}

async fn handshake(socket: &mut TcpStream) -> Result<Vec<u8>, Close> {
    let mut hs = Handshake::new(PeerType::Server);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket
            .read(&mut buf)
            .await
            .map_err(|e| format!("read during handshake: {e}"))?;
        if n == 0 {
            return Err("peer closed during handshake (truncated handshake)".into());
        }
        match hs
            .process_bytes(&buf[..n])
            .map_err(|e| format!("bad handshake: {e:?}"))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                socket
                    .write_all(&response_bytes)
                    .await
                    .map_err(|e| format!("write: {e}"))?;
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                socket
                    .write_all(&response_bytes)
                    .await
                    .map_err(|e| format!("write: {e}"))?;
                return Ok(remaining_bytes);
            }
        }
    }
}

struct Conn<'a> {
    id: u64,
    shared: &'a Arc<Shared>,
    session: ServerSession,
    out: Vec<u8>,
    /// Frames of the accepted publish go here; dropping it ends the publish.
    media: Option<mpsc::Sender<MediaMsg>>,
    /// Bytes of media on their way to the stream (`EngineConfig::publisher_buffer_bytes`).
    budget: ByteBudget,
    /// Bytes received while not publishing.
    before_publish: usize,
    app: Option<String>,
    /// Set when the connection must close after flushing `out`.
    closing: Option<Close>,
    /// Bytes fed to the session since it last produced anything.
    unproductive: usize,
    /// Bytes read by merged reads (to tell a silent publisher from a quiet tick).
    received: u64,
}

async fn run(socket: &mut TcpStream, id: u64, shared: &Arc<Shared>) -> Result<(), Close> {
    let remaining = tokio::time::timeout(HANDSHAKE_DEADLINE, handshake(socket))
        .await
        .map_err(|_| "handshake not completed in time (truncated handshake)".to_string())??;
    let (session, initial) =
        ServerSession::new(ServerSessionConfig::new()).map_err(|e| format!("session: {e:?}"))?;
    let mut c = Conn {
        id,
        shared,
        session,
        out: Vec::new(),
        media: None,
        budget: ByteBudget::new("publisher", shared.config.publisher_buffer_bytes),
        before_publish: 0,
        app: None,
        closing: None,
        unproductive: 0,
        received: 0,
    };
    c.results(initial).await;
    c.input(&remaining).await;
    let merged_read = shared.config.merged_read;
    // A publisher that goes silent this long (a half-open connection: the peer vanished
    // without a FIN) is dropped, so its stream code can be published again.
    let silent_limit = shared.config.idle_timeout;
    let publish_deadline = tokio::time::Instant::now() + PUBLISH_DEADLINE;
    let mut published_once = false;
    let mut last_bytes = tokio::time::Instant::now();
    let mut low_water_mark_raised = false;
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        if !c.out.is_empty() {
            socket
                .write_all(&c.out)
                .await
                .map_err(|e| format!("write: {e}"))?;
            c.out.clear();
        }
        if let Some(reason) = c.closing.take() {
            return Err(reason);
        }
        let merged = c.media.is_some() && !merged_read.is_zero();
        if merged != low_water_mark_raised {
            // Raised while media flows; back to 1 byte for commands after an unpublish.
            merged_read::set_low_water_mark(socket, merged);
            low_water_mark_raised = merged;
        }
        published_once |= c.media.is_some();
        if merged {
            tokio::select! {
                ready = socket.readable() => ready.map_err(|e| format!("read: {e}"))?,
                _ = tokio::time::sleep_until(merged_read::next_tick(merged_read)) => {}
            }
            let before = c.received;
            if drain(socket, &mut c).await? {
                return Ok(());
            }
            if c.received > before {
                last_bytes = tokio::time::Instant::now();
            } else if last_bytes.elapsed() >= silent_limit {
                return Err(silent(silent_limit));
            }
            continue;
        }
        let read = socket.read(&mut buf);
        let n = if c.media.is_some() {
            tokio::time::timeout(silent_limit, read)
                .await
                .map_err(|_| silent(silent_limit))?
        } else if !published_once {
            tokio::time::timeout_at(publish_deadline, read)
                .await
                .map_err(|_| "no publish request in time".to_string())?
        } else {
            tokio::time::timeout(IDLE_BEFORE_PUBLISH, read)
                .await
                .map_err(|_| "no publish request in time".to_string())?
        }
        .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        last_bytes = tokio::time::Instant::now();
        c.input(&buf[..n]).await;
    }
}

fn silent(limit: Duration) -> Close {
    format!(
        "publisher sent nothing for {} s (half-open connection?)",
        limit.as_secs()
    )
}

/// Feeds the connection everything the socket holds now, without waiting; true at end of stream.
async fn drain(socket: &mut TcpStream, c: &mut Conn<'_>) -> Result<bool, Close> {
    let mut buf = Vec::with_capacity(MERGED_READ_BUFFER);
    while c.closing.is_none() {
        match merged_read::read_queued(socket, &mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                c.received += n as u64;
                c.input(&buf).await
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                merged_read::clear_readiness(socket);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok(false)
}

impl Conn<'_> {
    fn close(&mut self, reason: impl Into<String>) {
        if self.closing.is_none() {
            self.closing = Some(reason.into());
        }
    }

    async fn input(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.closing.is_some() {
            return;
        }
        if self.media.is_none() {
            self.before_publish += bytes.len();
            if self.before_publish > MAX_BYTES_BEFORE_PUBLISH {
                return self.close(format!(
                    "{} bytes without publishing (the limit is {MAX_BYTES_BEFORE_PUBLISH})",
                    self.before_publish
                ));
            }
        }
        // rml_rtmp 0.8 panics on AMF0 commands with fewer than three values (found by
        // `fuzz/` target rtmp_session): a panic here must cost only this connection, with a reason.
        let session = &mut self.session;
        let handled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.handle_input(bytes)));
        let Ok(handled) = handled else {
            return self.close("malformed command message (too few AMF0 values)");
        };
        match handled {
            Ok(results) if results.is_empty() => {
                self.unproductive += bytes.len();
                if self.unproductive > MAX_UNPRODUCTIVE_BYTES {
                    self.close(format!(
                        "{} bytes without a complete message (oversize chunk or message)",
                        self.unproductive
                    ));
                }
            }
            Ok(results) => {
                self.unproductive = 0;
                self.results(results).await
            }
            Err(e) => self.close(format!("protocol error: {e:?}")),
        }
    }

    async fn results(&mut self, results: Vec<ServerSessionResult>) {
        for r in results {
            if self.closing.is_some() {
                return;
            }
            match r {
                ServerSessionResult::OutboundResponse(p) => self.out.extend_from_slice(&p.bytes),
                // Media is the hot path: handled without the boxed future that the
                // (recursive) control events need.
                ServerSessionResult::RaisedEvent(ServerSessionEvent::VideoDataReceived {
                    data,
                    timestamp,
                    ..
                }) => {
                    self.media_tag(frame::TAG_VIDEO, data, timestamp.value)
                        .await
                }
                ServerSessionResult::RaisedEvent(ServerSessionEvent::AudioDataReceived {
                    data,
                    timestamp,
                    ..
                }) => {
                    self.media_tag(frame::TAG_AUDIO, data, timestamp.value)
                        .await
                }
                ServerSessionResult::RaisedEvent(e) => Box::pin(self.event(e)).await,
                ServerSessionResult::UnhandleableMessageReceived(m) if m.type_id == AGGREGATE => {
                    self.aggregate(m.timestamp.value, &m.data).await
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }

    async fn event(&mut self, e: ServerSessionEvent) {
        match e {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if !is_safe_name(&app_name) {
                    return self.close(format!("app name {app_name:?} is not allowed"));
                }
                self.app = Some(app_name);
                self.accept(request_id).await;
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => self.publish(request_id, app_name, stream_key).await,
            ServerSessionEvent::PublishStreamFinished { .. } => self.media = None,
            ServerSessionEvent::PlayStreamRequested { request_id, .. } => self.reject(
                request_id,
                "NetStream.Play.Failed",
                "playback is not served here",
            ),
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => {
                self.media_tag(frame::TAG_AUDIO, data, timestamp.value)
                    .await
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => {
                self.media_tag(frame::TAG_VIDEO, data, timestamp.value)
                    .await
            }
            _ => {}
        }
    }

    async fn accept(&mut self, request_id: u32) {
        match self.session.accept_request(request_id) {
            Ok(r) => Box::pin(self.results(r)).await,
            Err(e) => self.close(format!("accept: {e:?}")),
        }
    }

    fn reject(&mut self, request_id: u32, code: &str, why: &str) {
        if let Ok(results) = self.session.reject_request(request_id, code, why) {
            for r in results {
                if let ServerSessionResult::OutboundResponse(p) = r {
                    self.out.extend_from_slice(&p.bytes);
                }
            }
        }
    }

    /// Admission (`ingest.rs`), answered in RTMP's terms.
    async fn publish(&mut self, request_id: u32, app: String, stream_key: String) {
        match ingest::admit(self.shared, self.id, &app, &stream_key).await {
            Ok(admitted) => {
                self.media = Some(admitted.media);
                self.accept(request_id).await;
            }
            Err(refusal) => {
                let (code, why) = match &refusal {
                    Refusal::BadName(why) => ("NetStream.Publish.BadName", why.clone()),
                    Refusal::Unauthorized { why, .. } => {
                        ("NetStream.Publish.Unauthorized", why.clone())
                    }
                    Refusal::Stream { why, .. } => ("NetStream.Publish.BadName", why.clone()),
                    Refusal::Stopped => return self.close(refusal.to_string()),
                };
                self.reject(request_id, code, &why);
                self.close(refusal.to_string());
            }
        }
    }

    async fn media_tag(&mut self, tag_type: u8, data: Bytes, ts: u32) {
        let Some(tx) = &self.media else {
            return self.close("media before an accepted publish");
        };
        match ingest::forward(tx, &self.budget, tag_type, data, ts).await {
            Forwarded::Sent | Forwarded::Nothing => {}
            Forwarded::BadTag(e) => self.close(format!("bad media tag: {e}")),
            Forwarded::Ended => self.close("publish ended by the stream (replaced or shut down)"),
        }
    }

    /// An aggregate message is a run of FLV tags; their timestamps are relative to the first.
    async fn aggregate(&mut self, ts: u32, data: &Bytes) {
        let tags = match parse_all_tags(data) {
            Ok(t) => t,
            Err(e) => return self.close(format!("bad aggregate message: {e}")),
        };
        let base = tags.first().map_or(0, |t| t.timestamp);
        let frames: Vec<(u8, Bytes, u32)> = tags
            .iter()
            .map(|t| {
                (
                    t.tag_type,
                    data.slice_ref(t.body),
                    ts.wrapping_add(t.timestamp.wrapping_sub(base)),
                )
            })
            .collect();
        for (tag_type, body, ts) in frames {
            if self.closing.is_some() {
                return;
            }
            self.media_tag(tag_type, body, ts).await;
        }
    }
}

/// Parses one FLV tag body from the network without any connection (the fuzz entry point).
pub fn parse_network_tag(tag_type: u8, body: &[u8]) -> Option<Frame> {
    frame::parse_tag(tag_type, Bytes::copy_from_slice(body))
        .ok()
        .flatten()
}
