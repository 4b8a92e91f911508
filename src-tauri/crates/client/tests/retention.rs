//! Retention end to end: a real `tally-server` uploading to a real S3-compatible server (moto),
//! restarted with a size cap and then an age limit; the recordings past them leave the bucket
//! and the disk, and the console's cache drops them at its next sync.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{publisher, start_server};
use serde_json::Value;
use tally_client::cache::SearchQuery;
use tally_client::sync::{sync, ServerRef};
use tally_client::RecordingCache;
use tally_testkit::s3::{bucket_flags, S3Server};
use tally_testkit::ServerProcess;

const BUCKET: &str = "tally";

async fn publish(url: String, seconds: u32) {
    let status = tokio::task::spawn_blocking(move || publisher(&url, seconds).status())
        .await
        .unwrap()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success(), "ffmpeg publish failed");
}

/// Waits until the server lists exactly `n` recordings, each linked to the bucket (uploaded).
async fn uploaded(server: &ServerProcess, endpoint: &str, n: usize) -> Vec<Value> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = server.recordings().await;
        let in_bucket = rows
            .iter()
            .filter(|r| r["url"].as_str().unwrap_or_default().starts_with(endpoint))
            .count();
        if (rows.len() == n && in_bucket == n) || Instant::now() > until {
            assert_eq!((rows.len(), in_bucket), (n, n), "{rows:?}");
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The bucket keys of a recording (its file and manifest), from its row's URL.
fn keys_of(row: &Value) -> Vec<String> {
    let url = row["url"].as_str().unwrap();
    let rel = tally_testkit::vod_path(url);
    vec![format!("vod/{rel}"), format!("vod/{rel}.meta.json")]
}

fn files_below(data: &Path) -> usize {
    tally_testkit::walk(&data.join("vod")).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn recordings_past_the_size_cap_and_the_age_leave_bucket_disk_and_cache() {
    let s3 = S3Server::start(BUCKET);
    let endpoint = s3.endpoint();
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let owned_flags = bucket_flags(&endpoint, BUCKET);
    let bucket_flags: Vec<&str> = owned_flags.iter().map(String::as_str).collect();
    let mut server = start_server(data.path(), "127.0.0.1:0", &bucket_flags);
    let api = server.http.trim_start_matches("http://").to_owned();
    for (code, n) in [("8888_old", 1), ("8888_new", 2)] {
        publish(format!("{}/live/{code}?record=mp4", server.rtmp), 2).await;
        uploaded(&server, &endpoint, n).await;
    }
    let rows = server.recordings().await;
    let old = rows
        .iter()
        .find(|r| r["stream_code"] == "8888_old")
        .unwrap()
        .clone();
    let new = rows
        .iter()
        .find(|r| r["stream_code"] == "8888_new")
        .unwrap()
        .clone();

    let http = reqwest::Client::new();
    let remote = ServerRef {
        base_url: server.http.clone(),
        token: None,
    };
    let (cache, _) = RecordingCache::open(&local.path().join("cache.db"))
        .await
        .unwrap();
    let visible = || async {
        let rows = cache.search(&SearchQuery::default()).await.unwrap().rows;
        let mut codes: Vec<String> = rows.into_iter().map(|r| r.recording.stream_code).collect();
        codes.sort();
        codes
    };
    sync(&http, &cache, &remote, 50, None).await.unwrap();
    assert_eq!(visible().await, ["8888_new", "8888_old"]);

    // A cap of 1.5 times the newer file: the older one goes, at the restart's first sweep.
    server.terminate();
    let cap_gb = new["size"].as_f64().unwrap() * 1.5 / 1e9;
    let cap = cap_gb.to_string();
    let mut flags = bucket_flags.clone();
    flags.extend(["--retention-max-gb", &cap]);
    let mut server = start_server(data.path(), &api, &flags);
    let kept = uploaded(&server, &endpoint, 1).await;
    assert_eq!(kept[0]["stream_code"], "8888_new");
    let keys = s3.keys(BUCKET);
    for key in keys_of(&old) {
        assert!(
            !keys.contains(&key),
            "{key} is still in the bucket: {keys:?}"
        );
    }
    for key in keys_of(&new) {
        assert!(keys.contains(&key), "{key} was deleted: {keys:?}");
    }
    assert_eq!(files_below(data.path()), 0, "nothing left on disk");
    sync(&http, &cache, &remote, 50, None).await.unwrap();
    assert_eq!(
        visible().await,
        ["8888_new"],
        "the cache drops the deleted recording"
    );
    let tombstones = cache
        .search(&SearchQuery {
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .rows;
    assert!(tombstones
        .iter()
        .any(|r| r.stream_code == "8888_old" && r.deleted));

    // Kept for about a second: the newer one is past that too.
    server.terminate();
    let mut flags = bucket_flags.clone();
    flags.extend(["--retention-days", "0.00001"]);
    let server = start_server(data.path(), &api, &flags);
    let until = Instant::now() + Duration::from_secs(30);
    while !server.recordings().await.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.recordings().await.is_empty());
    let keys = s3.keys(BUCKET);
    assert!(
        keys.iter()
            .all(|k| !k.contains("8888_new/") || k.ends_with(".jpg")),
        "{keys:?}"
    );
    sync(&http, &cache, &remote, 50, None).await.unwrap();
    assert!(visible().await.is_empty());
}
