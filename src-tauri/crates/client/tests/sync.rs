//! Sync from a real `tally-server`: new and changed rows reach the cache, a cut sync resumes
//! without duplicates, a change committed behind the cache's cursor (a slow callback delivery)
//! still arrives, and the cache answers offline.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{publisher, start_server};
use tally_api::recordings::CallbackState;
use tally_client::cache::SearchQuery;
use tally_client::sync::{sync, ServerRef};
use tally_client::RecordingCache;

/// Publishes for `seconds` and waits for the publisher to finish.
async fn publish(url: String, seconds: u32) {
    let status = tokio::task::spawn_blocking(move || publisher(&url, seconds).status())
        .await
        .unwrap()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success(), "ffmpeg publish failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_brings_new_and_changed_rows_resumes_and_works_offline() {
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    // The callback receiver is down at first, so the files' callbacks stay pending.
    let reserved = TcpListener::bind("127.0.0.1:0").unwrap();
    let cb_addr = reserved.local_addr().unwrap();
    drop(reserved);
    let callback_url = format!("http://{cb_addr}/cb");
    let server = start_server(
        data.path(),
        "127.0.0.1:0",
        &["--callback-key", "k", "--callback-url", &callback_url],
    );
    let push = format!("{}/live/8888_sync?record=flv,mp4&recordId=r9", server.rtmp);
    publish(push, 3).await;

    let http = reqwest::Client::new();
    let remote = ServerRef {
        base_url: server.http.clone(),
        token: None,
    };
    let cache_path = local.path().join("cache.db");
    let (cache, _) = RecordingCache::open(&cache_path).await.unwrap();
    let mut total = 0;
    for _ in 0..50 {
        let page: serde_json::Value = http
            .get(format!("{}/v1/recordings", server.http))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        total = page["recordings"].as_array().unwrap().len();
        if total == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(total, 2);

    // A sync cut after its first page, then resumed: both rows, once each.
    let first = sync(&http, &cache, &remote, 1, Some(1)).await.unwrap();
    assert_eq!((first.pages, first.rows), (1, 1));
    assert_eq!(cache.count().await.unwrap(), 1);
    let server_id = cache.server_id(&server.http).await.unwrap();
    assert_eq!(
        cache.last_synced(server_id).await.unwrap(),
        None,
        "not caught up yet"
    );
    sync(&http, &cache, &remote, 1, None).await.unwrap();
    assert_eq!(cache.count().await.unwrap(), 2);
    assert!(cache.last_synced(server_id).await.unwrap().is_some());
    let rows = cache
        .search(&SearchQuery {
            text: "8888_sync_r9".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.callback_state == CallbackState::Pending),
        "{rows:?}"
    );

    // The receiver comes up; once the callbacks are delivered, the change syncs down.
    let listener = tokio::net::TcpListener::bind(cb_addr).await.unwrap();
    let app = axum::Router::new().route("/cb", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut delivered = 0;
    for _ in 0..100 {
        sync(&http, &cache, &remote, 50, None).await.unwrap();
        let rows = cache.search(&SearchQuery::default()).await.unwrap().rows;
        delivered = rows
            .iter()
            .filter(|r| r.callback_state == CallbackState::Delivered)
            .count();
        if delivered == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(delivered, 2, "changed callback state reached the cache");
    assert_eq!(cache.count().await.unwrap(), 2, "no duplicates");
    cache.close().await;

    // Offline: the server is gone; the cache still answers, and a sync says why it failed.
    drop(server);
    let (cache, report) = RecordingCache::open(&cache_path).await.unwrap();
    assert_eq!(report.moved_aside, None);
    assert_eq!(
        cache
            .search(&SearchQuery::default())
            .await
            .unwrap()
            .rows
            .len(),
        2
    );
    let err = sync(&http, &cache, &remote, 50, None).await.unwrap_err();
    assert!(err.to_string().contains("could not be reached"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_deleted_on_the_server_is_hidden_in_the_cache_after_sync() {
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = start_server(
        data.path(),
        "127.0.0.1:0",
        &[
            "--callback-key",
            "k",
            "--callback-url",
            "http://127.0.0.1:9/cb",
        ],
    );
    let push = format!("{}/live/8888_gone?record=mp4&recordId=r1", server.rtmp);
    publish(push, 2).await;
    let http = reqwest::Client::new();
    let remote = ServerRef {
        base_url: server.http.clone(),
        token: None,
    };
    let (cache, _) = RecordingCache::open(&local.path().join("cache.db"))
        .await
        .unwrap();
    let visible = |cache: RecordingCache| async move {
        cache.search(&SearchQuery::default()).await.unwrap().rows
    };
    for _ in 0..50 {
        sync(&http, &cache, &remote, 50, None).await.unwrap();
        if !visible(cache.clone()).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = visible(cache.clone()).await;
    assert_eq!(rows.len(), 1);

    let deleted = http
        .delete(format!("{}/v1/recordings/{}", server.http, rows[0].file_id))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    sync(&http, &cache, &remote, 50, None).await.unwrap();

    assert!(
        visible(cache.clone()).await.is_empty(),
        "hidden from search"
    );
    let all = cache
        .search(&SearchQuery {
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .rows;
    assert_eq!(all.len(), 1, "kept as a tombstone, not duplicated");
    assert!(all[0].deleted);
}

/// A callback receiver that takes `slow` over the first file callback of `code`; it answers
/// everything else at once.
async fn slow_receiver(code: &'static str, slow: Duration) -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    let slowed = Arc::new(AtomicBool::new(false));
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: String| {
            let slowed = slowed.clone();
            async move {
                let file_of_code = body.contains("\"event_type\":100") && body.contains(code);
                if file_of_code && !slowed.swap(true, Ordering::SeqCst) {
                    tokio::time::sleep(slow).await;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_state_that_changes_during_a_slow_delivery_still_reaches_the_cache() {
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let callback_url = slow_receiver("8888_slow_a", Duration::from_secs(8)).await;
    let server = start_server(
        data.path(),
        "127.0.0.1:0",
        &["--callback-key", "k", "--callback-url", &callback_url],
    );
    // A's file callback is slow; B's row is written while it is under way.
    publish(format!("{}/live/8888_slow_a?record=flv", server.rtmp), 2).await;
    publish(format!("{}/live/8888_slow_b?record=flv", server.rtmp), 2).await;
    let http = reqwest::Client::new();
    let remote = ServerRef {
        base_url: server.http.clone(),
        token: None,
    };
    let (cache, _) = RecordingCache::open(&local.path().join("cache.db"))
        .await
        .unwrap();
    let server_id = cache.server_id(&server.http).await.unwrap();
    let state_of = |code: &'static str| {
        let cache = cache.clone();
        async move {
            let rows = cache.search(&SearchQuery::default()).await.unwrap().rows;
            rows.into_iter()
                .find(|r| r.stream_code == code)
                .map(|r| r.callback_state)
        }
    };
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        sync(&http, &cache, &remote, 50, None).await.unwrap();
        if state_of("8888_slow_b").await.is_some() {
            break;
        }
        assert!(Instant::now() < until, "B's row did not reach the cache");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(state_of("8888_slow_a").await, Some(CallbackState::Pending));

    // A's delivery ends after the cache synced past B: the next syncs must still bring it.
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        sync(&http, &cache, &remote, 50, None).await.unwrap();
        if state_of("8888_slow_a").await == Some(CallbackState::Delivered) {
            break;
        }
        assert!(
            Instant::now() < until,
            "A's delivered callback never reached the cache (server {server_id})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
