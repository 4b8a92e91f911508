//! The library's background work against real HTTP servers: the sync loop (and what it says
//! when the server goes away), saving a recording with its state kept in the cache, and CSV
//! export of a whole result set.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::http::header::CONNECTION;
use axum::http::HeaderValue;
use axum::routing::get;
use axum::{Json, Router};
use tally_api::recordings::{Recording, RecordingPage};
use tally_client::cache::SearchQuery;
use tally_client::export::export_csv;
use tally_client::recording_download::{download_recording, SaveError};
use tally_client::sync::ServerRef;
use tally_client::sync_loop::{SyncLoop, SyncStatus};
use tally_client::CachedRecording;
use tally_client::RecordingCache;
use tokio::sync::watch;
use tower_http::services::ServeDir;

fn recording(n: i64, file_name: &str, url: &str, size: i64) -> Recording {
    Recording {
        file_id: format!("{}", 5_000 + n),
        video_id: String::new(),
        record_file_id: String::new(),
        stream_code: format!("8888_s{n}"),
        channel_id: String::new(),
        room_id: "demo".into(),
        user_id: "anchor".into(),
        record_id: format!("r{n}"),
        file_name: file_name.into(),
        tags: vec![],
        format: tally_api::recordings::FileFormat::Mp4,
        url: url.into(),
        thumbnail_url: None,
        size,
        start_ms: 1_700_000_000_000 + n * 1_000,
        end_ms: 1_700_000_000_000 + n * 1_000 + 500,
        duration_ms: 500,
        video_codec: None,
        audio_codec: None,
        width: None,
        height: None,
        created_ms: 1_700_000_000_000 + n * 1_000,
        updated_ms: 1_700_000_000_000 + n * 1_000,
        callback_state: tally_api::recordings::CallbackState::None,
        recovered: false,
        deleted: false,
        missing: false,
    }
}

/// Serves `/v1/recordings` (one page, any cursor: enough for the loop) and the files in `dir`.
async fn serve(page: RecordingPage, dir: &Path) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route(
            "/v1/recordings",
            get(move || {
                let page = page.clone();
                async move { Json(page) }
            }),
        )
        .nest_service("/vod", ServeDir::new(dir))
        // No kept-alive connections: a stopped server must look unreachable at once.
        .layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                response
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, task)
}

async fn open_cache(dir: &Path) -> RecordingCache {
    RecordingCache::open(&dir.join("cache.db")).await.unwrap().0
}

async fn wait_for(
    status: &mut watch::Receiver<SyncStatus>,
    what: &str,
    done: impl Fn(&SyncStatus) -> bool,
) -> SyncStatus {
    let found = tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| done(s)))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap()
        .clone();
    found
}

#[tokio::test]
async fn sync_loop_fills_the_cache_then_reports_offline_and_keeps_rows() {
    let local = tempfile::tempdir().unwrap();
    let page = RecordingPage {
        recordings: vec![recording(1, "物理第三讲", "http://x/vod/a.mp4", 10)],
        next_cursor: None,
    };
    let (addr, server_task) = serve(page, local.path()).await;
    let cache = open_cache(local.path()).await;
    let server = ServerRef {
        base_url: format!("http://{addr}"),
        token: None,
    };
    let sync_loop = SyncLoop::spawn(
        cache.clone(),
        move || server.clone(),
        Duration::from_secs(3600),
    );
    let mut status = sync_loop.subscribe();

    let synced = wait_for(&mut status, "the first sync", |s| {
        s.last_synced_ms.is_some()
    })
    .await;
    assert_eq!(synced.offline, None);
    assert_eq!(synced.changes, 1, "the first sync brought a row");
    assert_eq!(cache.count().await.unwrap(), 1);

    server_task.abort();
    let _ = server_task.await;
    sync_loop.sync_now();
    let offline = wait_for(&mut status, "the offline notice", |s| {
        s.offline.is_some() && !s.syncing
    })
    .await;
    assert!(
        offline
            .offline
            .as_deref()
            .unwrap()
            .contains("could not be reached"),
        "{offline:?}"
    );
    assert_eq!(offline.last_synced_ms, synced.last_synced_ms);
    let rows = cache.search(&SearchQuery::default()).await.unwrap().rows;
    assert_eq!(rows.len(), 1, "cached rows stay available offline");
}

#[tokio::test]
async fn download_is_marked_done_and_a_size_mismatch_is_marked_failed() {
    let served = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(served.path().join("a.mp4"), &content).unwrap();
    let local = tempfile::tempdir().unwrap();
    let (addr, _server) = serve(
        RecordingPage {
            recordings: vec![],
            next_cursor: None,
        },
        served.path(),
    )
    .await;
    let server = ServerRef {
        base_url: format!("http://{addr}"),
        token: None,
    };
    let cache = open_cache(local.path()).await;
    let server_id = cache.server_id(&server.base_url).await.unwrap();
    let url = format!("http://{addr}/vod/a.mp4");
    let good = CachedRecording::new(
        server_id,
        recording(1, "物理第三讲", &url, content.len() as i64),
    );
    let wrong = CachedRecording::new(server_id, recording(2, "wrong size", &url, 999));
    cache.upsert(&[good.clone(), wrong.clone()]).await.unwrap();
    let http = reqwest::Client::new();
    let downloads = local.path().join("Downloads");

    let mut seen = Vec::new();
    let path = download_recording(&http, &cache, &server, &good.file_id, &downloads, |p| {
        seen.push(p.percent)
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert_eq!(path.file_name().unwrap(), "物理第三讲_5001.mp4");
    assert_eq!(seen.last(), Some(&100));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    let row = cache.get(server_id, &good.file_id).await.unwrap().unwrap();
    assert_eq!(row.download_state, "done");
    assert_eq!(row.downloaded_bytes, content.len() as i64);
    assert_eq!(row.download_path.as_deref(), path.to_str());

    let err = download_recording(&http, &cache, &server, &wrong.file_id, &downloads, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, SaveError::Download(_)), "{err}");
    let row = cache.get(server_id, &wrong.file_id).await.unwrap().unwrap();
    assert_eq!(row.download_state, "failed");
    assert!(!Path::new(row.download_path.as_deref().unwrap()).exists());
}

#[tokio::test]
async fn a_failed_download_starts_over_instead_of_resuming_untrusted_bytes() {
    let served = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    // At first the server has a short, different file (being rewritten, say).
    std::fs::write(served.path().join("a.mp4"), vec![0xEE; 1_000]).unwrap();
    let local = tempfile::tempdir().unwrap();
    let empty = RecordingPage {
        recordings: vec![],
        next_cursor: None,
    };
    let (addr, _server) = serve(empty, served.path()).await;
    let server = ServerRef {
        base_url: format!("http://{addr}"),
        token: None,
    };
    let cache = open_cache(local.path()).await;
    let server_id = cache.server_id(&server.base_url).await.unwrap();
    let url = format!("http://{addr}/vod/a.mp4");
    let row = CachedRecording::new(server_id, recording(1, "课", &url, content.len() as i64));
    cache.upsert(std::slice::from_ref(&row)).await.unwrap();
    let http = reqwest::Client::new();
    let downloads = local.path().join("Downloads");
    download_recording(&http, &cache, &server, &row.file_id, &downloads, |_| {})
        .await
        .unwrap_err();

    std::fs::write(served.path().join("a.mp4"), &content).unwrap();
    let path = download_recording(&http, &cache, &server, &row.file_id, &downloads, |_| {})
        .await
        .unwrap();

    assert_eq!(
        std::fs::read(path).unwrap(),
        content,
        "no stale bytes at the start"
    );
    let row = cache.get(server_id, &row.file_id).await.unwrap().unwrap();
    assert_eq!(row.download_state, "done");
}

#[tokio::test]
async fn export_writes_every_matching_row_not_just_one_page() {
    let local = tempfile::tempdir().unwrap();
    let cache = open_cache(local.path()).await;
    let server_id = cache.server_id("http://127.0.0.1:1").await.unwrap();
    let rows: Vec<_> = (0..1_203)
        .map(|n| {
            let name = if n % 3 == 0 {
                format!("物理,第{n}讲")
            } else {
                format!("other \"{n}\"")
            };
            CachedRecording::new(server_id, recording(n, &name, "http://x/vod/a.mp4", 1))
        })
        .collect();
    cache.upsert(&rows).await.unwrap();
    let path = local.path().join("export.csv");
    let query = SearchQuery {
        text: "物理".into(),
        limit: 20,
        ..SearchQuery::default()
    };

    let count = export_csv(&cache, &query, &path).await.unwrap();

    assert_eq!(count, 401);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("UTF-8 byte-order mark");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 402);
    assert!(lines[0].starts_with("file_id,file_name,stream_code"));
    assert!(
        lines[1].starts_with("6200,\"物理,第1200讲\",8888_s1200,"),
        "{}",
        lines[1]
    );
}
