//! A real HTTP callback receiver that keeps every body POSTed to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// Every callback received, in arrival order.
pub type Received = Arc<Mutex<Vec<Value>>>;

/// Starts a receiver on a free loopback port; its URL and what it received.
pub async fn callback_receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}/cb", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver runs") });
    (url, got)
}

/// File callbacks (`event_type` 100) by `file_id`, as a receiver that deduplicates sees them.
pub fn files_by_id(received: &Received) -> HashMap<String, Value> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b["event_type"] == 100)
        .filter_map(|b| Some((b["file_id"].as_str()?.to_owned(), b.clone())))
        .collect()
}

/// Waits up to `limit` until `n` files have been called back, then [`files_by_id`].
pub async fn wait_files(
    received: &Received,
    n: usize,
    limit: std::time::Duration,
) -> HashMap<String, Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let files = files_by_id(received);
        if files.len() >= n || tokio::time::Instant::now() >= deadline {
            return files;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
