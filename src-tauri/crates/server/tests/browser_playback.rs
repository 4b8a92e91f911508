//! A web page on another origin plays a recording's HLS (hls.js over MSE) and its MP4 in
//! headless Chromium straight from the signed links the API hands out, while the same page
//! can neither read the API nor change anything through it.

mod common;

use std::path::{Path, PathBuf};

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::{publish, start_server};
use serde_json::Value;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui")
}

/// The shop's page and hls.js, on an origin of their own.
async fn shop() -> String {
    let ui = ui_dir();
    let page = std::fs::read_to_string(ui.join("e2e/page.html")).unwrap();
    let hls = std::fs::read(ui.join("node_modules/hls.js/dist/hls.min.js"))
        .expect("hls.js is installed (npm ci in ui/)");
    let app = Router::new()
        .route(
            "/",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], page) }),
        )
        .route(
            "/hls.js",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/javascript")], hls).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_another_origin_plays_hls_and_mp4_from_signed_links_but_cannot_use_the_api() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let push = format!("{}/live/8888_shop?record=mp4,hls", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 6))
        .await
        .unwrap();
    let rows = server.wait_recordings(2).await;
    let url_of = |format: &str| {
        rows.iter().find(|r| r["format"] == format).unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let page = format!(
        "{}/?mp4={}&hls={}&api={}",
        shop().await,
        query_escape(&url_of("mp4")),
        query_escape(&url_of("hls")),
        query_escape(&server.http)
    );
    let out = tokio::process::Command::new("node")
        .arg(ui_dir().join("e2e/cross-origin-playback.mjs"))
        .arg(&page)
        .current_dir(ui_dir())
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(seen["hlsSupported"].as_bool().unwrap(), "{seen}");
    assert!(seen["mp4"].as_f64().unwrap() > 0.5, "the MP4 plays: {seen}");
    assert!(
        seen["hls"].as_f64().unwrap() > 0.5,
        "the HLS plays through hls.js: {seen}"
    );
    assert_eq!(seen["api"]["read"], "blocked", "{seen}");
    assert_eq!(seen["api"]["write"], "blocked", "{seen}");
    let rooms = server.get_json("/v1/rooms").await;
    assert!(
        !rooms.to_string().contains("evil"),
        "the page created a room: {rooms}"
    );
}
