//! The recordings library in the real app: it opens its SQLite cache and syncs the embedded
//! server into it, works offline from the cache when its server is unreachable, and a damaged
//! cache is moved aside with a clear message instead of being silently dropped.

mod support;

use std::time::Duration;

use support::{Desktop, Launch};
use tally_api::recordings::Recording;
use tally_client::{CachedRecording, RecordingCache};

/// A cache file holding one recording of the server at `server_url`, as a previous run left it.
async fn cache_file_with_one_recording(server_url: &str, file_name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let (cache, _) = RecordingCache::open(&path).await.unwrap();
    let server_id = cache.server_id(server_url).await.unwrap();
    let recording = Recording {
        file_id: "1795600801549000".into(),
        video_id: String::new(),
        record_file_id: String::new(),
        stream_code: "8888_offline".into(),
        channel_id: String::new(),
        room_id: "demo".into(),
        user_id: "demo-anchor".into(),
        record_id: "r1".into(),
        file_name: file_name.into(),
        tags: vec![],
        format: tally_api::recordings::FileFormat::Mp4,
        url: format!("{server_url}/vod/live/a.mp4"),
        thumbnail_url: None,
        size: 244_367,
        start_ms: 1_795_600_798_313,
        end_ms: 1_795_600_802_313,
        duration_ms: 4_000,
        video_codec: Some("h264".into()),
        audio_codec: Some("aac".into()),
        width: Some(640),
        height: Some(360),
        created_ms: 1_795_600_802_400,
        updated_ms: 1_795_600_802_400,
        callback_state: tally_api::recordings::CallbackState::None,
        recovered: false,
        deleted: false,
        missing: false,
    };
    cache
        .upsert(&[CachedRecording::new(server_id, recording)])
        .await
        .unwrap();
    cache.close().await; // checkpoints the WAL into the file
    std::fs::read(&path).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn library_opens_its_cache_syncs_and_shows_the_empty_state() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.click("[data-testid=nav-recordings]").await;
    desktop
        .expect_text("[data-testid=page-title]", "Recordings")
        .await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-status]",
            "Last synced",
            Duration::from_secs(20),
        )
        .await;
    desktop
        .expect_text("[data-testid=empty-state] h2", "No recordings yet")
        .await;
    assert!(desktop.data_dir().join("recordings-cache.db").exists());
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_server_shows_offline_and_the_cache_still_answers() {
    // A server address where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let server_url = format!("http://{dead}");
    let cache = cache_file_with_one_recording(&server_url, "离线也能找到的录像").await;
    let settings = format!(r#"{{"remote": {{"url": "{server_url}", "token": null}}}}"#);
    let desktop = Desktop::launch(Launch {
        data_files: vec![
            ("settings.json", settings.as_bytes()),
            ("recordings-cache.db", &cache),
        ],
        ..Launch::default()
    })
    .await;
    desktop.click("[data-testid=nav-recordings]").await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-status]",
            "Offline",
            Duration::from_secs(20),
        )
        .await;
    desktop.wait_for_text("[data-testid=library-offline]").await;

    desktop
        .type_into("[data-testid=library-search]", "也能找到")
        .await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-row]",
            "离线也能找到的录像",
            Duration::from_secs(10),
        )
        .await;
    desktop.click("[data-testid=library-row] td").await;
    let detail = desktop.wait_for_text("[data-testid=library-detail]").await;
    assert!(
        detail.contains("Shown when the server is reachable."),
        "{detail}"
    );
    desktop.screenshot("library-offline");
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_cache_is_moved_aside_with_a_message() {
    let garbage: &[u8] = b"not a database at all, just bytes that used to be a cache file";
    let desktop = Desktop::launch(Launch {
        data_files: vec![("recordings-cache.db", garbage)],
        ..Launch::default()
    })
    .await;
    desktop.click("[data-testid=nav-recordings]").await;
    let banner = desktop.wait_for_text("[data-testid=library-rebuilt]").await;
    assert!(banner.contains("moved aside"), "{banner}");
    assert!(banner.contains("damaged or not a database"), "{banner}");
    let kept: Vec<_> = std::fs::read_dir(desktop.data_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("unusable"))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "the damaged file is kept beside the new cache"
    );
    assert_eq!(std::fs::read(kept[0].path()).unwrap(), garbage);
    desktop.screenshot("library-rebuilt");
    desktop.close().await;
}
