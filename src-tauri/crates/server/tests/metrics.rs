//! `/metrics` answers in the Prometheus text format with the service's gauges, counting a live
//! stream while it records and its files once they are indexed.

mod common;

use std::time::Duration;

use common::{callback_receiver, spawn_publisher, start_server};

fn sample(text: &str, series: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(base: &str) -> String {
    let res = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_live_streams_recordings_bytes_and_callbacks() {
    let data = tempfile::tempdir().unwrap();
    let (cb_url, _callbacks) = callback_receiver().await;
    let server = start_server(data.path(), &["--callback-url", &cb_url]);

    let idle = scrape(&server.http).await;
    for series in [
        "tally_recordings_indexed",
        "tally_recordings_bytes",
        "tally_callbacks{state=\"pending\"}",
        "tally_callbacks{state=\"delivered\"}",
        "tally_callbacks{state=\"gave_up\"}",
        "tally_live_streams",
        "tally_recordings_in_progress",
        "tally_record_tasks_active",
    ] {
        assert_eq!(sample(&idle, series), Some(0), "{series} in:\n{idle}");
    }

    let code = "8888_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let push = format!("{}/live/{code}?record=mp4", server.rtmp);
    let mut publisher = spawn_publisher(&push, 3);
    let mut live = String::new();
    for _ in 0..100 {
        live = scrape(&server.http).await;
        if sample(&live, "tally_recordings_in_progress") == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sample(&live, "tally_live_streams"), Some(1), "{live}");
    assert_eq!(
        sample(&live, "tally_recordings_in_progress"),
        Some(1),
        "{live}"
    );
    assert!(publisher.wait().unwrap().success(), "ffmpeg publish failed");

    let mut done = String::new();
    for _ in 0..100 {
        done = scrape(&server.http).await;
        if sample(&done, "tally_callbacks{state=\"delivered\"}") == Some(3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sample(&done, "tally_recordings_indexed"), Some(1), "{done}");
    assert!(
        sample(&done, "tally_recordings_bytes").unwrap() > 0,
        "{done}"
    );
    // The file's callback and the stream's start and end.
    assert_eq!(
        sample(&done, "tally_callbacks{state=\"delivered\"}"),
        Some(3),
        "{done}"
    );
    assert_eq!(sample(&done, "tally_live_streams"), Some(0), "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_token_metrics_need_it_and_health_does_not() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--token", "s3cret"]);
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{}/healthz", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let anonymous = http
        .get(format!("{}/metrics", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let scraped = http
        .get(format!("{}/metrics", server.http))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("tally_recordings_indexed 0\n"));
}
