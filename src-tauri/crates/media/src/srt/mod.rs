//! SRT ingest: MPEG-TS over SRT in listener mode. The `streamid` names the stream as an RTMP
//! push URL does (`live/<code>?record=...&txSecret=...&txTime=...`, or the SRT access-control
//! form `#!::r=live/<code>?...,m=publish`); the publish is admitted (`ingest.rs`) before the
//! SRT handshake is answered, so a refused one is rejected before any file exists. Its TS is
//! demuxed (`demux.rs`) and turned into FLV tag bodies (`elementary.rs`) that go to the same
//! stream actor as RTMP's.
//!
//! Crate choice: `srt-tokio` 0.4, the pure-Rust SRT (live mode, AES, access control with the
//! stream id before accepting) that is tested for interoperability against libsrt, which is
//! what ffmpeg, OBS and hardware encoders link. It runs on tokio like the rest of the engine
//! and needs no C toolchain or system library; bindings to Debian's libsrt would add a C
//! dependency and blocking sockets for no gain at the rates recorded here.

pub mod demux;
pub mod elementary;
pub mod gate;
pub mod stream_id;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use srt_tokio::access::{RejectReason, ServerRejectReason};
use srt_tokio::{ConnectionRequest, SrtIncoming, SrtListener, SrtSocket};

use crate::budget::ByteBudget;
use crate::ingest::{self, Admitted, ConnSlot, Forwarded, Refusal};
use crate::stream::Shared;

use demux::TsDemux;
use elementary::{Elementary, Tag};
use gate::StartGate;
use stream_id::StreamName;

/// A publisher that sends nothing this long is dropped (SRT notices a vanished peer itself
/// after its 5 s peer-idle timeout; this covers one that keeps the link up but sends nothing).
const SILENCE_LIMIT: Duration = Duration::from_secs(90);

/// The bound listener: its address and its accept loop.
pub struct Listening {
    /// Where publishers connect (the real port when 0 was asked for).
    pub addr: SocketAddr,
    listener: SrtListener,
    incoming: SrtIncoming,
}

/// Binds the SRT listener on `addr` (UDP).
pub async fn bind(addr: SocketAddr) -> std::io::Result<Listening> {
    let socket = tokio::net::UdpSocket::bind(addr).await?;
    let addr = socket.local_addr()?;
    let (listener, incoming) = SrtListener::builder().socket(socket).bind(addr).await?;
    Ok(Listening {
        addr,
        listener,
        incoming,
    })
}

/// Serves connection requests forever, one task per publisher.
pub async fn accept_loop(listening: Listening, shared: Arc<Shared>) {
    let Listening {
        listener,
        mut incoming,
        ..
    } = listening;
    while let Some(request) = incoming.incoming().next().await {
        let Some(slot) = ConnSlot::take(&shared) else {
            ingest::warn_over_cap(&shared, request.remote(), "SRT");
            tokio::spawn(request.reject(server(ServerRejectReason::Overload)));
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            serve(request, shared).await;
            drop(slot);
        });
    }
    drop(listener);
}

/// One connection request: admission, then the publish.
async fn serve(request: ConnectionRequest, shared: Arc<Shared>) {
    let peer = request.remote();
    let raw = request
        .stream_id()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let id = ingest::next_conn_id();
    let name = match StreamName::parse(&raw) {
        Ok(n) => n,
        Err(why) => {
            tracing::info!(%peer, stream_id = %raw, %why, "SRT connection refused");
            let _ = request.reject(server(ServerRejectReason::BadRequest)).await;
            return;
        }
    };
    let admitted = match ingest::admit(&shared, id, &name.app, &name.key).await {
        Ok(a) => a,
        Err(refusal) => {
            let reason = match &refusal {
                Refusal::BadName(_) => ServerRejectReason::BadRequest,
                Refusal::Unauthorized { .. } => ServerRejectReason::Unauthorized,
                Refusal::Stream { .. } => ServerRejectReason::Conflict,
                Refusal::Stopped => ServerRejectReason::Down,
            };
            tracing::info!(%peer, conn_id = id, reason = %refusal, "SRT connection refused");
            let _ = request.reject(server(reason)).await;
            return;
        }
    };
    let socket = match request.accept(None).await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(%peer, conn_id = id, error = %e, "SRT handshake failed");
            return;
        }
    };
    tracing::info!(%peer, conn_id = id, stream = %admitted.stream_code, "SRT publish started");
    let why = publish(socket, admitted, &shared).await;
    tracing::info!(%peer, conn_id = id, reason = %why, "SRT connection closed");
}

fn server(reason: ServerRejectReason) -> RejectReason {
    RejectReason::Server(reason)
}

/// Reads the publish until it ends; returns why it ended.
async fn publish(mut socket: SrtSocket, admitted: Admitted, shared: &Arc<Shared>) -> String {
    let budget = ByteBudget::new("publisher", shared.config.publisher_buffer_bytes);
    let code = admitted.stream_code.clone();
    let mut demux = TsDemux::default();
    let mut elementary = Elementary::default();
    let mut gate = StartGate::default();
    let mut bad_es = 0u64;
    let why = loop {
        let data = match tokio::time::timeout(SILENCE_LIMIT, socket.next()).await {
            Err(_) => break format!("publisher sent nothing for {} s", SILENCE_LIMIT.as_secs()),
            Ok(None) => break "closed by the publisher".to_string(),
            Ok(Some(Err(e))) => break format!("connection lost: {e}"),
            Ok(Some(Ok((_, data)))) => data,
        };
        let tags = convert(&demux.push(&data), &mut elementary, &mut bad_es, &code);
        let tags = gate.pass(tags, demux.has_video(), demux.has_audio());
        if let Some(why) = forward(tags, &admitted, &budget).await {
            break why;
        }
    };
    // What the last packets completed still belongs to the recording.
    let mut tags = convert(&demux.finish(), &mut elementary, &mut bad_es, &code);
    tags = gate.pass(tags, demux.has_video(), demux.has_audio());
    tags.extend(gate.release());
    let _ = forward(tags, &admitted, &budget).await;
    let stats = demux.stats;
    if stats.bad_packets + stats.dropped_pes + bad_es > 0 {
        tracing::warn!(
            stream = %code,
            bad_packets = stats.bad_packets,
            dropped_pes = stats.dropped_pes,
            bad_es,
            "SRT publish lost data (packet loss or a malformed transport stream)"
        );
    }
    why
}

/// The tags of `pes`; a PES that does not convert is lost, as a lost packet would be.
fn convert(
    pes: &[demux::Pes],
    elementary: &mut Elementary,
    bad_es: &mut u64,
    code: &str,
) -> Vec<Tag> {
    let mut out = Vec::new();
    for p in pes {
        match elementary.tags(p) {
            Ok(tags) => out.extend(tags),
            Err(e) => {
                *bad_es += 1;
                tracing::debug!(stream = %code, error = %e, "SRT: skipping a bad PES");
            }
        }
    }
    out
}

/// Hands tags to the stream; `Some(why)` when the publish must end.
async fn forward(tags: Vec<Tag>, admitted: &Admitted, budget: &ByteBudget) -> Option<String> {
    for tag in tags {
        match ingest::forward(&admitted.media, budget, tag.tag_type, tag.body, tag.ts).await {
            Forwarded::Sent | Forwarded::Nothing => {}
            Forwarded::BadTag(e) => return Some(format!("bad media: {e}")),
            Forwarded::Ended => {
                return Some("publish ended by the stream (replaced or shut down)".into())
            }
        }
    }
    None
}
