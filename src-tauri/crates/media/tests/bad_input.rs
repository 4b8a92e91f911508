//! Must-show 6: hostile input closes only the offending connection; a live stream beside it
//! keeps recording.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tally_media::replay::{connect, replay, SAMPLE_CLIP};
use tally_media::Format;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes; panics if it does not within 5 s.
async fn assert_closed_by_server(mut s: TcpStream, what: &str) {
    let mut buf = vec![0u8; 64 * 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{what}: the server must close the connection"
    );
}

/// A completed client handshake.
async fn handshaken(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut hs = Handshake::new(PeerType::Client);
    s.write_all(&hs.generate_outbound_p0_and_p1().unwrap())
        .await
        .unwrap();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        match hs.process_bytes(&buf[..n]).unwrap() {
            HandshakeProcessResult::InProgress { response_bytes } => {
                s.write_all(&response_bytes).await.unwrap()
            }
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                s.write_all(&response_bytes).await.unwrap();
                return s;
            }
        }
    }
}

/// One RTMP message in a single type-0 chunk (payload must fit the chunk size).
fn chunk(csid: u8, type_id: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![csid, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    v.push(type_id);
    v.extend_from_slice(&stream_id.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_connections_are_closed_while_a_live_stream_keeps_recording() {
    let (engine, _dir) = engine(|_| {}).await;
    let addr = engine.rtmp_addr();
    let mut events = engine.subscribe();
    let live_url = format!("rtmp://{addr}/live/good?record=flv");
    let live = tokio::spawn(async move {
        replay(
            &live_url,
            Bytes::from_static(SAMPLE_CLIP),
            Some(Duration::from_secs(8)),
        )
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Random bytes instead of a handshake.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&noise(8192, 7)).await.unwrap();
    let _ = s.shutdown().await;
    assert_closed_by_server(s, "random bytes").await;

    // A handshake cut short.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[3]).await.unwrap();
    s.write_all(&noise(700, 9)).await.unwrap();
    let _ = s.shutdown().await;
    assert_closed_by_server(s, "truncated handshake").await;

    // An absurd chunk size (the top bit must be zero).
    let mut s = handshaken(addr).await;
    s.write_all(&chunk(2, 1, 0, &0xffff_ffffu32.to_be_bytes()))
        .await
        .unwrap();
    assert_closed_by_server(s, "oversize chunk size").await;

    // A 4 MiB message (of a type that is otherwise ignored) before publishing, in one chunk
    // after raising the chunk size: no connection that has not been let in to publish may make
    // us assemble big messages.
    let mut s = handshaken(addr).await;
    s.write_all(&chunk(2, 1, 0, &(8u32 << 20).to_be_bytes()))
        .await
        .unwrap();
    let _ = s.write_all(&chunk(3, 30, 0, &noise(4 << 20, 11))).await;
    assert_closed_by_server(s, "a big message before publishing").await;

    // A command whose AMF0 string claims more bytes than the message has.
    let mut s = handshaken(addr).await;
    s.write_all(&chunk(
        3,
        20,
        0,
        &[0x02, 0xff, 0xff, b'c', b'o', 0x00, 0x3f],
    ))
    .await
    .unwrap();
    assert_closed_by_server(s, "bogus AMF").await;

    // A command message with a single AMF0 value (rml_rtmp would panic on it).
    let mut s = handshaken(addr).await;
    s.write_all(&chunk(
        3,
        20,
        0,
        &[0x02, 0x00, 0x07, b'c', b'o', b'n', b'n', b'e', b'c', b't'],
    ))
    .await
    .unwrap();
    assert_closed_by_server(s, "command with too few AMF values").await;

    // An aggregate message whose FLV tag lies about its length.
    let (mut s, _session) = connect(&format!("rtmp://{addr}/live/liar")).await.unwrap();
    let mut tag = vec![9, 0, 1, 0xf4, 0, 0, 0, 0, 0, 0, 0];
    tag.extend_from_slice(&[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]);
    tag.extend_from_slice(&21u32.to_be_bytes());
    s.write_all(&chunk(9, 22, 1, &tag)).await.unwrap();
    assert_closed_by_server(s, "FLV tag with a lying length").await;

    // A video message too short to be an AVC packet.
    let (mut s, _session) = connect(&format!("rtmp://{addr}/live/short")).await.unwrap();
    s.write_all(&chunk(9, 9, 1, &[0x17, 1])).await.unwrap();
    assert_closed_by_server(s, "truncated video tag").await;

    live.await
        .unwrap()
        .expect("the live stream was never disturbed");
    let all = collect_until(&mut events, Duration::from_secs(10), |e| {
        closed(e).iter().any(|s| s.stream_code == "good")
    })
    .await;
    let good = closed(&all)
        .into_iter()
        .find(|s| s.stream_code == "good")
        .unwrap();
    assert_eq!(good.format, Format::Flv);
    assert!(
        good.duration_ms >= 7_500,
        "recorded {} ms of 8 s",
        good.duration_ms
    );
    assert!((duration_s(&good.path) - good.duration_ms as f64 / 1000.0).abs() < 0.1);
    assert!(
        closed(&all).iter().all(|s| s.stream_code == "good"),
        "nothing was recorded for the bad connections"
    );
}
