//! Channel mode end to end: rooms, members, start/stop over HTTP with a real publisher, and
//! every reachable error code of the seed's table in its situation.

mod common;

use std::process::Command;

use common::{publish, start_server, ServerProcess};
use reqwest::Client;
use serde_json::{json, Value};
use tally_api::{ErrorCode, Lang};

async fn post(http: &Client, server: &ServerProcess, path: &str, body: Value) -> (u16, Value) {
    server.post_json(http, path, body).await
}

async fn room_with_member(
    http: &Client,
    server: &ServerProcess,
    room: &str,
    kind: &str,
    user: &str,
) -> Value {
    let (status, _) = post(
        http,
        server,
        "/v1/rooms",
        json!({"room_id": room, "kind": kind}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, member) = post(
        http,
        server,
        &format!("/v1/rooms/{room}/members"),
        json!({"user_id": user}),
    )
    .await;
    assert_eq!(status, 200, "{member}");
    member
}

fn ffprobe_streams(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn record_while_publishing(record_type: &str) {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let http = Client::new();
    let member = room_with_member(&http, &server, "class-1", "multi", "alice").await;
    let camera = member["push"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == "camera")
        .unwrap();
    assert!(camera["stream_code"].as_str().unwrap().starts_with("8888_"));

    // Start before the stream is live: the task waits for it.
    let start = json!({"op": "start", "room_id": "class-1", "user_id": "alice", "file_name": "数学课第三讲",
        "class_id": 0, "tags": ["math"], "record_type": record_type, "source": "camera", "sdk_type": "normal"});
    let (status, started) = post(&http, &server, "/v1/record", start).await;
    assert_eq!(status, 200, "{started}");
    let url = camera["url"].as_str().unwrap().to_owned();
    tokio::task::spawn_blocking(move || publish(&url, 5))
        .await
        .unwrap();

    let stop = json!({"op": "stop", "room_id": "class-1", "user_id": "alice", "source": "camera"});
    let (status, stopped) = post(&http, &server, "/v1/record", stop.clone()).await;
    assert_eq!(status, 200, "{stopped}");
    let file_ids: Vec<String> = serde_json::from_value(stopped["file_ids"].clone()).unwrap();
    assert_eq!(file_ids.len(), 1, "{stopped}");

    // DescribeVodPlayInfo by file name finds the same file, an MP4 under its URL.
    let info: Value = http
        .get(format!("{}/v1/play-info", server.http))
        .query(&[("file_name", "数学课第三讲")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let files = info["recordings"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{info}");
    assert_eq!(files[0]["file_id"], file_ids[0].as_str());
    assert_eq!(files[0]["format"], "mp4");
    assert_eq!(files[0]["room_id"], "class-1");
    assert_eq!(files[0]["tags"], json!(["math"]));
    let rel = common::vod_path(files[0]["url"].as_str().unwrap()).to_owned();
    let streams = ffprobe_streams(&data.path().join("vod").join(rel));
    if record_type == "audio" {
        assert_eq!(streams, ["audio"]);
    } else {
        assert!(
            streams.contains(&"video".to_owned()) && streams.contains(&"audio".to_owned()),
            "{streams:?}"
        );
    }

    // A second stop is harmless and says so.
    let (status, again) = post(&http, &server, "/v1/record", stop).await;
    assert_eq!((status, again["code"].as_u64()), (409, Some(30000412)));
}

#[tokio::test(flavor = "multi_thread")]
async fn start_and_stop_return_the_recorded_mp4() {
    record_while_publishing("video").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audio_record_type_gives_an_audio_only_mp4() {
    record_while_publishing("audio").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_reachable_error_code_arises_in_its_situation() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let http = Client::new();
    room_with_member(&http, &server, "multi-1", "multi", "bob").await;
    room_with_member(&http, &server, "duo-1", "two_person", "carol").await;
    let (status, _) = post(
        &http,
        &server,
        "/v1/rooms/multi-1/members",
        json!({"user_id": "dave"}),
    )
    .await;
    assert_eq!(status, 200);
    let res = http
        .delete(format!("{}/v1/rooms/multi-1/members/dave", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let start = |room: &str, user: &str| json!({"op": "start", "room_id": room, "user_id": user, "file_name": "f"});
    let (status, _) = post(&http, &server, "/v1/record", start("multi-1", "bob")).await;
    assert_eq!(status, 200, "bob's first start");

    let raw = |body: &'static str| body.to_owned();
    let cases: Vec<(&str, String, u32)> = vec![
        ("invalid JSON", raw("{\"op\": "), 30000000),
        ("empty body", raw(""), 30000001),
        ("no file_name", json!({"op": "start", "room_id": "multi-1", "user_id": "bob"}).to_string(), 30000002),
        ("no op", json!({"room_id": "multi-1", "user_id": "bob", "file_name": "f"}).to_string(), 30000003),
        ("unknown op", json!({"op": "pause", "room_id": "multi-1", "user_id": "bob"}).to_string(), 30000003),
        ("bad source", json!({"op": "start", "room_id": "multi-1", "user_id": "bob", "file_name": "f", "source": "window"}).to_string(), 30000004),
        ("bad record_type", json!({"op": "start", "room_id": "multi-1", "user_id": "bob", "file_name": "f", "record_type": "3d"}).to_string(), 30000004),
        ("unknown room", start("nope", "bob").to_string(), 30000403),
        ("user left", start("multi-1", "dave").to_string(), 30000410),
        ("user never joined", start("multi-1", "erin").to_string(), 30000411),
        ("stop of a never started source", json!({"op": "stop", "room_id": "multi-1", "user_id": "bob", "source": "screen"}).to_string(), 30000413),
        ("duplicate start", start("multi-1", "bob").to_string(), 30000415),
        ("two-person room", start("duo-1", "carol").to_string(), 30000501),
    ];
    for (situation, body, code) in cases {
        for (lang, header) in [(Lang::En, "en-US"), (Lang::ZhCn, "zh-CN,zh;q=0.9")] {
            let res = http
                .post(format!("{}/v1/record", server.http))
                .header("Content-Type", "application/json")
                .header("Accept-Language", header)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let got: Value = res.json().await.unwrap();
            let expected = ErrorCode::from_u32(code).unwrap();
            let entry = expected.entry();
            assert_eq!(got["code"], code, "{situation}: {got}");
            assert_eq!(status, entry.http_status, "{situation}");
            assert_eq!(got["retryable"], entry.retryable, "{situation}");
            assert_eq!(
                got["advice"],
                entry.texts(lang).advice,
                "{situation} ({header})"
            );
            assert!(
                got["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(entry.texts(lang).message),
                "{situation}: {got}"
            );
        }
    }

    // Room-level errors of the same table.
    let (status, dup) = post(
        &http,
        &server,
        "/v1/rooms",
        json!({"room_id": "multi-1", "kind": "multi"}),
    )
    .await;
    assert_eq!((status, dup["code"].as_u64()), (409, Some(30000507)));
    let (_, bad) = post(
        &http,
        &server,
        "/v1/rooms",
        json!({"room_id": "a/b", "kind": "multi"}),
    )
    .await;
    assert_eq!(bad["code"], 30000513);
    let (_, missing) = post(
        &http,
        &server,
        "/v1/rooms/nope/members",
        json!({"user_id": "x"}),
    )
    .await;
    assert_eq!(missing["code"], 30000403);
}
