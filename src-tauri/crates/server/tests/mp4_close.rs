//! Stopping a recording whose MP4 holds over 500 MB answers at once with its file, and a start
//! on another stream at the same moment is not held up: MP4s are finished in place, without
//! copying their samples.

mod common;

use std::time::{Duration, Instant};

use common::{camera_url, clip_video, largest_keyframe, spawn_publisher, start_server};
use reqwest::Client;
use serde_json::json;
use tally_media::replay::{push_tags, Tag};

fn start(user: &str) -> serde_json::Value {
    json!({"op": "start", "room_id": "big", "user_id": user, "file_name": "大文件"})
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_a_500_mb_mp4_answers_within_a_second_and_holds_up_no_other_start() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let http = Client::new();
    server.create_multi_room(&http, "big").await;
    let mut urls = Vec::new();
    for user in ["alice", "bob"] {
        let (status, member) = server
            .post_json(&http, "/v1/rooms/big/members", json!({"user_id": user}))
            .await;
        assert_eq!(status, 200, "{member}");
        urls.push(camera_url(&member));
    }
    let mut bob = spawn_publisher(&urls[1], 30);
    let (status, answer) = server.post_json(&http, "/v1/record", start("alice")).await;
    assert_eq!(status, 200, "{answer}");

    // 32 keyframes of 16 MiB, one a second: 512 MiB in the open MP4.
    let video = clip_video();
    let huge = largest_keyframe(&video);
    let tags = std::iter::once(Tag {
        video: true,
        ts: 0,
        body: video.config.clone(),
    })
    .chain((0..32u32).map(|i| Tag {
        video: true,
        ts: i * 1000,
        body: huge.clone(),
    }));
    let alice = push_tags(&urls[0], tags).await.unwrap();
    let part_size = || {
        tally_testkit::walk(data.path())
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".mp4.part"))
            .map(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
            .max()
            .unwrap_or(0)
    };
    let until = Instant::now() + Duration::from_secs(60);
    while part_size() < 500 << 20 {
        assert!(
            Instant::now() < until,
            "the MP4 grew to {} bytes",
            part_size()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stop = json!({"op": "stop", "room_id": "big", "user_id": "alice"});
    let timed = |body| {
        let (http, server) = (&http, &server);
        async move {
            let began = Instant::now();
            let answer = server.post_json(http, "/v1/record", body).await;
            (answer, began.elapsed())
        }
    };
    let (((stop_status, stopped), stop_took), ((start_status, started), start_took)) =
        tokio::join!(timed(stop), async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            timed(start("bob")).await
        });
    println!(
        "{{\"stop_ms\":{},\"other_start_ms\":{}}}",
        stop_took.as_millis(),
        start_took.as_millis()
    );
    assert_eq!(stop_status, 200, "{stopped}");
    assert_eq!(start_status, 200, "{started}");
    assert!(
        stop_took < Duration::from_secs(1),
        "stop took {stop_took:?}"
    );
    assert!(
        start_took < Duration::from_secs(1),
        "start took {start_took:?}"
    );
    drop(alice);
    let _ = bob.kill();
    let _ = bob.wait();

    let file_id = stopped["file_ids"][0].as_str().unwrap().to_owned();
    let row = server.get_json(&format!("/v1/recordings/{file_id}")).await;
    assert!(row["size"].as_u64().unwrap() > 500 << 20, "{row}");
    let file = data
        .path()
        .join("vod")
        .join(common::vod_path(row["url"].as_str().unwrap()));
    let mut head = [0u8; 64];
    std::io::Read::read_exact(&mut std::fs::File::open(&file).unwrap(), &mut head).unwrap();
    let second_box = u32::from_be_bytes(head[0..4].try_into().unwrap()) as usize;
    assert_eq!(&head[second_box + 4..second_box + 8], b"moov", "faststart");
    assert!(common::ffprobe_plays(&file));
}
