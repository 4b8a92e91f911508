//! Pictures: channel mode's `screen_shot` gives each file a poster; a member's live stream
//! has a preview; a stream without a picture says so with its code.

mod common;

use std::time::Duration;

use common::{camera_url, spawn_publisher, start_server, ServerProcess};
use reqwest::Client;
use serde_json::{json, Value};

const JPEG_SOI: [u8; 3] = [0xFF, 0xD8, 0xFF];

async fn record(
    http: &Client,
    server: &ServerProcess,
    op: &str,
    screen_shot: Option<bool>,
) -> Value {
    let mut body = json!({"op": op, "room_id": "pics", "user_id": "alice", "file_name": "课", "source": "camera"});
    if let Some(s) = screen_shot {
        body["screen_shot"] = json!(s);
    }
    let (status, answer) = server.post_json(http, "/v1/record", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn preview(http: &Client, server: &ServerProcess, code: &str) -> reqwest::Response {
    http.get(format!("{}/v1/streams/{code}/preview", server.http))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn screen_shot_gives_each_file_a_poster_and_a_live_member_has_a_preview() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let http = Client::new();
    server.create_multi_room(&http, "pics").await;
    let (_, member) = server
        .post_json(&http, "/v1/rooms/pics/members", json!({"user_id": "alice"}))
        .await;
    let url = camera_url(&member);
    let code = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // Before the stream is live there is no picture: the table's code, retryable.
    let none = preview(&http, &server, &code).await;
    assert_eq!(none.status(), 404);
    let body: Value = none.json().await.unwrap();
    assert_eq!(
        (body["code"].as_u64(), body["retryable"].as_bool()),
        (Some(30000523), Some(true))
    );

    let mut publisher = spawn_publisher(&url, 12);
    let mut live = None;
    for _ in 0..100 {
        let r = preview(&http, &server, &code).await;
        if r.status() == 200 {
            live = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = live.expect("a preview while the member publishes");
    assert_eq!(live.headers()["content-type"], "image/jpeg");
    assert_eq!(live.headers()["cache-control"], "no-store");
    assert!(live.bytes().await.unwrap().starts_with(&JPEG_SOI));

    // With screen_shot the file has a poster; without (the seed's default) it has none.
    record(&http, &server, "start", Some(true)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let with = record(&http, &server, "stop", None).await;
    record(&http, &server, "start", None).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let without = record(&http, &server, "stop", None).await;
    let _ = publisher.wait();

    let file = |answer: &Value| {
        let id = answer["file_ids"][0].as_str().unwrap().to_owned();
        let server = &server;
        async move { server.get_json(&format!("/v1/recordings/{id}")).await }
    };
    let shot = file(&with).await;
    let thumb = shot["thumbnail_url"]
        .as_str()
        .expect("screen_shot: a poster");
    let jpeg = http.get(thumb).send().await.unwrap();
    assert_eq!(jpeg.status(), 200);
    assert!(jpeg.bytes().await.unwrap().starts_with(&JPEG_SOI));
    let plain = file(&without).await;
    assert!(plain["thumbnail_url"].is_null(), "{plain}");

    // A stream nobody publishes has no preview either.
    let unknown = preview(&http, &server, "8888_nobody").await;
    assert_eq!(unknown.status(), 404);
}
