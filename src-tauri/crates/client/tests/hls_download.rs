//! An HLS recording downloads to 100 % as one `.ts` file of exactly its recorded size that
//! plays, and a download cut in the middle of a chunk resumes to the same bytes; the same when
//! the recording has moved to a bucket.

mod common;

use std::time::Duration;

use common::{publisher, start_server};
use tally_client::download::part_path;
use tally_client::recording_download::download_recording;
use tally_client::sync::{sync, ServerRef};
use tally_client::RecordingCache;
use tally_testkit::s3::{bucket_flags, S3Server};

#[tokio::test(flavor = "multi_thread")]
async fn an_hls_recording_downloads_whole_as_one_ts_and_resumes_mid_chunk() {
    downloads_whole_and_resumes(None).await;
}

/// The same from a server whose recordings have moved to a bucket: the playlist comes from
/// `/vod`, each chunk from the bucket by a presigned link (the token never goes there).
#[tokio::test(flavor = "multi_thread")]
async fn an_hls_recording_in_a_bucket_downloads_and_resumes_the_same() {
    downloads_whole_and_resumes(Some(S3Server::start("tally"))).await;
}

async fn downloads_whole_and_resumes(bucket: Option<S3Server>) {
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let flags = bucket
        .as_ref()
        .map(|s3| bucket_flags(&s3.endpoint(), "tally"))
        .unwrap_or_default();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = start_server(data.path(), "127.0.0.1:0", &flags);
    let push = format!("{}/live/8888_hls?record=hls", server.rtmp);
    // Long enough for several chunks.
    let status = tokio::task::spawn_blocking(move || publisher(&push, 9).status())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let rows = server.wait_recordings(1).await;
    let size = rows[0]["size"].as_u64().unwrap();
    let file_id = rows[0]["file_id"].as_str().unwrap().to_owned();
    if bucket.is_some() {
        // Uploaded once nothing of it is left on disk.
        for _ in 0..300 {
            if tally_testkit::finished_files(data.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(tally_testkit::finished_files(data.path()).is_empty());
    }

    let http = reqwest::Client::new();
    let remote = ServerRef {
        base_url: server.http.clone(),
        token: None,
    };
    let (cache, _) = RecordingCache::open(&local.path().join("cache.db"))
        .await
        .unwrap();
    sync(&http, &cache, &remote, 50, None).await.unwrap();
    let downloads = local.path().join("Downloads");
    let mut seen = Vec::new();
    let path = download_recording(&http, &cache, &remote, &file_id, &downloads, |p| {
        seen.push(p.percent)
    })
    .await
    .unwrap();
    assert_eq!(path.extension().unwrap(), "ts");
    let whole = std::fs::read(&path).unwrap();
    assert_eq!(whole.len() as u64, size);
    assert_eq!(seen.last(), Some(&100));
    let duration = tally_testkit::ffprobe_duration(&path).expect("the .ts plays");
    assert!((duration - 9.0).abs() < 1.0, "{duration}");
    let server_id = cache.server_id(&server.http).await.unwrap();
    let row = cache.get(server_id, &file_id).await.unwrap().unwrap();
    assert_eq!(row.download_state, "done");

    // Cut in the middle of the second chunk (a third of the way in), then resumed.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(part_path(&path), &whole[..whole.len() / 3 + 1001]).unwrap();
    let resumed = tokio::time::timeout(
        Duration::from_secs(30),
        download_recording(&http, &cache, &remote, &file_id, &downloads, |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        std::fs::read(&resumed).unwrap() == whole,
        "resumed to the same bytes"
    );
}
