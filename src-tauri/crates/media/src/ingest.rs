//! Publish admission, the same for RTMP and SRT: the push name's parameters, push
//! authentication, then the stream actor's word on a second publisher of the same code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::auth::check_push;
use crate::events::EngineEvent;
use crate::params::PushParams;
use crate::stream::{MediaMsg, Shared, StreamCmd};

/// Frames of a publish queued towards its stream actor, at most.
const MEDIA_QUEUE: usize = 256;

/// A fresh id for a publisher connection (RTMP or SRT), unique in the process.
pub(crate) fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One of the engine's `max_connections` places (RTMP and SRT publishers together), given
/// back when the connection ends.
pub(crate) struct ConnSlot(Arc<Shared>);

impl ConnSlot {
    pub(crate) fn take(shared: &Arc<Shared>) -> Option<ConnSlot> {
        let open = shared.connections.fetch_add(1, Ordering::AcqRel);
        if open >= shared.config.max_connections {
            shared.connections.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnSlot(shared.clone()))
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Logs a connection refused over the cap, once a second at most: a flood writes no more.
pub(crate) fn warn_over_cap(shared: &Shared, peer: std::net::SocketAddr, protocol: &'static str) {
    static LAST_LOG: AtomicU64 = AtomicU64::new(0);
    let now = shared.now_ms() as u64 / 1000;
    if LAST_LOG.swap(now, Ordering::Relaxed) != now {
        tracing::warn!(%peer, protocol, max = shared.config.max_connections, "publisher connection limit reached; refusing connections");
    }
}

/// Why a publish was not admitted; its `Display` is the reason logged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// The stream name or its parameters do not parse.
    #[error("publish refused: {0}")]
    BadName(String),
    /// `txSecret` / `txTime` do not check out.
    #[error("publish of {code} refused: {why}")]
    Unauthorized { code: String, why: String },
    /// The stream actor refused (a live publisher holds the code, say).
    #[error("publish of {code} refused: {why}")]
    Stream { code: String, why: String },
    /// The engine is shutting down.
    #[error("engine stopped")]
    Stopped,
}

/// An admitted publish: where its frames go, and its stream code.
pub(crate) struct Admitted {
    pub media: mpsc::Sender<MediaMsg>,
    pub stream_code: String,
}

/// Admits a publish of `stream_key` (`<code>?record=...&txSecret=...`) under `app`.
pub(crate) async fn admit(
    shared: &Arc<Shared>,
    conn_id: u64,
    app: &str,
    stream_key: &str,
) -> Result<Admitted, Refusal> {
    let params = PushParams::parse(stream_key).map_err(|e| Refusal::BadName(e.to_string()))?;
    if let Some(key) = &shared.config.push_key {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        if let Err(why) = check_push(
            key,
            &params.stream_code,
            params.tx_secret.as_deref(),
            params.tx_time.as_deref(),
            now,
        ) {
            let _ = shared.events.send(EngineEvent::RecorderError {
                recording: None,
                stream_code: params.stream_code.clone(),
                code: crate::error::codes::BAD_PUSH_SECRET,
                detail: format!("publish refused: {why}"),
            });
            return Err(Refusal::Unauthorized {
                code: params.stream_code,
                why: why.to_string(),
            });
        }
    }
    let lease = shared
        .config
        .stream_leases
        .take(&params.stream_code)
        .await
        .map_err(|why| Refusal::Stream {
            code: params.stream_code.clone(),
            why,
        })?;
    let (tx, rx) = mpsc::channel(MEDIA_QUEUE);
    let (reply, answer) = oneshot::channel();
    let code = params.stream_code.clone();
    shared.send(
        app,
        &code,
        StreamCmd::Publish {
            conn_id,
            params,
            media: rx,
            lease,
            reply,
        },
    );
    match answer.await {
        Ok(Ok(())) => Ok(Admitted {
            media: tx,
            stream_code: code,
        }),
        Ok(Err(why)) => Err(Refusal::Stream { code, why }),
        Err(_) => Err(Refusal::Stopped),
    }
}

/// What became of one tag handed to [`forward`].
pub(crate) enum Forwarded {
    /// The frame is with the stream.
    Sent,
    /// The tag carries no frame (an end of sequence, metadata).
    Nothing,
    /// The tag body does not parse: the publish should end.
    BadTag(crate::frame::TagError),
    /// The stream ended the publish (replaced, or shutting down).
    Ended,
}

/// Parses an FLV tag body and hands its frame to the stream. Waits while the stream holds
/// `budget`'s worth of this publisher's media: the publisher is not read meanwhile, and its
/// transport pushes back.
pub(crate) async fn forward(
    media: &mpsc::Sender<MediaMsg>,
    budget: &crate::budget::ByteBudget,
    tag_type: u8,
    body: bytes::Bytes,
    raw_ts: u32,
) -> Forwarded {
    match crate::frame::parse_tag(tag_type, body) {
        Ok(Some(frame)) => {
            let spent = budget.take(frame.body.len()).await;
            let msg = MediaMsg {
                raw_ts,
                frame,
                spent,
            };
            match media.send(msg).await {
                Ok(()) => Forwarded::Sent,
                Err(_) => Forwarded::Ended,
            }
        }
        Ok(None) => Forwarded::Nothing,
        Err(e) => Forwarded::BadTag(e),
    }
}
