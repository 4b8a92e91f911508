//! Must-show 5: wrong, expired and missing txSecret are refused before any media is written.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tally_media::auth::push_secret;
use tally_media::replay::{replay, SAMPLE_CLIP};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn try_publish(addr: std::net::SocketAddr, key_query: &str) -> Result<(), String> {
    let url = format!("rtmp://{addr}/live/s1?record=flv,mp4&{key_query}");
    replay(
        &url,
        Bytes::from_static(SAMPLE_CLIP),
        Some(Duration::from_millis(1500)),
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_push_secrets_are_refused_before_any_file_is_written() {
    let (engine, _dir) = engine(|c| c.push_key = Some("k3y".into())).await;
    let addr = engine.rtmp_addr();
    let later = now() + 600;
    let earlier = now() - 60;
    let wrong = format!(
        "txSecret={}&txTime={later:X}",
        push_secret("other", "s1", later)
    );
    let expired = format!(
        "txSecret={}&txTime={earlier:X}",
        push_secret("k3y", "s1", earlier)
    );
    for (what, q) in [
        ("wrong", wrong.as_str()),
        ("expired", expired.as_str()),
        ("missing", ""),
    ] {
        assert!(
            try_publish(addr, q).await.is_err(),
            "{what} secret must be refused"
        );
    }
    assert!(
        files(&engine.config().data_dir).is_empty(),
        "no file may exist after refusals"
    );
    assert!(engine.streams().is_empty());

    let good = format!(
        "txSecret={}&txTime={later:X}",
        push_secret("k3y", "s1", later)
    );
    try_publish(addr, &good)
        .await
        .expect("a valid secret is accepted");
}
