//! A retryable failure in the real app: the console points at a remote server that goes away
//! after the anchor joined. Record fails with "server unreachable", the banner shows the advice
//! and a countdown, the console retries no faster than every 3 s, and once the server is back
//! the recording starts on its own.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{remote_server, remote_settings, Desktop, Launch};
use tokio::io::AsyncReadExt;

/// Stands where the server was: accepts connections and drops them, noting when a record
/// call arrived.
fn dead_server(
    listener: tokio::net::TcpListener,
) -> (Arc<Mutex<Vec<Instant>>>, tokio::task::JoinHandle<()>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut head = [0u8; 64];
            let n = socket.read(&mut head).await.unwrap_or(0);
            if head[..n].starts_with(b"POST /v1/record") {
                seen.lock().unwrap().push(Instant::now());
            }
        }
    });
    (calls, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retryable_failure_shows_advice_and_retries_every_three_seconds_until_it_works() {
    let data = tempfile::tempdir().unwrap();
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let server = remote_server(data.path(), addr, None).await;
    let settings = remote_settings(addr);
    let desktop = Desktop::launch(Launch {
        data_files: vec![("settings.json", settings.as_bytes())],
        ..Launch::default()
    })
    .await;

    desktop.join("retry-room", "anchor").await;

    // The server goes away; something still answers TCP on its port, so each retry shows up.
    server.shutdown().await;
    let (calls, dead) = dead_server(tokio::net::TcpListener::bind(addr).await.unwrap());
    desktop.click("[data-testid=record-button]").await;
    desktop
        .expect_text("[data-testid=error-code]", "30000511")
        .await;
    let advice = desktop.wait_for_text("[data-testid=error-advice]").await;
    assert!(advice.contains("retrying"), "advice: {advice}");
    let countdown = desktop.wait_for_text("[data-testid=retry-countdown]").await;
    assert!(countdown.starts_with("Retrying in"), "{countdown}");
    desktop.screenshot("retry-countdown");

    tokio::time::sleep(Duration::from_millis(7500)).await;
    let attempts = calls.lock().unwrap().clone();
    assert!(
        (3..=4).contains(&attempts.len()),
        "first try and two or three retries in 7.5 s: {attempts:?}"
    );
    for pair in attempts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(2900), "retried after {gap:?}");
    }

    // Back up: the next retry starts the recording (it waits for the stream to go live).
    dead.abort();
    let _ = dead.await;
    let server = remote_server(data.path(), addr, None).await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    let banner = desktop
        .client
        .find_all(fantoccini::Locator::Css("[data-testid=error-banner]"))
        .await
        .unwrap();
    assert!(banner.is_empty(), "the banner is gone once it worked");
    desktop.click("[data-testid=stop-button]").await;
    desktop.wait_for_text("[data-testid=record-button]").await;
    desktop.close().await;
    server.shutdown().await;
}
