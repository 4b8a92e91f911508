//! SRT ingest with Debian's ffmpeg (libsrt) as the publisher: MPEG-TS over SRT, the stream
//! named by `streamid` with the same `txSecret` / `txTime` and `record=` as an RTMP push URL.
//! A signed push is recorded in all three formats and called back; a wrongly signed one is
//! rejected in the SRT handshake before any file exists; kill -9 mid-recording leaves files
//! that the next start finishes and indexes, as it does for RTMP.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{callback_receiver, finished_files, md5_hex, start_server, wait_files};
use tally_testkit::ServerProcess;

const KEY: &str = "srt-push-key";
const SECONDS: u32 = 8;

/// A `txSecret` / `txTime` pair for `code`, valid for an hour (or signed with the wrong key).
fn signature(code: &str, key: &str) -> String {
    let tx_time = format!("{:x}", chrono_now() + 3600);
    let secret = md5_hex(&format!("{key}{code}{tx_time}"));
    format!("txSecret={secret}&txTime={tx_time}")
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `srt://host:port?streamid=live/<code>?<query>`, the stream id percent-encoded. `linger`
/// makes the publisher deliver what it has sent before it closes: libsrt's live mode drops
/// its unacknowledged tail at close otherwise (up to its 120 ms latency of media).
fn srt_url(server: &ServerProcess, code: &str, query: &str) -> String {
    let base = server.srt.as_deref().expect("the server takes SRT");
    let stream_id = format!("live/{code}?{query}")
        .replace('?', "%3F")
        .replace('&', "%26")
        .replace('=', "%3D")
        .replace(',', "%2C");
    format!("{base}?streamid={stream_id}&linger=2")
}

/// Debian's ffmpeg pushing `seconds` of H.264 + AAC as MPEG-TS over SRT, in real time.
fn srt_publisher(url: &str, seconds: u32) -> Command {
    let mut cmd = tally_testkit::ffmpeg_publish_as(url, seconds, "mpegts");
    cmd.stdin(Stdio::null());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.spawn().expect("ffmpeg is installed (scripts/setup.sh)")
}

/// The codec of every stream in the file, as Debian's ffprobe reads them.
fn codecs(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    // An HLS playlist lists its program's streams again: each codec once, in order.
    let mut seen: Vec<String> = Vec::new();
    for codec in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
    {
        if !seen.iter().any(|s| s == codec) {
            seen.push(codec.to_owned());
        }
    }
    seen
}

/// Video codec, packets and duration as Debian's ffprobe reads them.
fn probe(path: &Path) -> (String, u64, f64) {
    let (codec, packets, duration) = tally_testkit::ffprobe_video(path);
    (codec, u64::from(packets), duration)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_srt_push_is_recorded_in_every_format_and_called_back() {
    let data = tempfile::tempdir().unwrap();
    let (cb_url, received) = callback_receiver().await;
    let server = start_server(
        data.path(),
        &[
            "--push-key",
            KEY,
            "--callback-url",
            &cb_url,
            "--callback-key",
            "cb",
        ],
    );
    let code = "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a1";
    let query = format!("record=flv,mp4,hls&recordId=srt&{}", signature(code, KEY));
    let url = srt_url(&server, code, &query);
    let status = srt_publisher(&url, SECONDS).status().unwrap();
    assert!(status.success(), "the SRT push succeeds: {status}");

    let rows = server.wait_recordings(3).await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for (format, path) in tally_testkit::recorded_files(data.path(), &rows) {
        let (codec, packets, duration) = probe(&path);
        assert_eq!(codec, "h264", "{format}: {}", path.display());
        // The TS muxer's audio comes up to 0.7 s after the video: the file still has both.
        assert_eq!(codecs(&path), ["h264", "aac"], "{format}: both tracks");
        assert_eq!(
            packets,
            25 * u64::from(SECONDS),
            "{format}: every video frame"
        );
        assert!(
            (duration - f64::from(SECONDS)).abs() <= 0.04,
            "{format}: {} lasts {duration} s",
            path.display()
        );
    }
    let called_back: Vec<_> = wait_files(&received, 3, Duration::from_secs(10))
        .await
        .into_values()
        .collect();
    assert_eq!(
        called_back.len(),
        3,
        "a callback per file: {called_back:#?}"
    );
    for cb in &called_back {
        assert_eq!(cb["event_type"], 100);
        assert_eq!(cb["stream_id"], code, "{cb}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrongly_signed_srt_push_is_rejected_before_any_file_is_written() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--push-key", KEY]);
    let code = "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a2";
    for query in [
        format!("record=flv,mp4,hls&{}", signature(code, "another-key")),
        "record=flv,mp4,hls".to_owned(),
    ] {
        let url = srt_url(&server, code, &query);
        let out = srt_publisher(&url, 3).output().unwrap();
        assert!(!out.status.success(), "{query}: the push is refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.to_lowercase().contains("reject") || stderr.contains("Connection setup failure"),
            "{query}: ffmpeg is told at connect: {stderr}"
        );
    }
    assert!(server.recordings().await.is_empty());
    let written = tally_testkit::walk(&data.path().join("vod"));
    assert!(written.is_empty(), "nothing written: {written:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_an_srt_recording_keeps_what_was_recorded() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let code = "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a3";
    let url = srt_url(&server, code, "record=flv,mp4,hls&recordId=crash");
    let mut publisher = spawn(srt_publisher(&url, 30));
    // Six seconds in, every format has media on disk.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        finished_files(data.path()).is_empty(),
        "nothing finished yet"
    );
    drop(server); // SIGKILL
    let _ = publisher.wait();

    let server = start_server(data.path(), &[]);
    let rows = server.wait_recordings(3).await;
    assert_eq!(rows.len(), 3, "every format is recovered: {rows:#?}");
    for (format, path) in tally_testkit::recorded_files(data.path(), &rows) {
        let (codec, _, duration) = probe(&path);
        assert_eq!(codec, "h264", "{format}: {}", path.display());
        assert!(
            (3.0..=7.0).contains(&duration),
            "{format}: the recovered {} lasts {duration} s of the ~6 s before the kill",
            path.display()
        );
    }
    let row = server
        .get_json(&format!(
            "/v1/recordings/{}",
            rows[0]["file_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(row["recovered"], true, "{row}");
    let _ = publisher.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn hevc_over_srt_from_a_current_ffmpeg_is_recorded_as_hevc() {
    use tally_testkit::modern_ffmpeg::{decodes_cleanly, publish_command, stream_packets, HEVC};
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let code = "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a4";
    // ffmpeg ≥ 6.1 decodes the stream id itself: the server takes it either way.
    let url = srt_url(&server, code, "record=flv,mp4,hls&recordId=hevc");

    let status = publish_command(HEVC, "mpegts", &url, 6).status().unwrap();
    assert!(status.success(), "the HEVC SRT push succeeds: {status}");
    let rows = server.wait_recordings(3).await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for (format, path) in tally_testkit::recorded_files(data.path(), &rows) {
        let part = if format == "hls" {
            let playlist = std::fs::read_to_string(&path).unwrap();
            let first = playlist
                .lines()
                .find(|l| l.ends_with(".ts"))
                .unwrap()
                .to_owned();
            path.with_file_name(first)
        } else {
            path.clone()
        };
        let video = stream_packets(&part, "v:0");
        assert_eq!(video.codec, "hevc", "{format}: {}", part.display());
        assert!(video.packets[0].keyframe, "{format} starts on a keyframe");
        assert_eq!(
            stream_packets(&part, "a:0").codec,
            "aac",
            "{format}: both tracks"
        );
        if format != "hls" {
            assert_eq!(video.packets.len(), 150, "{format}: every frame");
            assert!(
                (video.duration() - 6.0).abs() <= 0.04,
                "{format}: {} s",
                video.duration()
            );
        }
        decodes_cleanly(&path).unwrap_or_else(|e| panic!("{format}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_srt_publisher_of_a_live_code_and_one_over_the_connection_cap_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--max-rtmp-connections", "2"]);
    let codes = [
        "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a5",
        "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a6",
        "8888_6a2b3c4d5e6f70819a2b3c4d5e6f70a7",
    ];
    let url = |code: &str| srt_url(&server, code, "record=flv");
    let refused = |code: &str| {
        let out = srt_publisher(&url(code), 2).output().unwrap();
        (
            !out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut first = spawn(srt_publisher(&url(codes[0]), 12));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (was_refused, stderr) = refused(codes[0]);
    assert!(was_refused, "the live code is not taken over: {stderr}");
    let mut second = spawn(srt_publisher(&url(codes[1]), 10));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (was_refused, stderr) = refused(codes[2]);
    assert!(
        was_refused,
        "a third publisher is over the cap of 2: {stderr}"
    );
    assert!(first.wait().unwrap().success() && second.wait().unwrap().success());
    let rows = server.wait_recordings(2).await;
    let mut recorded: Vec<&str> = rows
        .iter()
        .map(|r| r["stream_code"].as_str().unwrap())
        .collect();
    recorded.sort();
    assert_eq!(
        recorded,
        codes[..2],
        "the two admitted publishers are recorded"
    );
}
