//! Deleting a recording: its files leave the disk, plain listings forget it, and syncing
//! clients (`updated_since`) see a tombstone.

mod common;

use std::time::Duration;

use common::{publish, start_server};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_recording_leaves_the_disk_and_syncs_as_a_tombstone() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let push = format!("{}/live/8888_del?record=flv,hls", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 4))
        .await
        .unwrap();
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = server.get_json("/v1/recordings").await["recordings"]
            .as_array()
            .unwrap()
            .clone();
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed.len(), 2);
    let hls = listed.iter().find(|r| r["format"] == "hls").unwrap();
    let flv = listed.iter().find(|r| r["format"] == "flv").unwrap();
    let file_id = hls["file_id"].as_str().unwrap();
    let vod_dir = data.path().join("vod");
    let files_on_disk = || {
        walk(&vod_dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "ts" || e == "m3u8"))
            .count()
    };
    assert!(files_on_disk() >= 2, "a playlist and its chunks");

    let http = reqwest::Client::new();
    let url = format!("{}/v1/recordings/{file_id}", server.http);
    let deleted: Value = http
        .delete(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["deleted"], true);
    assert!(deleted["updated_ms"].as_i64() > hls["updated_ms"].as_i64());
    assert_eq!(files_on_disk(), 0, "the playlist and every chunk are gone");
    assert_eq!(
        reqwest::get(hls["url"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        404
    );

    let plain = server.get_json("/v1/recordings").await["recordings"].clone();
    assert_eq!(plain.as_array().unwrap().len(), 1);
    assert_eq!(plain[0]["file_id"], flv["file_id"]);
    let since = server
        .get_json(&format!(
            "/v1/recordings?updated_since={}",
            hls["updated_ms"]
        ))
        .await;
    let tombstone = since["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file_id"] == file_id)
        .expect("syncing clients see the deletion");
    assert_eq!(tombstone["deleted"], true);

    for response in [
        http.get(&url).send().await.unwrap(),
        http.delete(&url).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 30000508);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
