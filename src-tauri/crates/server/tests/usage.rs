//! `GET /v1/usage`: two channel-mode recordings running at the same time are a peak of two
//! channels, billed 30 CNY each.

mod common;

use common::{camera_url, spawn_publisher, start_server, ServerProcess};
use reqwest::Client;
use serde_json::{json, Value};

async fn post(http: &Client, server: &ServerProcess, path: &str, body: Value) -> Value {
    let (status, body) = server.post_json(http, path, body).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn two_simultaneous_channel_recordings_peak_at_two_channels_for_60_cny() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let http = Client::new();
    post(
        &http,
        &server,
        "/v1/rooms",
        json!({"room_id": "class-2", "kind": "multi"}),
    )
    .await;
    let mut publishers = Vec::new();
    for user in ["alice", "bob"] {
        let member = post(
            &http,
            &server,
            "/v1/rooms/class-2/members",
            json!({"user_id": user}),
        )
        .await;
        let start = json!({"op": "start", "room_id": "class-2", "user_id": user, "file_name": user,
            "class_id": 0, "tags": [], "record_type": "video", "source": "camera", "sdk_type": "normal"});
        post(&http, &server, "/v1/record", start).await;
        publishers.push(spawn_publisher(&camera_url(&member), 4));
    }
    for mut p in publishers {
        assert!(p.wait().unwrap().success(), "ffmpeg publish failed");
    }
    let mut starts = Vec::new();
    for user in ["alice", "bob"] {
        let stop = json!({"op": "stop", "room_id": "class-2", "user_id": user, "source": "camera"});
        let stopped = post(&http, &server, "/v1/record", stop).await;
        let file_id = stopped["file_ids"][0].as_str().unwrap().to_owned();
        let file = server.get_json(&format!("/v1/recordings/{file_id}")).await;
        starts.push(file["start_ms"].as_i64().unwrap());
    }

    let month = tally_server::usage::month_of(starts[0]);
    let usage: Value = http
        .get(format!("{}/v1/usage", server.http))
        .query(&[("month", &month)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["month"], month.as_str());
    assert_eq!(usage["peak_channels"], 2, "{usage}");
    assert_eq!(usage["price_cny"], 60, "{usage}");
    assert_eq!(usage["files"], 2, "{usage}");
    assert!(usage["bytes"].as_i64().unwrap() > 0, "{usage}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_month_that_is_not_yyyy_mm_is_a_bad_parameter() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    for month in ["2026-13", "november", ""] {
        let res = reqwest::Client::new()
            .get(format!("{}/v1/usage", server.http))
            .query(&[("month", month)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{month:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], 30000509, "{month:?}: {body}");
    }
    let missing: Value = reqwest::get(format!("{}/v1/usage", server.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["code"], 30000509, "{missing}");
}
