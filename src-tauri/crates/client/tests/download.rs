//! Downloads against a real HTTP server with Range support (tower-http's ServeDir).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tally_client::download::{download, part_path, DownloadError, DownloadRequest, Progress};
use tower_http::services::ServeDir;

/// Serves `dir`; while `cut` is set, the next answer sends half the file and breaks off.
async fn serve(dir: &Path, cut: Arc<AtomicBool>) -> SocketAddr {
    async fn maybe_cut(State(cut): State<Arc<AtomicBool>>, req: Request, next: Next) -> Response {
        let response = next.run(req).await;
        if !cut.swap(false, Ordering::SeqCst) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let half = bytes.slice(..bytes.len() / 2);
        let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut",
            )),
        ];
        let mut cut_response =
            Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)));
        cut_response
            .headers_mut()
            .insert(CONTENT_LENGTH, bytes.len().into());
        cut_response
    }
    let app = Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(middleware::from_fn_with_state(cut, maybe_cut));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn cut_download_resumes_to_a_byte_identical_file() {
    let served = tempfile::tempdir().unwrap();
    let content = sample(3 * 1024 * 1024 + 17);
    std::fs::write(served.path().join("rec.mp4"), &content).unwrap();
    let cut = Arc::new(AtomicBool::new(true));
    let addr = serve(served.path(), cut.clone()).await;

    let local = tempfile::tempdir().unwrap();
    let req = DownloadRequest {
        url: format!("http://{addr}/rec.mp4"),
        dest: local.path().join("downloads/rec.mp4"),
        expected_size: content.len() as u64,
        token: None,
    };
    let client = reqwest::Client::new();

    let first = download(&client, &req, |_| {}).await;
    assert!(
        matches!(first, Err(DownloadError::Http { .. })),
        "{first:?}"
    );
    let kept = std::fs::metadata(part_path(&req.dest)).unwrap().len();
    assert!(
        kept > 0 && kept < content.len() as u64,
        "partial bytes kept: {kept}"
    );
    assert!(!req.dest.exists());

    let mut seen = Vec::new();
    let path = download(&client, &req, |p: Progress| seen.push(p))
        .await
        .unwrap();
    assert_eq!(
        seen.first().unwrap().bytes,
        kept,
        "resumed from the partial file"
    );
    assert_eq!(seen.last().unwrap().bytes, content.len() as u64);
    assert_eq!(std::fs::read(path).unwrap(), content);
    assert!(!part_path(&req.dest).exists());
}

#[tokio::test]
async fn wrong_size_is_reported_and_not_saved() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("short.flv"), sample(1000)).unwrap();
    let addr = serve(served.path(), Arc::new(AtomicBool::new(false))).await;
    let local = tempfile::tempdir().unwrap();
    let req = DownloadRequest {
        url: format!("http://{addr}/short.flv"),
        dest: local.path().join("short.flv"),
        expected_size: 1200,
        token: None,
    };
    let err = download(&reqwest::Client::new(), &req, |_| {})
        .await
        .unwrap_err();
    match err {
        DownloadError::SizeMismatch { expected, got, .. } => {
            assert_eq!((expected, got), (1200, 1000))
        }
        other => panic!("expected a size mismatch, got {other}"),
    }
    assert!(
        !req.dest.exists(),
        "a wrong-sized file is never saved under its name"
    );
}

#[tokio::test]
async fn missing_file_is_a_status_error() {
    let served = tempfile::tempdir().unwrap();
    let addr = serve(served.path(), Arc::new(AtomicBool::new(false))).await;
    let local = tempfile::tempdir().unwrap();
    let req = DownloadRequest {
        url: format!("http://{addr}/nope.mp4"),
        dest: local.path().join("nope.mp4"),
        expected_size: 10,
        token: None,
    };
    let err = download(&reqwest::Client::new(), &req, |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
