//! Callbacks survive a dead receiver and a killed server: every file's callback arrives, none
//! is lost, each attempt is visible, and the receiver's freshness check on `t` is satisfied.

mod common;

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::{md5_hex, publish, start_server};
use serde_json::Value;

/// A receiver on `listener` that accepts only fresh, correctly signed callbacks.
fn strict_receiver(listener: StdListener, key: &'static str) -> Arc<Mutex<Vec<Value>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move {
                let t = body["t"].as_i64().unwrap_or(0);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                if (now - t).abs() > 600 || body["sign"] != md5_hex(&format!("{key}{t}")) {
                    return StatusCode::FORBIDDEN;
                }
                sink.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_queued_while_the_receiver_is_down_survive_a_kill_and_arrive() {
    let data = tempfile::tempdir().unwrap();
    // Reserve a port for the receiver, but do not answer on it yet.
    let reserved = StdListener::bind("127.0.0.1:0").unwrap();
    let cb_url = format!("http://{}/cb", reserved.local_addr().unwrap());
    drop(reserved);
    let args = ["--callback-url", cb_url.as_str(), "--callback-key", "k"];

    let server = start_server(data.path(), &args);
    let push = format!("{}/live/8888_durable?record=flv,mp4", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 3))
        .await
        .unwrap();
    let mut files = Vec::new();
    for _ in 0..50 {
        let page = server.get_json("/v1/recordings").await;
        files = page["recordings"].as_array().unwrap().clone();
        if files.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(files.len(), 2);
    // Let a few attempts fail against the dead receiver.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let file_id = files[0]["file_id"].as_str().unwrap().to_owned();
    let failed = server
        .get_json(&format!("/v1/recordings/{file_id}/callbacks"))
        .await;
    assert!(
        !failed.as_array().unwrap().is_empty(),
        "failed attempts are stored: {failed}"
    );
    assert!(failed
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["error"].is_string()));

    // kill -9 with callbacks pending, then the receiver comes up and the server restarts.
    drop(server);
    let got = strict_receiver(
        StdListener::bind(cb_url.trim_start_matches("http://").trim_end_matches("/cb")).unwrap(),
        "k",
    );
    let server = start_server(data.path(), &args);

    let wanted: Vec<String> = files
        .iter()
        .map(|f| f["file_id"].as_str().unwrap().to_owned())
        .collect();
    for _ in 0..150 {
        let delivered: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c["event_type"] == 100)
            .map(|c| c["file_id"].as_str().unwrap().to_owned())
            .collect();
        if wanted.iter().all(|w| delivered.contains(w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c["event_type"] == 100)
        .cloned()
        .collect();
    for w in &wanted {
        assert!(
            delivered.iter().any(|c| c["file_id"] == w.as_str()),
            "callback of {w} delivered: {delivered:?}"
        );
    }
    let attempts = server
        .get_json(&format!("/v1/recordings/{file_id}/callbacks"))
        .await;
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["status"], 200, "{attempts:?}");
    assert!(
        attempts.len() >= 2,
        "failures and the success are all listed"
    );
    let row = server.get_json(&format!("/v1/recordings/{file_id}")).await;
    assert_eq!(row["callback_state"], "delivered");
}
