//! Retention on a real index and real files: the oldest recordings past the size cap, then
//! those past the age limit, leave the disk and become tombstones that syncing clients see.

use std::path::Path;

use tally_media::clock::ManualClock;
use tally_media::{Format, RecordingId, SegmentClosed};
use tally_server::events::EventHub;
use tally_server::index::{Index, RecordingQuery};
use tally_server::indexer::Indexer;
use tally_server::outbox::CallbackOutbox;
use tally_server::retention::{sweep, Policy};
use tally_server::urls::Urls;

const T0: i64 = 1_796_000_000_000;
const HOUR: i64 = 3_600_000;

/// Writes a finished FLV of `size` bytes with its manifest and indexes it as started at
/// `start_ms`; returns its file id.
async fn recorded(
    indexer: &Indexer,
    data: &Path,
    name: &str,
    size: usize,
    start_ms: i64,
) -> String {
    let rel_path = format!("vod/live/8888_ret/20261207/{name}.flv");
    let path = data.join(&rel_path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![7u8; size]).unwrap();
    let seg = SegmentClosed {
        file_id: 0,
        recording: RecordingId(1),
        manual: false,
        label: String::new(),
        app: "live".into(),
        stream_code: "8888_ret".into(),
        stream_param: String::new(),
        record_id: Some(name.into()),
        format: Format::Flv,
        path: path.clone(),
        rel_path,
        size: size as u64,
        start_ms,
        end_ms: start_ms + 1000,
        duration_ms: 1000,
        video_codec: None,
        audio_codec: None,
        width: None,
        height: None,
        recovered: false,
        poster: None,
    };
    tally_media::manifest::write(&seg).unwrap();
    indexer.file_closed(&seg).await.unwrap()
}

#[tokio::test]
async fn the_oldest_past_the_size_cap_then_past_the_age_are_deleted_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let clock = ManualClock::at(T0);
    let (index, _) = Index::open_at(
        data,
        tally_testkit::postgres::index_url(data).as_deref(),
        T0,
    )
    .await
    .unwrap();
    let events = EventHub::new(data);
    let indexer = Indexer {
        outbox: CallbackOutbox::start(
            index.clone(),
            None,
            "k".into(),
            events.clone(),
            clock.clone(),
        ),
        index: index.clone(),
        uploads: Default::default(),
        urls: Urls::new(
            "http://127.0.0.1:1",
            tally_server::signing::UrlSigner::new([1; 32]),
            clock.clone(),
        ),
        appid: 1400,
        callbacks_on: false,
        events,
        clock: clock.clone(),
    };
    let a = recorded(&indexer, data, "a", 100, T0).await;
    let b = recorded(&indexer, data, "b", 200, T0 + HOUR).await;
    let c = recorded(&indexer, data, "c", 300, T0 + 2 * HOUR).await;
    let on_disk = |name: &str| {
        data.join(format!("vod/live/8888_ret/20261207/{name}.flv"))
            .exists()
    };
    let deleted = |id: String| {
        let index = index.clone();
        async move { index.get(&id).await.unwrap().unwrap().recording.deleted }
    };

    // 500 bytes kept: c and b fill them, a is past the cap.
    let size_cap = Policy {
        max_bytes: Some(500),
        ..Policy::default()
    };
    let now = T0 + 3 * HOUR;
    assert_eq!(sweep(&index, None, data, size_cap, now).await.unwrap(), 1);
    assert!(deleted(a.clone()).await && !on_disk("a"));
    assert!(!deleted(b.clone()).await && on_disk("b"));
    assert!(!deleted(c.clone()).await && on_disk("c"));
    assert_eq!(
        sweep(&index, None, data, size_cap, now).await.unwrap(),
        0,
        "nothing more"
    );

    // Kept for 1.5 h: b started 2 h ago.
    let age = Policy {
        max_age_ms: Some(3 * HOUR / 2),
        ..Policy::default()
    };
    assert_eq!(sweep(&index, None, data, age, now).await.unwrap(), 1);
    assert!(deleted(b.clone()).await && !on_disk("b"));
    assert!(!deleted(c.clone()).await && on_disk("c"));
    assert!(
        !data
            .join("vod/live/8888_ret/20261207/b.flv.meta.json")
            .exists(),
        "the manifest goes too, so a rebuilt index does not bring it back"
    );

    // Plain listings no longer show them; a syncing client gets their tombstones.
    let (listed, _) = index.list(&RecordingQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let (synced, _) = index
        .list(&RecordingQuery {
            updated_since: Some(0),
            ..RecordingQuery::default()
        })
        .await
        .unwrap();
    let tombstones: Vec<_> = synced
        .iter()
        .filter(|f| f.recording.deleted)
        .map(|f| f.recording.file_id.clone())
        .collect();
    assert_eq!(tombstones.len(), 2);
    assert!(tombstones.contains(&a) && tombstones.contains(&b));
}
