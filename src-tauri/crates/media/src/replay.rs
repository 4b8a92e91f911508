//! The built-in publisher: an RTMP client that loops an FLV clip (the bundled sample by
//! default) in real time with continuous timestamps. Used by the demo room and the benchmark.

use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::flv::{parse_header, parse_tag};
use crate::frame::{TAG_AUDIO, TAG_VIDEO};

/// The bundled sample clip (H.264 + AAC FLV; see `testdata/README.md`).
pub static SAMPLE_CLIP: &[u8] = include_bytes!("../testdata/sample.flv");

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The URL is not `rtmp://host:port/app/stream[?query]`.
    #[error("bad RTMP URL {0:?}")]
    BadUrl(String),
    /// The clip is not a usable FLV.
    #[error("bad clip: {0}")]
    BadClip(String),
    /// Network failure.
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    /// The server refused or the protocol failed.
    #[error("rtmp: {0}")]
    Rtmp(String),
}

/// One tag of the clip.
struct ClipTag {
    video: bool,
    ts: u32,
    body: Bytes,
    config: bool,
}

fn load_clip(clip: &Bytes) -> Result<(Vec<ClipTag>, u32), ReplayError> {
    let mut pos = parse_header(clip).map_err(|e| ReplayError::BadClip(e.to_string()))?;
    let mut tags = Vec::new();
    while let Some((tag, n)) =
        parse_tag(&clip[pos..], pos).map_err(|e| ReplayError::BadClip(e.to_string()))?
    {
        if matches!(tag.tag_type, TAG_AUDIO | TAG_VIDEO) && tag.body.len() >= 2 {
            let video = tag.tag_type == TAG_VIDEO;
            tags.push(ClipTag {
                video,
                ts: tag.timestamp,
                body: clip.slice_ref(tag.body),
                config: tag.body[1] == 0,
            });
        }
        pos += n;
    }
    let last = tags
        .iter()
        .map(|t| t.ts)
        .max()
        .ok_or_else(|| ReplayError::BadClip("no media tags".into()))?;
    // The loop period: last timestamp plus one video frame interval, so timestamps continue.
    let vts: Vec<u32> = tags
        .iter()
        .filter(|t| t.video && !t.config)
        .map(|t| t.ts)
        .collect();
    let step = vts
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|&d| d > 0)
        .min()
        .unwrap_or(33);
    Ok((tags, last + step))
}

/// Splits `rtmp://host:port/app/key?query` into (host:port, app, key?query, tcUrl).
pub fn split_url(url: &str) -> Result<(String, String, String, String), ReplayError> {
    let bad = || ReplayError::BadUrl(url.to_string());
    let rest = url.strip_prefix("rtmp://").ok_or_else(bad)?;
    let (host, path) = rest.split_once('/').ok_or_else(bad)?;
    let (app, key) = path.split_once('/').ok_or_else(bad)?;
    if host.is_empty() || app.is_empty() || key.is_empty() {
        return Err(bad());
    }
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:1935")
    };
    Ok((
        host.clone(),
        app.to_string(),
        key.to_string(),
        format!("rtmp://{host}/{app}"),
    ))
}

async fn send(sock: &mut TcpStream, r: ClientSessionResult) -> Result<(), ReplayError> {
    if let ClientSessionResult::OutboundResponse(p) = r {
        sock.write_all(&p.bytes)
            .await
            .map_err(|e| ReplayError::Io("write", e))?;
    }
    Ok(())
}

/// Reads until `want` is raised; sends whatever the session answers on the way.
async fn wait_for(
    sock: &mut TcpStream,
    s: &mut ClientSession,
    want: fn(&ClientSessionEvent) -> bool,
) -> Result<(), ReplayError> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = sock
            .read(&mut buf)
            .await
            .map_err(|e| ReplayError::Io("read", e))?;
        if n == 0 {
            return Err(ReplayError::Rtmp(
                "server closed the connection (refused?)".into(),
            ));
        }
        // The whole batch is handled even after the wanted event: the session can put packets
        // after it (the chunk-size change follows the connect acceptance).
        let mut found = false;
        for r in s
            .handle_input(&buf[..n])
            .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?
        {
            match r {
                ClientSessionResult::RaisedEvent(e) if want(&e) => found = true,
                ClientSessionResult::RaisedEvent(
                    ClientSessionEvent::ConnectionRequestRejected { description },
                ) => {
                    return Err(ReplayError::Rtmp(format!(
                        "connect rejected: {description}"
                    )))
                }
                other => send(sock, other).await?,
            }
        }
        if found {
            return Ok(());
        }
    }
}

/// Connects and publishes; returns the socket and session, ready for media.
pub async fn connect(url: &str) -> Result<(TcpStream, ClientSession), ReplayError> {
    let (host, app, key, tc_url) = split_url(url)?;
    let mut sock = TcpStream::connect(&host)
        .await
        .map_err(|e| ReplayError::Io("connect", e))?;
    let _ = sock.set_nodelay(true);
    let mut hs = Handshake::new(PeerType::Client);
    let p0p1 = hs
        .generate_outbound_p0_and_p1()
        .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?;
    sock.write_all(&p0p1)
        .await
        .map_err(|e| ReplayError::Io("write", e))?;
    let mut buf = vec![0u8; 8192];
    let remaining = loop {
        let n = sock
            .read(&mut buf)
            .await
            .map_err(|e| ReplayError::Io("read", e))?;
        if n == 0 {
            return Err(ReplayError::Rtmp("closed during handshake".into()));
        }
        match hs
            .process_bytes(&buf[..n])
            .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => sock
                .write_all(&response_bytes)
                .await
                .map_err(|e| ReplayError::Io("write", e))?,
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                sock.write_all(&response_bytes)
                    .await
                    .map_err(|e| ReplayError::Io("write", e))?;
                break remaining_bytes;
            }
        }
    };
    let mut config = ClientSessionConfig::new();
    config.tc_url = Some(tc_url);
    config.chunk_size = 4096;
    let (mut session, initial) =
        ClientSession::new(config).map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?;
    for r in initial {
        send(&mut sock, r).await?;
    }
    if !remaining.is_empty() {
        for r in session
            .handle_input(&remaining)
            .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?
        {
            send(&mut sock, r).await?;
        }
    }
    let r = session
        .request_connection(app)
        .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?;
    send(&mut sock, r).await?;
    wait_for(&mut sock, &mut session, |e| {
        matches!(e, ClientSessionEvent::ConnectionRequestAccepted)
    })
    .await?;
    let r = session
        .request_publishing(key, PublishRequestType::Live)
        .map_err(|e| ReplayError::Rtmp(format!("{e:?}")))?;
    send(&mut sock, r).await?;
    wait_for(&mut sock, &mut session, |e| {
        matches!(e, ClientSessionEvent::PublishRequestAccepted)
    })
    .await?;
    Ok((sock, session))
}

/// The write half of `sock`, and a task reading (and dropping) what the server sends: acks
/// and pings must not fill the socket. The task ends at the server's EOF.
fn split_draining(
    sock: TcpStream,
) -> (tokio::net::tcp::OwnedWriteHalf, tokio::task::JoinHandle<()>) {
    let (mut rd, wr) = sock.into_split();
    let drain = tokio::spawn(async move {
        let mut b = vec![0u8; 4096];
        while let Ok(n) = rd.read(&mut b).await {
            if n == 0 {
                break;
            }
        }
    });
    (wr, drain)
}

/// The bytes that publish one video or audio tag at `ts` (ms) on `session`.
fn media_packet(
    session: &mut ClientSession,
    video: bool,
    body: Bytes,
    ts: u32,
) -> Result<Option<Vec<u8>>, ReplayError> {
    let stamp = RtmpTimestamp::new(ts);
    let r = if video {
        session.publish_video_data(body, stamp, false)
    } else {
        session.publish_audio_data(body, stamp, false)
    };
    match r.map_err(|e| ReplayError::Rtmp(format!("{e:?}")))? {
        ClientSessionResult::OutboundResponse(p) => Ok(Some(p.bytes)),
        _ => Ok(None),
    }
}

/// A tag to publish: video or audio, its RTMP timestamp (ms) and its FLV tag body.
pub struct Tag {
    /// A video tag (else audio).
    pub video: bool,
    /// RTMP timestamp, ms.
    pub ts: u32,
    /// The FLV tag body.
    pub body: Bytes,
}

/// A publisher that has sent its tags and still holds the connection; dropping it closes.
pub struct Held {
    _writer: tokio::net::tcp::OwnedWriteHalf,
    drain: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

/// Publishes `tags` to `url` as fast as the server takes them and keeps the connection open
/// (still publishing) until the returned [`Held`] is dropped. For publishers that real
/// encoders are not (huge messages, no keyframes), in tests and benchmarks.
pub async fn push_tags(
    url: &str,
    tags: impl IntoIterator<Item = Tag>,
) -> Result<Held, ReplayError> {
    let (sock, mut session) = connect(url).await?;
    let (mut wr, drain) = split_draining(sock);
    for t in tags {
        if let Some(bytes) = media_packet(&mut session, t.video, t.body, t.ts)? {
            wr.write_all(&bytes)
                .await
                .map_err(|e| ReplayError::Io("write", e))?;
        }
    }
    Ok(Held { _writer: wr, drain })
}

/// How well a replay kept to real time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pacing {
    /// Media tags sent.
    pub frames: u64,
    /// Tags handed to the socket more than [`LATE_AFTER`] after they were due: the server (by
    /// TCP backpressure) or this publisher fell behind.
    pub late_frames: u64,
    /// The latest a tag went out, ms after it was due.
    pub max_late_ms: u64,
}

/// A tag this far behind its time is late.
pub const LATE_AFTER: Duration = Duration::from_millis(100);

/// Publishes `clip` (an FLV) to `url` in a loop, in real time, for `duration` (forever when
/// `None`). Timestamps continue across loops; the decoder configurations are sent once.
pub async fn replay(url: &str, clip: Bytes, duration: Option<Duration>) -> Result<(), ReplayError> {
    replay_paced(url, clip, duration).await.map(|_| ())
}

/// [`replay`], and how well it kept to real time (for load generators).
pub async fn replay_paced(
    url: &str,
    clip: Bytes,
    duration: Option<Duration>,
) -> Result<Pacing, ReplayError> {
    let (tags, period) = load_clip(&clip)?;
    let mut pacing = Pacing::default();
    let (sock, mut session) = connect(url).await?;
    let (mut wr, mut drain) = split_draining(sock);
    let start = Instant::now();
    let end = duration.map(|d| start + d);
    let mut out = Vec::with_capacity(64 * 1024);
    for t in tags.iter().filter(|t| t.config) {
        if let Some(bytes) = media_packet(&mut session, t.video, t.body.clone(), 0)? {
            out.extend_from_slice(&bytes);
        }
    }
    let mut base: u64 = 0;
    loop {
        for t in tags.iter().filter(|t| !t.config) {
            let ts = base + u64::from(t.ts);
            let due = start + Duration::from_millis(ts);
            if end.is_some_and(|e| due >= e) {
                wr.write_all(&out)
                    .await
                    .map_err(|e| ReplayError::Io("write", e))?;
                return Ok(pacing);
            }
            if due > Instant::now() {
                // Batch everything due before sleeping: one write per wake-up, not per tag.
                wr.write_all(&out)
                    .await
                    .map_err(|e| ReplayError::Io("write", e))?;
                out.clear();
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = &mut drain => return Err(ReplayError::Rtmp("server closed the connection".into())),
                }
            }
            let late = Instant::now().saturating_duration_since(due);
            pacing.frames += 1;
            pacing.late_frames += u64::from(late > LATE_AFTER);
            pacing.max_late_ms = pacing.max_late_ms.max(late.as_millis() as u64);
            if let Some(bytes) = media_packet(&mut session, t.video, t.body.clone(), ts as u32)? {
                out.extend_from_slice(&bytes);
            }
        }
        base += u64::from(period);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_clip_loads_with_configs_first() {
        let (tags, period) = load_clip(&Bytes::from_static(SAMPLE_CLIP)).unwrap();
        assert!(tags.iter().take(2).all(|t| t.config));
        assert!((6_000..6_200).contains(&period), "period {period}");
    }

    #[test]
    fn url_is_split_into_host_app_and_key() {
        let (host, app, key, tc) = split_url("rtmp://127.0.0.1:1940/live/s1?record=flv").unwrap();
        assert_eq!(
            (host.as_str(), app.as_str(), key.as_str(), tc.as_str()),
            (
                "127.0.0.1:1940",
                "live",
                "s1?record=flv",
                "rtmp://127.0.0.1:1940/live"
            )
        );
        assert!(split_url("http://x/live/s").is_err());
    }
}
