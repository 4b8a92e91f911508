//! The console's client against a hostile server: an endless body, a redirect to another host,
//! a download URL on another host, and names built to run something. Nothing is followed or
//! executed, downloads stop at the recording's size, and the token never leaves its origin.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tally_api::recordings::Recording;
use tally_client::http::http_client;
use tally_client::recording_download::download_recording;
use tally_client::sync::ServerRef;
use tally_client::CachedRecording;
use tally_client::RecordingCache;

/// Every request a server saw: (path, Authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A server answering every request with `answer(path)`, noting what it saw.
async fn hostile(answer: fn(&str, SocketAddr) -> Response, seen: Seen) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(move |req: Request| {
        let seen = seen.clone();
        async move {
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_owned());
            seen.lock()
                .unwrap()
                .push((req.uri().path().to_owned(), auth));
            answer(req.uri().path(), addr)
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn recording(url: &str, format: &str, file_name: &str, size: i64) -> Recording {
    Recording {
        file_id: "7001".into(),
        video_id: String::new(),
        record_file_id: String::new(),
        stream_code: "8888_h".into(),
        channel_id: String::new(),
        room_id: String::new(),
        user_id: String::new(),
        record_id: String::new(),
        file_name: file_name.into(),
        tags: vec![],
        format: format.parse().unwrap(),
        url: url.into(),
        thumbnail_url: None,
        size,
        start_ms: 1,
        end_ms: 2,
        duration_ms: 1,
        video_codec: None,
        audio_codec: None,
        width: None,
        height: None,
        created_ms: 1,
        updated_ms: 1,
        callback_state: tally_api::recordings::CallbackState::None,
        recovered: false,
        deleted: false,
        missing: false,
    }
}

/// Caches `rec` for `server` and downloads it into a fresh folder.
async fn fetch(
    server: &ServerRef,
    rec: Recording,
) -> (tempfile::TempDir, Result<std::path::PathBuf, String>) {
    let local = tempfile::tempdir().unwrap();
    let cache = RecordingCache::open(&local.path().join("cache.db"))
        .await
        .unwrap()
        .0;
    let server_id = cache.server_id(&server.base_url).await.unwrap();
    let row = CachedRecording::new(server_id, rec);
    cache.upsert(std::slice::from_ref(&row)).await.unwrap();
    let downloads = local.path().join("Downloads");
    let result = download_recording(
        &http_client(),
        &cache,
        server,
        &row.file_id,
        &downloads,
        |_| {},
    )
    .await
    .map_err(|e| e.to_string());
    (local, result)
}

fn endless(_: &str, _: SocketAddr) -> Response {
    let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
    Response::new(Body::from_stream(stream))
}

#[tokio::test]
async fn an_endless_body_stops_at_the_recordings_size() {
    let seen = Seen::default();
    let addr = hostile(endless, seen).await;
    let server = ServerRef {
        base_url: format!("http://{addr}"),
        token: Some("tok".into()),
    };
    let size = 1_000_000;
    let (local, result) = fetch(
        &server,
        recording(&format!("http://{addr}/vod/a.mp4"), "mp4", "a", size),
    )
    .await;
    assert!(result.is_err(), "an endless body is not the recording");
    let kept: u64 = walk_size(local.path());
    assert!(
        kept <= size as u64,
        "it wrote {kept} bytes for a {size}-byte recording"
    );
}

fn walk_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            total += walk_size(&p);
        } else if !p.to_string_lossy().contains(".db") {
            total += std::fs::metadata(&p).unwrap().len();
        }
    }
    total
}

fn redirect_elsewhere(path: &str, _: SocketAddr) -> Response {
    let to = path.trim_start_matches("/to/");
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("http://{to}/stolen.mp4"))],
    )
        .into_response()
}

fn ok_body(_: &str, _: SocketAddr) -> Response {
    "0123456789".into_response()
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_the_token_stays_home() {
    let elsewhere_seen = Seen::default();
    let elsewhere = hostile(ok_body, elsewhere_seen.clone()).await;
    let home_seen = Seen::default();
    let home = hostile(redirect_elsewhere, home_seen.clone()).await;
    let server = ServerRef {
        base_url: format!("http://{home}"),
        token: Some("tok".into()),
    };
    let (_local, result) = fetch(
        &server,
        recording(&format!("http://{home}/to/{elsewhere}"), "mp4", "a", 10),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        home_seen.lock().unwrap()[0].1.as_deref(),
        Some("Bearer tok"),
        "its own server gets the token"
    );
    assert!(
        elsewhere_seen.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_download_url_on_another_host_gets_no_token() {
    let elsewhere_seen = Seen::default();
    let elsewhere = hostile(ok_body, elsewhere_seen.clone()).await;
    let server = ServerRef {
        base_url: "http://127.0.0.1:9".into(),
        token: Some("tok".into()),
    };
    let (_local, result) = fetch(
        &server,
        recording(&format!("http://{elsewhere}/vod/a.mp4"), "mp4", "a", 10),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let seen = elsewhere_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, None, "the token went to another host");
}

#[tokio::test]
async fn a_saved_name_never_takes_the_servers_extension() {
    let seen = Seen::default();
    let addr = hostile(ok_body, seen).await;
    let server = ServerRef {
        base_url: format!("http://{addr}"),
        token: None,
    };
    for (url, name) in [
        (format!("http://{addr}/vod/x.mp4?.exe"), "lecture.desktop"),
        (format!("http://{addr}/vod/x.sh"), "../../.bashrc"),
    ] {
        let (local, result) = fetch(&server, recording(&url, "mp4", name, 10)).await;
        let path = result.unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(file.ends_with(".mp4"), "{file}");
        assert!(
            path.starts_with(local.path().join("Downloads")),
            "{}",
            path.display()
        );
        assert!(!file.starts_with('.'), "{file}");
    }
}
