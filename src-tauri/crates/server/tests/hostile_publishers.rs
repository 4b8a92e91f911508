//! Publishers that misbehave do not keep a stream code from its real owner, nor the server's
//! memory, nor a segment open forever: a half-open publisher (its app froze or its network
//! vanished without a FIN) is dropped once it has sent nothing for the idle timeout and the
//! same stream code can be published again; one that sends the biggest messages RTMP allows
//! is recorded in bounded memory; one that never sends a keyframe still gets its segments cut.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{clip_video, ffprobe_plays, largest_keyframe, publish, spawn_publisher, start_server};
use tally_media::replay::{push_tags, Tag};

#[tokio::test(flavor = "multi_thread")]
async fn a_half_open_publisher_is_dropped_within_the_idle_timeout_and_the_code_publishes_again() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--idle-timeout", "2"]);
    let push = format!("{}/live/8888_halfopen?record=flv", server.rtmp);
    let mut frozen = spawn_publisher(&push, 60);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Frozen: the TCP connection stays open and answers keepalives, but no byte comes.
    let pid = frozen.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(3500)).await;

    // The real publisher comes back on the same stream code and is recorded.
    let again = push.clone();
    tokio::task::spawn_blocking(move || publish(&again, 3))
        .await
        .unwrap();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let _ = frozen.kill();
    let _ = frozen.wait();
    let rows = server.wait_recordings(2).await;
    assert_eq!(
        rows.len(),
        2,
        "the frozen publish and the new one: {rows:#?}"
    );
    let newest = rows
        .iter()
        .max_by_key(|r| r["start_ms"].as_i64().unwrap())
        .unwrap();
    assert!(newest["duration_ms"].as_i64().unwrap() >= 2_500, "{newest}");
    let file = data
        .path()
        .join("vod")
        .join(common::vod_path(newest["url"].as_str().unwrap()));
    assert!(ffprobe_plays(&file));
}

/// Peak resident memory of a process (`VmHWM`), bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// What the server may hold for one publisher of the largest messages, as docs/security.md
/// states it: one message being received, one waiting for the stream's budget, one waiting for
/// the recording's budget, one being written and the HLS writer's two working copies (Annex B,
/// PES): six messages of 16 MiB, and as much again for the allocator's slack. The same run
/// without the budgets holds nearly everything sent (over 300 MiB).
const PUBLISHER_MEMORY_BOUND: u64 = 10 * (16 << 20);

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_of_16_mib_messages_is_recorded_in_bounded_memory() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = peak_rss(server.pid());

    // Keyframes as large as an RTMP message can be, one a second.
    let video = clip_video();
    let huge = largest_keyframe(&video);
    let messages = 24u32;
    let tags = std::iter::once(Tag {
        video: true,
        ts: 0,
        body: video.config.clone(),
    })
    .chain((0..messages).map(|i| Tag {
        video: true,
        ts: i * 1000,
        body: huge.clone(),
    }));
    let url = format!("{}/live/8888_huge?record=flv,hls", server.rtmp);
    drop(push_tags(&url, tags).await.unwrap());

    let rows = server.wait_recordings(2).await;
    let peak = peak_rss(server.pid());
    let grew = peak.saturating_sub(before);
    println!(
        "{{\"peak_rss_bytes\":{peak},\"grew_bytes\":{grew},\"bound_bytes\":{PUBLISHER_MEMORY_BOUND},\"sent_bytes\":{}}}",
        u64::from(messages) * huge.len() as u64
    );
    assert!(
        grew < PUBLISHER_MEMORY_BOUND,
        "memory grew by {} MiB for one publisher (bound {} MiB)",
        grew >> 20,
        PUBLISHER_MEMORY_BOUND >> 20
    );
    // Every message was recorded, not dropped.
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for row in &rows {
        let size = row["size"].as_u64().unwrap();
        assert!(
            size > u64::from(messages - 1) * huge.len() as u64,
            "{} holds {size} bytes",
            row["format"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_that_never_sends_a_keyframe_still_gets_its_segments_cut() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    // 45 s of inter frames (25 fps), sent at once: segments are cut on media time.
    let video = clip_video();
    let frames = 45 * 25;
    let tags = std::iter::once(Tag {
        video: true,
        ts: 0,
        body: video.config.clone(),
    })
    .chain((0..frames).map(|i| Tag {
        video: true,
        ts: i * 40,
        body: video.inter[i as usize % video.inter.len()].clone(),
    }));
    let url = format!(
        "{}/live/8888_nokey?record=flv,mp4&record_interval=10",
        server.rtmp
    );
    drop(push_tags(&url, tags).await.unwrap());

    // Recorded from 10 s in (FORCED_CUT_AFTER_MS of waiting for a keyframe), cut at
    // interval + 10 s: 10–30 s and 30–45 s.
    let rows = server.wait_recordings(4).await;
    for format in ["flv", "mp4"] {
        let durations: Vec<i64> = rows
            .iter()
            .filter(|r| r["format"] == format)
            .map(|r| r["duration_ms"].as_i64().unwrap())
            .collect();
        assert_eq!(durations.len(), 2, "{format}: {rows:#?}");
        for d in &durations {
            assert!(*d <= 20_000 + 40, "{format}: a segment of {d} ms");
        }
        let total: i64 = durations.iter().sum();
        assert!(total >= 34_900, "{format}: {durations:?}");
    }
    for row in &rows {
        let file = data
            .path()
            .join("vod")
            .join(common::vod_path(row["url"].as_str().unwrap()));
        assert!(ffprobe_plays(&file), "{}", file.display());
    }
}
