//! Floods: 2,000 idle TCP connections split over the HTTP and RTMP ports and a slowloris
//! client trickling its headers. A new publisher is still recorded, the API still answers,
//! and the slowloris and idle HTTP connections are closed after the header timeout.

mod common;

use std::time::{Duration, Instant};

use common::{publish, start_server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(url: &str) -> String {
    url.split("://").nth(1).unwrap().to_owned()
}

/// Reads until the server closes the connection; how long that took.
async fn closed_after(mut s: TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_floods_and_a_slowloris_client_do_not_stop_a_publisher_or_the_api() {
    tally_server::http_serve::raise_fd_limit();
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--http-header-timeout", "2"]);
    let (http, rtmp) = (addr(&server.http), addr(&server.rtmp));
    let mut idle = Vec::new();
    for i in 0..2000 {
        let to = if i % 2 == 0 { &http } else { &rtmp };
        idle.push(TcpStream::connect(to).await.expect("connects"));
    }
    // Slowloris: one header byte every 300 ms, never the end of the headers.
    let mut slow = TcpStream::connect(&http).await.unwrap();
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        for b in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if slow.write_all(&[*b]).await.is_err() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        closed_after(slow, Duration::from_secs(20))
            .await
            .map(|d| d + started.elapsed())
    });

    // The API answers and a new publisher is recorded meanwhile.
    let health = reqwest::get(format!("{}/healthz", server.http))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let push = format!("{}/live/8888_flooded?record=flv", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 3))
        .await
        .unwrap();
    let rows = server.wait_recordings(1).await;
    assert_eq!(
        rows.len(),
        1,
        "the publisher was recorded through the flood"
    );

    // The slowloris client lost its connection after about the header timeout, long before
    // it would have finished its headers (~25 s).
    let cut = trickle
        .await
        .unwrap()
        .expect("the slowloris connection was closed");
    assert!(cut < Duration::from_secs(15), "closed after {cut:?}");
    // Idle HTTP connections are closed too; idle RTMP ones by the handshake deadline.
    let http_idle = idle.swap_remove(0);
    assert!(closed_after(http_idle, Duration::from_secs(10))
        .await
        .is_some());
    let rtmp_idle = idle.swap_remove(1);
    assert!(closed_after(rtmp_idle, Duration::from_secs(15))
        .await
        .is_some());
}
