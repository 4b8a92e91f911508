//! Finished recordings move to an S3-compatible bucket: a real `tally-server`, a real ffmpeg
//! publisher, a real S3 server (moto, `tally_testkit::s3`) behind a slow proxy, stopped in the
//! middle of the uploads and started again, and a real callback receiver.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{callback_receiver, files_by_id, publish, start_server, vod_path, wait_files};
use md5::{Digest, Md5};
use serde_json::Value;
use tally_testkit::s3::{bucket_flags, S3Server};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUCKET: &str = "tally";

fn md5_of(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// A TCP proxy to `upstream` that forwards requests at about `bytes_per_s` (answers at full
/// speed) and counts the request bytes it forwarded.
async fn slow_proxy(upstream: String, bytes_per_s: u64) -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let forwarded = Arc::new(AtomicU64::new(0));
    let count = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, count) = (upstream.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        match client_rx.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                let pause =
                                    Duration::from_micros(n as u64 * 1_000_000 / bytes_per_s);
                                tokio::time::sleep(pause).await;
                                if server_tx.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                                count.fetch_add(n as u64, Ordering::SeqCst);
                            }
                        }
                    }
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                };
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    (format!("http://{addr}"), forwarded)
}

/// MD5 of every local file of a recording row (the file, an HLS playlist's chunks, its
/// poster), by path below `vod/`.
fn local_digests(data: &Path, row: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let rel = vod_path(row["url"].as_str().unwrap()).to_owned();
    let path = data.join("vod").join(&rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if rel.ends_with(".m3u8") {
        let dir = rel.rsplit_once('/').unwrap().0;
        for chunk in String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| l.ends_with(".ts"))
        {
            let chunk_rel = format!("{dir}/{chunk}");
            let chunk_bytes = std::fs::read(data.join("vod").join(&chunk_rel)).unwrap();
            out.insert(chunk_rel, md5_of(&chunk_bytes));
        }
    }
    out.insert(rel, md5_of(&bytes));
    if let Some(thumb) = row["thumbnail_url"].as_str() {
        let rel = vod_path(thumb).to_owned();
        out.insert(
            rel.clone(),
            md5_of(&std::fs::read(data.join("vod").join(rel)).unwrap()),
        );
    }
    out
}

async fn download(http: &reqwest::Client, url: &str) -> Vec<u8> {
    let response = http.get(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn recordings_reach_the_bucket_byte_identical_through_an_outage_mid_upload() {
    let mut s3 = S3Server::start(BUCKET);
    // 48 KB/s: a recording of a few hundred kB is still going up when the bucket stops.
    let (endpoint, forwarded) = slow_proxy(s3.endpoint().replace("http://", ""), 48_000).await;
    let data = tempfile::tempdir().unwrap();
    let (cb_url, callbacks) = callback_receiver().await;
    let mut flags = bucket_flags(&endpoint, BUCKET);
    flags.extend(["--callback-url", &cb_url, "--callback-key", "k"].map(str::to_owned));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = start_server(data.path(), &flags);
    let code = "8888_s3";
    let push = format!("{}/live/{code}?record=flv,mp4,hls&recordId=r1", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 6))
        .await
        .unwrap();
    let rows = server.wait_recordings(3).await;
    assert_eq!(rows.len(), 3, "{rows:?}");

    // Stop the bucket once the uploads are under way.
    for _ in 0..300 {
        if forwarded.load(Ordering::SeqCst) > 32_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        forwarded.load(Ordering::SeqCst) > 32_000,
        "the uploads never started"
    );
    s3.stop();
    // Nothing is verified, so every local copy is still there, and no file was called back.
    let mut expected = HashMap::new();
    for row in &rows {
        expected.extend(local_digests(data.path(), row));
    }
    assert!(
        files_by_id(&callbacks).is_empty(),
        "a file was called back before its upload was verified"
    );
    let metrics = reqwest::get(format!("{}/metrics", server.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tally_uploads_pending 3"), "{metrics}");
    assert!(
        metrics.contains("tally_callbacks{state=\"held\"} 3"),
        "{metrics}"
    );

    // Down for a while (the queue retries and backs off), then back, empty.
    tokio::time::sleep(Duration::from_secs(3)).await;
    s3.restart(BUCKET);
    let called_back = wait_files(&callbacks, 3, Duration::from_secs(90)).await;
    assert_eq!(called_back.len(), 3, "{:?}", callbacks.lock().unwrap());

    // Every file is in the bucket byte for byte, under its path, with its manifest.
    let keys = s3.keys(BUCKET);
    for (rel, md5) in &expected {
        let key = format!("vod/{rel}");
        let stored = s3
            .get(BUCKET, &key)
            .unwrap_or_else(|| panic!("{key} not in {keys:?}"));
        assert_eq!(
            &md5_of(&stored),
            md5,
            "{key} differs from the recorded file"
        );
    }
    assert_eq!(
        keys.iter().filter(|k| k.ends_with(".meta.json")).count(),
        3,
        "{keys:?}"
    );
    // The local copies are gone, now that the bucket's are verified.
    let left: Vec<PathBuf> = tally_testkit::walk(&data.path().join("vod"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains(".rec"))
        .collect();
    assert!(left.is_empty(), "left on disk: {left:?}");

    // Each callback's video_url and thumbnail_url download the recorded bytes.
    let http = reqwest::Client::new();
    for cb in called_back.values() {
        let url = cb["video_url"].as_str().unwrap();
        let format = cb["file_format"].as_str().unwrap();
        if format == "hls" {
            // Through /vod: the playlist comes from the bucket with each chunk presigned there.
            let playlist = String::from_utf8(download(&http, url).await).unwrap();
            let chunks: Vec<&str> = playlist.lines().filter(|l| l.starts_with("http")).collect();
            assert!(!chunks.is_empty(), "{playlist}");
            for chunk in chunks {
                assert!(chunk.starts_with(&endpoint), "{chunk}");
                assert_eq!(
                    md5_of(&download(&http, chunk).await),
                    expected[vod_path(chunk)]
                );
            }
        } else {
            assert!(
                url.starts_with(&format!("{endpoint}/{BUCKET}/vod/")),
                "{url}"
            );
            assert!(url.contains("X-Amz-Signature="), "presigned: {url}");
            assert_eq!(
                md5_of(&download(&http, url).await),
                expected[vod_path(url)],
                "{url}"
            );
        }
        if let Some(thumb) = cb["thumbnail_url"].as_str() {
            let stored = download(&http, thumb).await;
            assert_eq!(md5_of(&stored), expected[vod_path(thumb)], "{thumb}");
        }
    }

    // The API links the bucket too, and a /vod link handed out before the upload is sent on
    // to the bucket.
    let now = server.recordings().await;
    let mp4 = now.iter().find(|r| r["format"] == "mp4").unwrap();
    assert!(mp4["url"].as_str().unwrap().starts_with(&endpoint), "{mp4}");
    let before = rows.iter().find(|r| r["format"] == "mp4").unwrap();
    let old_link = before["url"].as_str().unwrap();
    assert!(old_link.starts_with(&server.http), "{old_link}");
    let redirected = download(&http, old_link).await;
    assert_eq!(md5_of(&redirected), expected[vod_path(old_link)]);
}

/// kill -9 once every copy is verified in the bucket but before that is committed, and again
/// after the commit but before the local copy is removed: after a restart the file is in the
/// bucket byte for byte, called back once, and gone from the disk.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_at_each_step_of_an_upload_loses_nothing() {
    for point in tally_media::crashpoint::UPLOAD_POINTS {
        let s3 = S3Server::start(BUCKET);
        let endpoint = s3.endpoint();
        let data = tempfile::tempdir().unwrap();
        let (cb_url, callbacks) = callback_receiver().await;
        let mut flags = bucket_flags(&endpoint, BUCKET);
        flags.extend(["--callback-url".to_owned(), cb_url.clone()]);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let mut cmd = common::serve_command(common::server_bin(), data.path(), &flags);
        cmd.env("TALLY_CRASH_AT", point);
        let mut server = common::start_command(cmd);
        let push = format!("{}/live/8888_kill?record=mp4", server.rtmp);
        tokio::task::spawn_blocking(move || publish(&push, 2))
            .await
            .unwrap();
        let died = tokio::task::spawn_blocking(move || {
            let status = server.wait_exit(Duration::from_secs(30));
            (server, status)
        });
        let (_dead, status) = died.await.unwrap();
        assert!(status.is_some(), "the server did not reach {point}");
        let recorded = tally_testkit::finished_files(data.path());
        assert_eq!(
            recorded.len(),
            1,
            "{point}: the local copy is kept until the commit"
        );
        let bytes = std::fs::read(data.path().join(&recorded[0])).unwrap();

        let _server = start_server(data.path(), &flags);
        let mut called_back = HashMap::new();
        for _ in 0..300 {
            called_back = files_by_id(&callbacks);
            if !called_back.is_empty() && tally_testkit::finished_files(data.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            called_back.len(),
            1,
            "{point}: {:?}",
            callbacks.lock().unwrap()
        );
        assert!(
            tally_testkit::finished_files(data.path()).is_empty(),
            "{point}"
        );
        let url = called_back.values().next().unwrap()["video_url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(url.starts_with(&endpoint), "{point}: {url}");
        let stored = download(&reqwest::Client::new(), &url).await;
        assert_eq!(
            md5_of(&stored),
            md5_of(&bytes),
            "{point}: the bucket's copy differs"
        );
    }
}

/// A file past the single-PUT size goes up in parts and is verified against the multipart
/// ETag; a file that is not there is an error of its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_file_goes_up_in_parts_and_is_verified() {
    let s3 = S3Server::start(BUCKET);
    let bucket = tally_server::bucket::Bucket::open(&tally_server::bucket::BucketConfig {
        bucket: BUCKET.into(),
        endpoint: Some(s3.endpoint()),
        region: "us-east-1".into(),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        public_url: None,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mp4");
    // 20 MiB and a bit: three parts of 8 MiB, the last one short.
    let bytes: Vec<u8> = (0..20 * 1024 * 1024 + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    let size = bucket.upload(&path, "vod/live/big.mp4").await.unwrap();
    assert_eq!(size, bytes.len() as u64);
    let stored = s3.get(BUCKET, "vod/live/big.mp4").unwrap();
    assert_eq!(md5_of(&stored), md5_of(&bytes));
    assert!(bucket.exists("vod/live/big.mp4").await.unwrap());
    let link = bucket
        .link("vod/live/big.mp4", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        md5_of(&download(&reqwest::Client::new(), &link).await),
        md5_of(&bytes)
    );
    bucket.delete("vod/live/big.mp4").await.unwrap();
    assert!(!bucket.exists("vod/live/big.mp4").await.unwrap());
    bucket
        .delete("vod/live/big.mp4")
        .await
        .expect("already gone is fine");
    let missing = bucket
        .upload(&dir.path().join("none.mp4"), "vod/x.mp4")
        .await;
    assert!(matches!(
        missing,
        Err(tally_server::bucket::UploadError::Local(..))
    ));
}

/// A recording deleted while its upload is under way leaves nothing behind in the bucket, and
/// its upload ends.
#[tokio::test(flavor = "multi_thread")]
async fn a_recording_deleted_while_it_goes_up_leaves_nothing_in_the_bucket() {
    let s3 = S3Server::start(BUCKET);
    let (endpoint, forwarded) = slow_proxy(s3.endpoint().replace("http://", ""), 48_000).await;
    let data = tempfile::tempdir().unwrap();
    let flags = bucket_flags(&endpoint, BUCKET);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = start_server(data.path(), &flags);
    let push = format!("{}/live/8888_gone?record=mp4", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 2))
        .await
        .unwrap();
    let rows = server.wait_recordings(1).await;
    assert_eq!(rows.len(), 1);
    for _ in 0..300 {
        if forwarded.load(Ordering::SeqCst) > 16_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let http = reqwest::Client::new();
    let deleted = http
        .delete(format!(
            "{}/v1/recordings/{}",
            server.http,
            rows[0]["file_id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let mut metrics = String::new();
    for _ in 0..600 {
        metrics = http
            .get(format!("{}/metrics", server.http))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("tally_uploads_pending 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("tally_uploads_pending 0"), "{metrics}");
    let left: Vec<String> = s3
        .keys(BUCKET)
        .into_iter()
        .filter(|k| k.contains("8888_gone"))
        .collect();
    assert!(left.is_empty(), "left in the bucket: {left:?}");
    assert!(tally_testkit::walk(&data.path().join("vod")).is_empty());
}

/// Uploads that never got through when the bucket is taken out of the settings: at the next
/// start they end, the files stay on disk, and their held callbacks go out linked to `/vod`.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_taken_out_of_the_settings_releases_what_waited_for_it() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let data = tempfile::tempdir().unwrap();
    let (cb_url, callbacks) = callback_receiver().await;
    let mut flags = bucket_flags(&endpoint, BUCKET);
    flags.extend(["--callback-url".to_owned(), cb_url.clone()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut server = start_server(data.path(), &flags);
    let push = format!("{}/live/8888_stay?record=mp4", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 2))
        .await
        .unwrap();
    assert_eq!(server.wait_recordings(1).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        files_by_id(&callbacks).is_empty(),
        "held while the upload waits"
    );
    assert!(server.terminate().success());

    // Back on the same address: the callback's link was made for it.
    let api = server.http.trim_start_matches("http://").to_owned();
    let server = common::start_command(tally_testkit::server::serve_command_on(
        common::server_bin(),
        data.path(),
        &api,
        &["--callback-url", &cb_url],
    ));
    let called_back = wait_files(&callbacks, 1, Duration::from_secs(10)).await;
    assert_eq!(called_back.len(), 1, "{:?}", callbacks.lock().unwrap());
    let url = called_back.values().next().unwrap()["video_url"]
        .as_str()
        .unwrap();
    assert!(url.starts_with(&server.http), "linked to /vod: {url}");
    let bytes = download(&reqwest::Client::new(), url).await;
    let local = tally_testkit::finished_files(data.path());
    assert_eq!(local.len(), 1);
    assert_eq!(
        md5_of(&bytes),
        md5_of(&std::fs::read(data.path().join(&local[0])).unwrap())
    );
}

/// A recording removed from the disk by hand before its upload could happen is not waited for
/// forever: once the bucket answers, its row is marked missing and its callback goes out.
#[tokio::test(flavor = "multi_thread")]
async fn a_recording_removed_by_hand_before_its_upload_is_marked_missing() {
    let s3 = S3Server::start(BUCKET);
    let data = tempfile::tempdir().unwrap();
    let (cb_url, callbacks) = callback_receiver().await;
    // A bucket that does not exist yet: every upload fails until it is created.
    let mut flags = bucket_flags(&s3.endpoint(), "later");
    flags.extend(["--callback-url".to_owned(), cb_url.clone()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = start_server(data.path(), &flags);
    let push = format!("{}/live/8888_byhand?record=mp4", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 2))
        .await
        .unwrap();
    assert_eq!(server.wait_recordings(1).await.len(), 1);
    for rel in tally_testkit::finished_files(data.path()) {
        std::fs::remove_file(data.path().join(rel)).unwrap();
    }
    let created = std::process::Command::new("curl")
        .args(["-sf", "-X", "PUT", &format!("{}/later", s3.endpoint())])
        .status()
        .unwrap();
    assert!(created.success());
    let mut row = Value::Null;
    for _ in 0..200 {
        row = server.recordings().await.pop().unwrap_or_default();
        if row["missing"] == true && !files_by_id(&callbacks).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(row["missing"], true, "{row}");
    assert_eq!(files_by_id(&callbacks).len(), 1, "its callback went out");
}

/// The index is lost after the recordings went to the bucket (a server started on a fresh data
/// dir: a new SQLite file, or a new PostgreSQL database): it indexes them again from their
/// manifests in the bucket, under the same ids, linking the bucket, and calls each back again
/// (receivers deduplicate by file_id). Started once more, it adds nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_index_is_rebuilt_from_the_manifests_in_the_bucket() {
    let s3 = S3Server::start(BUCKET);
    let endpoint = s3.endpoint();
    let flags = bucket_flags(&endpoint, BUCKET);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let http = reqwest::Client::new();

    let first_data = tempfile::tempdir().unwrap();
    let first = start_server(first_data.path(), &flags);
    let push = format!("{}/live/8888_lost?record=flv,mp4&recordId=r1", first.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 4))
        .await
        .unwrap();
    first.wait_recordings(2).await;
    let mut uploaded = Vec::new();
    for _ in 0..600 {
        uploaded = first.recordings().await;
        if uploaded
            .iter()
            .all(|r| r["url"].as_str().unwrap().starts_with(&endpoint))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut expected = HashMap::new();
    for row in &uploaded {
        let url = row["url"].as_str().unwrap();
        assert!(url.starts_with(&endpoint), "not uploaded: {row}");
        expected.insert(
            row["file_id"].as_str().unwrap().to_owned(),
            md5_of(&download(&http, url).await),
        );
    }
    drop(first);
    // Hostile or broken manifests beside them: one naming a path outside its own key, one not
    // JSON. Neither becomes a row.
    let real = s3
        .keys(BUCKET)
        .into_iter()
        .find(|k| k.ends_with(".meta.json"))
        .unwrap();
    let mut forged: Value = serde_json::from_slice(&s3.get(BUCKET, &real).unwrap()).unwrap();
    forged["rel_path"] = "../../etc/passwd".into();
    forged["file_id"] = 1.into();
    for (key, body) in [
        ("vod/live/forged.mp4.meta.json", forged.to_string()),
        ("vod/live/broken.mp4.meta.json", "{not json".to_owned()),
    ] {
        let put = http
            .put(format!("{endpoint}/{BUCKET}/{key}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "{}", put.status());
    }

    let (cb_url, callbacks) = callback_receiver().await;
    let mut with_callbacks = flags.clone();
    with_callbacks.extend(["--callback-url", &cb_url, "--callback-key", "k"]);
    let data = tempfile::tempdir().unwrap();
    let second = start_server(data.path(), &with_callbacks);
    let rows = second.wait_recordings(2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        let file_id = row["file_id"].as_str().unwrap();
        let url = row["url"].as_str().unwrap();
        assert!(url.starts_with(&endpoint), "{row}");
        assert_eq!(
            md5_of(&download(&http, url).await),
            expected[file_id],
            "{row}"
        );
        assert_eq!(row["stream_code"], "8888_lost");
        assert_eq!(row["record_id"], "r1");
        assert!(row["duration_ms"].as_i64().unwrap() > 3_000, "{row}");
    }
    let called_back = wait_files(&callbacks, 2, Duration::from_secs(30)).await;
    assert_eq!(called_back.len(), 2, "{:?}", callbacks.lock().unwrap());
    for (file_id, cb) in &called_back {
        let url = cb["video_url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{endpoint}/{BUCKET}/vod/")),
            "{url}"
        );
        assert_eq!(md5_of(&download(&http, url).await), expected[file_id]);
    }
    drop(second);

    let third = start_server(data.path(), &with_callbacks);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(third.recordings().await.len(), 2);
    assert_eq!(callbacks.lock().unwrap().len(), 2, "called back again");
}
