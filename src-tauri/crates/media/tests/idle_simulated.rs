//! Must-show 7 (idle close and resume) on simulated time: the stream actor runs on a paused
//! tokio clock, so a 60 s idle timeout takes no wall time and no test sleeps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tally_media::events::{EndReason, EngineEvent};
use tally_media::flv::{parse_header, parse_tag};
use tally_media::frame;
use tally_media::params::PushParams;
use tally_media::replay::SAMPLE_CLIP;
use tally_media::stream::{MediaMsg, Shared, StreamCmd};
use tally_media::EngineConfig;
use tokio::sync::{broadcast, mpsc, oneshot};

fn shared(dir: &std::path::Path) -> Arc<Shared> {
    let mut config = EngineConfig::new(dir);
    config.idle_timeout = Duration::from_secs(60);
    config.free_space_reserve = 0;
    let (events, _) = broadcast::channel(4096);
    Arc::new(Shared {
        config,
        events,
        streams: Mutex::new(HashMap::new()),
        manual: Mutex::new(HashMap::new()),
    })
}

/// The bundled clip's frames, first `ms` milliseconds.
fn clip_frames(ms: u32) -> Vec<MediaMsg> {
    let clip = Bytes::from_static(SAMPLE_CLIP);
    let mut pos = parse_header(&clip).unwrap();
    let mut out = Vec::new();
    while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
        if tag.timestamp <= ms {
            if let Some(f) = frame::parse_tag(tag.tag_type, clip.slice_ref(tag.body)).unwrap() {
                out.push(MediaMsg {
                    raw_ts: tag.timestamp,
                    frame: f,
                });
            }
        }
        pos += n;
    }
    out
}

async fn publish(s: &Arc<Shared>, ms: u32) -> mpsc::Sender<MediaMsg> {
    let (tx, rx) = mpsc::channel(4096);
    let (reply, answer) = oneshot::channel();
    let params = PushParams::parse("s1?record=flv").unwrap();
    s.send(
        "live",
        "s1",
        StreamCmd::Publish {
            conn_id: 1,
            params,
            media: rx,
            reply,
        },
    );
    answer.await.unwrap().unwrap();
    for m in clip_frames(ms) {
        tx.send(m).await.unwrap();
    }
    tx
}

async fn next_ended(
    rx: &mut broadcast::Receiver<EngineEvent>,
    closed: &mut Vec<tally_media::SegmentClosed>,
) -> EndReason {
    loop {
        match rx.recv().await.unwrap() {
            EngineEvent::RecordingEnded { reason, .. } => return reason,
            EngineEvent::SegmentClosed(c) => closed.push(c),
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn recording_closes_after_the_idle_timeout_when_media_stops() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let mut events = s.events.subscribe();
    let start = tokio::time::Instant::now();
    // The publisher stays connected (frozen): its sender is kept alive.
    let _frozen = publish(&s, 3_000).await;
    let mut closed = Vec::new();
    assert_eq!(
        next_ended(&mut events, &mut closed).await,
        EndReason::IdleTimeout
    );
    assert!(
        start.elapsed() >= Duration::from_secs(60),
        "closed only after the timeout"
    );
    assert_eq!(closed.len(), 1);
    assert!(closed[0].path.exists(), "files are kept");
    assert!(
        (2_900..=3_100).contains(&closed[0].duration_ms),
        "{}",
        closed[0].duration_ms
    );
}

#[tokio::test(start_paused = true)]
async fn reconnect_within_the_window_continues_the_recording_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let mut events = s.events.subscribe();
    drop(publish(&s, 2_000).await); // disconnects
    tokio::time::advance(Duration::from_secs(30)).await;
    drop(publish(&s, 2_000).await);
    let mut closed = Vec::new();
    assert_eq!(
        next_ended(&mut events, &mut closed).await,
        EndReason::IdleTimeout
    );
    assert_eq!(closed.len(), 2, "one segment per publish");
    assert_eq!(
        closed[0].recording, closed[1].recording,
        "same recording session"
    );
    assert_ne!(closed[0].path, closed[1].path);
    assert!(closed.iter().all(|c| c.path.exists()));
}

#[tokio::test(start_paused = true)]
async fn reconnect_after_the_window_starts_a_new_recording() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let mut events = s.events.subscribe();
    drop(publish(&s, 2_000).await);
    let mut first = Vec::new();
    assert_eq!(
        next_ended(&mut events, &mut first).await,
        EndReason::IdleTimeout
    );
    drop(publish(&s, 2_000).await);
    let mut second = Vec::new();
    assert_eq!(
        next_ended(&mut events, &mut second).await,
        EndReason::IdleTimeout
    );
    assert_ne!(first[0].recording, second[0].recording);
}
