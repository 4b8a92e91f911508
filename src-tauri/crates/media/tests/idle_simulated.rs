//! Must-show 7 (idle close and resume) on simulated time: the stream actor runs on a paused
//! tokio clock, so a 60 s idle timeout takes no wall time and no test sleeps.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tally_media::budget::ByteBudget;
use tally_media::events::{EndReason, EngineEvent};
use tally_media::flv::{parse_header, parse_tag};
use tally_media::frame;
use tally_media::params::PushParams;
use tally_media::replay::SAMPLE_CLIP;
use tally_media::stream::{MediaMsg, Shared, StreamCmd};
use tally_media::{EngineConfig, Fact};
use tokio::sync::{broadcast, mpsc, oneshot};

fn shared(dir: &std::path::Path) -> Arc<Shared> {
    shared_with_facts(dir, tally_media::clock::system()).0
}

fn shared_with_facts(
    dir: &std::path::Path,
    clock: tally_media::SharedClock,
) -> (Arc<Shared>, mpsc::UnboundedReceiver<Fact>) {
    let mut config = EngineConfig::new(dir);
    config.idle_timeout = Duration::from_secs(60);
    config.free_space_reserve = 0;
    config.clock = clock;
    Shared::new(config)
}

/// The bundled clip's frames, first `ms` milliseconds.
async fn clip_frames(ms: u32) -> Vec<MediaMsg> {
    let budget = ByteBudget::new("test", usize::MAX);
    let clip = Bytes::from_static(SAMPLE_CLIP);
    let mut pos = parse_header(&clip).unwrap();
    let mut out = Vec::new();
    while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
        if tag.timestamp <= ms {
            if let Some(f) = frame::parse_tag(tag.tag_type, clip.slice_ref(tag.body)).unwrap() {
                out.push(MediaMsg {
                    raw_ts: tag.timestamp,
                    spent: budget.take(f.body.len()).await,
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
            lease: None,
            reply,
        },
    );
    answer.await.unwrap().unwrap();
    for m in clip_frames(ms).await {
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

/// The day folder a wall-clock time files under, in local time.
fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .with_timezone(&chrono::Local)
        .format("%Y%m%d")
        .to_string()
}

#[tokio::test(start_paused = true)]
async fn a_recording_across_midnight_files_each_segment_under_its_own_day_and_reports_every_fact() {
    use chrono::TimeZone;
    let dir = tempfile::tempdir().unwrap();
    let midnight = chrono::Local
        .with_ymd_and_hms(2026, 12, 2, 0, 0, 0)
        .earliest()
        .unwrap()
        .timestamp_millis();
    let clock = tally_media::clock::ManualClock::at(midnight - 3_000);
    let (s, mut facts) = shared_with_facts(dir.path(), clock.clone());
    drop(publish(&s, 2_000).await); // 23:59:57, then the publisher leaves
    tokio::time::advance(Duration::from_secs(30)).await;
    clock.advance(30_000); // past midnight
    drop(publish(&s, 2_000).await);
    let mut files = Vec::new();
    loop {
        match facts.recv().await.unwrap() {
            Fact::FileClosed(seg) => files.push(*seg),
            Fact::RecordingEnded { reason, .. } => {
                assert_eq!(reason, EndReason::IdleTimeout);
                break;
            }
            Fact::StreamStarted { .. } | Fact::StreamEnded { .. } => {}
        }
    }
    assert_eq!(files.len(), 2, "{files:#?}");
    // Files close side by side on the close threads: their facts may come in either order.
    files.sort_by_key(|f| f.start_ms);
    assert_eq!(files[0].recording, files[1].recording, "one recording");
    assert_eq!(day_of(files[0].start_ms), day_of(midnight - 1));
    assert_eq!(day_of(files[1].start_ms), day_of(midnight));
    for f in &files {
        assert!(
            f.rel_path.contains(&format!("/{}/", day_of(f.start_ms))),
            "{} filed under its day",
            f.rel_path
        );
        assert!(f.path.exists());
        assert!(
            tally_media::manifest::path_of(&f.path).exists(),
            "a manifest beside it"
        );
        assert!(f.file_id > 0);
    }
    assert!(files[1].file_id > files[0].file_id);
}
