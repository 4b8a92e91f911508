//! Three `tally-server` nodes on one PostgreSQL index and one bucket (moto), publishers spread
//! over them, one node killed (-9) mid-recording: every file it had recorded, the ones still
//! being written included, is finalized, indexed once, uploaded and called back by another
//! node; a stream code is live on one node at a time; every node lists every recording.
//! PostgreSQL only: run by the test command under scripts/with-postgres.sh.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{callback_receiver, files_by_id, publish, start_server};
use serde_json::Value;
use tally_client::cache::SearchQuery;
use tally_client::sync::{sync, ServerRef};
use tally_client::RecordingCache;
use tally_testkit::s3::{bucket_flags, S3Server};
use tally_testkit::{postgres, ServerProcess};

const BUCKET: &str = "tally";

/// The documented time for a killed node's leftovers to be taken up (docs/deployment.md): the
/// adopters look every 2 s; finalizing, uploading and calling back take the rest.
const PICKUP_LIMIT: Duration = Duration::from_secs(30);

/// Media files (finished or being written) below a data dir.
fn media_on_disk(data: &Path) -> Vec<String> {
    tally_testkit::files::walk(&data.join("vod"))
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| [".flv", ".mp4", ".part"].iter().any(|e| p.ends_with(e)))
        .collect()
}

/// The object key a bucket link names (`…/tally/vod/live/…?X-Amz-…` → `vod/live/…`).
fn key_of(url: &str) -> String {
    let path = url.split('?').next().unwrap();
    let at = path.find("/vod/").expect("a vod path");
    path[at + 1..].to_owned()
}

/// Every recording a node lists, by file id.
async fn listing(node: &ServerProcess) -> BTreeMap<String, Value> {
    node.recordings()
        .await
        .into_iter()
        .map(|r| (r["file_id"].as_str().unwrap().to_owned(), r))
        .collect()
}

fn publish_status(url: &str, seconds: u32) -> bool {
    tally_testkit::ffmpeg_publish(url, seconds)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_share_one_index_and_a_killed_nodes_recordings_are_taken_up() {
    if !postgres::enabled() {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    }
    let s3 = S3Server::start(BUCKET);
    let (callback_url, received) = callback_receiver().await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let index = postgres::index_url(dirs[0].path()).unwrap();
    let mut flags = bucket_flags(&s3.endpoint(), BUCKET);
    flags.extend(
        [
            "--index",
            &index,
            "--callback-url",
            &callback_url,
            "--callback-key",
            "k",
        ]
        .map(String::from),
    );
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut nodes: Vec<Option<ServerProcess>> = dirs
        .iter()
        .map(|d| Some(start_server(d.path(), &flags)))
        .collect();
    let node = |i: usize, nodes: &[Option<ServerProcess>]| nodes[i].as_ref().unwrap().rtmp.clone();

    // Node 2 records one stream in 10 s segments and is killed in its second segment.
    let doomed = format!(
        "{}/live/8888_doomed?record=flv,mp4&record_interval=10&recordId=d1",
        node(2, &nodes)
    );
    let mut doomed_publisher = tally_testkit::spawn_publisher(&doomed, 40);
    // Nodes 0 and 1 record their own streams meanwhile.
    let spread: Vec<_> = (0..2)
        .map(|i| {
            let url = format!(
                "{}/live/8888_n{i}?record=flv,mp4,hls&recordId=s{i}",
                node(i, &nodes)
            );
            std::thread::spawn(move || publish(&url, 4))
        })
        .collect();

    // The code live on node 2 cannot go live on node 0 too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let twin = format!(
        "{}/live/8888_doomed?record=flv&recordId=twin",
        node(0, &nodes)
    );
    let twin_refused = tokio::task::spawn_blocking(move || !publish_status(&twin, 3));
    assert!(
        twin_refused.await.unwrap(),
        "a code live on node 2 was taken live on node 0"
    );

    for publisher in spread {
        publisher.join().unwrap();
    }
    // Into the second segment: the first is closed (and maybe uploaded), the second open.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let killed_at = Instant::now();
    drop(nodes[2].take()); // kill -9
    let _ = doomed_publisher.kill();
    let _ = doomed_publisher.wait();
    let left = media_on_disk(dirs[2].path());
    assert!(
        left.iter().any(|p| p.ends_with(".part")),
        "node 2 was killed mid-recording: {left:?}"
    );

    // Another node takes up node 2's files: finalized, indexed, uploaded, called back; its
    // disk is left empty.
    let survivor = nodes[0].as_ref().unwrap();
    let rows = loop {
        let rows = listing(survivor).await;
        let doomed_rows: Vec<&Value> = rows
            .values()
            .filter(|r| r["stream_code"] == "8888_doomed")
            .collect();
        let called_back = files_by_id(&received);
        let done = doomed_rows.len() >= 4
            && doomed_rows
                .iter()
                .all(|r| called_back.contains_key(r["file_id"].as_str().unwrap()))
            && media_on_disk(dirs[2].path()).is_empty();
        if done {
            break rows;
        }
        assert!(
            killed_at.elapsed() < PICKUP_LIMIT,
            "node 2's files were not taken up within {PICKUP_LIMIT:?}: rows {doomed_rows:#?}, on disk {:?}",
            media_on_disk(dirs[2].path())
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "node 2's leftovers were taken up in {:?}",
        killed_at.elapsed()
    );

    let doomed_rows: Vec<&Value> = rows
        .values()
        .filter(|r| r["stream_code"] == "8888_doomed")
        .collect();
    assert_eq!(
        doomed_rows.len(),
        4,
        "two segments in two formats: {doomed_rows:#?}"
    );
    assert_eq!(
        doomed_rows
            .iter()
            .filter(|r| r["recovered"] == true)
            .count(),
        2,
        "the segment open at the kill was finalized from its leftovers: {doomed_rows:#?}"
    );
    let keys: BTreeSet<String> = s3.keys(BUCKET).into_iter().collect();
    let callbacks = files_by_id(&received);
    for row in rows.values() {
        let key = key_of(row["url"].as_str().unwrap());
        assert!(keys.contains(&key), "{key} is in the bucket");
        let called = &callbacks[row["file_id"].as_str().unwrap()];
        let body = reqwest::get(called["video_url"].as_str().unwrap())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let stored = s3.get(BUCKET, &key).unwrap();
        if key.ends_with(".m3u8") {
            // Served through /vod with each chunk linked to the bucket.
            let chunks = |text: &[u8]| String::from_utf8_lossy(text).matches(".ts").count();
            assert_eq!(chunks(&body), chunks(&stored), "{key}");
        } else {
            assert_eq!(
                body.as_ref(),
                stored.as_slice(),
                "the callback's video_url downloads {key}"
            );
        }
    }
    // Indexed once: one callback per file, and no file recorded twice.
    let file_callbacks = received
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b["event_type"] == 100 && b["stream_id"] == "8888_doomed")
        .count();
    assert_eq!(file_callbacks, 4, "one callback per file of node 2");
    // 2 streams × 3 formats on nodes 0 and 1, and node 2's four.
    assert_eq!(rows.len(), 10, "{rows:#?}");

    // Every node lists every recording, and the console's cache synced from a node that
    // recorded none of node 2's files holds them all.
    let other = nodes[1].as_ref().unwrap();
    assert_eq!(
        listing(other).await.keys().collect::<Vec<_>>(),
        rows.keys().collect::<Vec<_>>()
    );
    let console = tempfile::tempdir().unwrap();
    let (cache, _) = RecordingCache::open(&console.path().join("cache.db"))
        .await
        .unwrap();
    let remote = ServerRef {
        base_url: other.http.clone(),
        token: None,
    };
    // Three rows a page: the sync walks the cursor across rows written by every node.
    sync(&reqwest::Client::new(), &cache, &remote, 3, None)
        .await
        .unwrap();
    let cached: BTreeSet<String> = cache
        .search(&SearchQuery::default())
        .await
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.recording.file_id)
        .collect();
    assert_eq!(cached, rows.keys().cloned().collect::<BTreeSet<_>>());

    // Usage counts the peak across nodes: three streams recorded at once, on three nodes.
    let start = rows
        .values()
        .map(|r| r["start_ms"].as_i64().unwrap())
        .min()
        .unwrap();
    let month = tally_server::usage::month_of(start);
    let usage = nodes[1]
        .as_ref()
        .unwrap()
        .get_json(&format!("/v1/usage?month={month}"))
        .await;
    assert_eq!(usage["peak_channels"], 3, "{usage}");

    // Node 2's lease on its stream code went with it.
    let again = format!(
        "{}/live/8888_doomed?record=flv&recordId=again",
        node(1, &nodes)
    );
    assert!(
        tokio::task::spawn_blocking(move || publish_status(&again, 2))
            .await
            .unwrap(),
        "after node 2 died, its stream code can go live on node 1"
    );

    // Node 2 comes back on its data dir: the adopter hands its work back, and it lists all.
    let back = start_server(dirs[2].path(), &flags);
    assert!(back.wait_recordings(11).await.len() >= 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_cut_off_from_its_index_finishes_its_files_and_stops() {
    if !postgres::enabled() {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut server = start_server(data.path(), &[]);
    let push = format!("{}/live/8888_cut?record=flv&recordId=c1", server.rtmp);
    let mut publisher = tally_testkit::spawn_publisher(&push, 30);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // An administrator (or a failover) ends every connection of the node.
    let mut kill = postgres::spawn_psql(
        data.path(),
        "SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid();\n",
    );
    assert!(kill.wait().unwrap().success());
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait_exit(Duration::from_secs(15));
        (status, server)
    });
    let (status, _server) = status.await.unwrap();
    let _ = publisher.kill();
    let _ = publisher.wait();
    let status = status.expect("the node stopped on its own");
    assert_eq!(
        status.code(),
        Some(1),
        "it exits for its supervisor to restart it"
    );
    // Its open file was finished, not left as a leftover.
    let left = media_on_disk(data.path());
    assert!(left.iter().all(|p| !p.ends_with(".part")), "{left:?}");
    assert!(left.iter().any(|p| p.ends_with(".flv")), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_nodes_file_is_linked_on_its_node_and_deleted_from_its_disk() {
    if !postgres::enabled() {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    }
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let index = postgres::index_url(a_dir.path()).unwrap();
    let flags = ["--index", index.as_str()];
    let mut a = start_server(a_dir.path(), &flags);
    let b = start_server(b_dir.path(), &flags);
    let push = format!("{}/live/8888_home?record=flv&recordId=h1", a.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 3))
        .await
        .unwrap();
    let row = b.wait_recordings(1).await.remove(0);

    // No bucket: node B links the file on node A, signed with the key they share.
    let url = row["url"].as_str().unwrap();
    assert!(url.starts_with(&a.http), "{url} is on node A ({})", a.http);
    let on_a = a_dir.path().join("vod").join(common::vod_path(url));
    let body = reqwest::get(url).await.unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(body.bytes().await.unwrap(), std::fs::read(&on_a).unwrap());

    // Deleted through node B: the row goes at once; node A clears its disk when it starts.
    let id = row["file_id"].as_str().unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v1/recordings/{id}", b.http))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert!(a.recordings().await.is_empty());
    assert!(on_a.exists(), "node B cannot reach node A's disk");
    assert!(a.terminate().success());
    let a = start_server(a_dir.path(), &flags);
    assert!(a.recordings().await.is_empty());
    assert!(
        !on_a.exists(),
        "node A removed the deleted file at its start"
    );
    assert!(media_on_disk(a_dir.path()).is_empty());
}
