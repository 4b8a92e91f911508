//! HEVC and AV1 over enhanced RTMP (FourCC video tags), published by a current ffmpeg (the
//! `imageio-ffmpeg` wheel; Debian's 5.1 predates E-RTMP) with `record=flv,mp4,hls` and 10 s
//! segments. Each file is read back by that ffmpeg: the codec is right, every segment (and
//! every HLS chunk) starts on a keyframe, the segments add up to the published duration within
//! one frame, and the files decode without an error. AV1 has no MPEG-TS mapping Tally writes:
//! its HLS is refused with 30000524 while FLV and MP4 are recorded.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::start_server;
use tally_testkit::modern_ffmpeg::{decodes_cleanly, publish_command, stream_packets, AV1, HEVC};
use tally_testkit::ServerProcess;

const SECONDS: u32 = 22;
const FRAME: f64 = 0.04; // 25 fps

/// The server's live events as text, collected in the background from now on.
fn collect_events(server: &ServerProcess) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let url = format!("{}/v1/events", server.http);
    let sink = text.clone();
    tokio::spawn(async move {
        let mut response = reqwest::get(url).await.expect("events open");
        while let Ok(Some(chunk)) = response.chunk().await {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    text
}

/// The chunks an HLS playlist lists, with their EXTINF durations.
fn playlist_chunks(playlist: &Path) -> Vec<(PathBuf, f64)> {
    let text = std::fs::read_to_string(playlist).unwrap();
    let mut out = Vec::new();
    let mut duration = None;
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = d
                .trim_end_matches(',')
                .split(',')
                .next()
                .unwrap()
                .parse()
                .ok();
        } else if !line.starts_with('#') && !line.is_empty() {
            let d = duration.take().expect("EXTINF before each chunk");
            out.push((playlist.with_file_name(line), d));
        }
    }
    assert!(
        text.contains("#EXT-X-ENDLIST"),
        "{} is ended",
        playlist.display()
    );
    out
}

/// Checks one recorded file (or HLS segment) and returns its duration, seconds.
fn check_file(path: &Path, codec: &str) -> f64 {
    let is_hls = path.extension().is_some_and(|e| e == "m3u8");
    let parts = if is_hls {
        playlist_chunks(path)
    } else {
        vec![(path.to_path_buf(), f64::NAN)]
    };
    let mut total = 0.0;
    for (part, listed) in parts {
        let video = stream_packets(&part, "v:0");
        assert_eq!(video.codec, codec, "{}", part.display());
        assert!(
            video.packets.first().is_some_and(|p| p.keyframe),
            "{} starts on a keyframe",
            part.display()
        );
        assert_eq!(
            stream_packets(&part, "a:0").codec,
            "aac",
            "{}",
            part.display()
        );
        if is_hls {
            // The listed duration is the chunk's: the next chunk starts where it ends.
            assert!(
                (listed - video.duration()).abs() <= FRAME,
                "{}: EXTINF {listed}, video {}",
                part.display(),
                video.duration()
            );
            total += listed;
        } else {
            total += video.duration();
        }
    }
    if let Err(e) = decodes_cleanly(path) {
        panic!("{} does not decode cleanly: {e}", path.display());
    }
    total
}

/// Publishes with `video` arguments and checks every file of `formats`; returns the live
/// events seen meanwhile.
async fn records(code: &str, codec: &str, video: &[&str], formats: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let events = collect_events(&server);
    let rtmp = server.rtmp.trim_start_matches("rtmp://").to_owned();
    let url =
        format!("rtmp://{rtmp}/live/{code}?record=flv,mp4,hls&record_interval=10&recordId={codec}");
    let mut publisher = publish_command(video, "flv", &url, SECONDS);
    let status = tokio::task::spawn_blocking(move || publisher.status())
        .await
        .unwrap()
        .expect("the modern ffmpeg runs");
    assert!(status.success(), "publishing {codec} failed: {status}");
    let expected_files = 3 * formats.len(); // 10 s + 10 s + 2 s
    let rows = server.wait_recordings(expected_files).await;
    assert_eq!(rows.len(), expected_files, "{codec}: {rows:#?}");
    for row in &rows {
        assert_eq!(
            row["video_codec"], codec,
            "the index names the codec: {row}"
        );
        assert_eq!(row["width"], 320, "{row}");
    }
    for format in formats {
        let mut paths: Vec<PathBuf> = tally_testkit::recorded_files(data.path(), &rows)
            .into_iter()
            .filter(|(f, _)| f == format)
            .map(|(_, path)| path)
            .collect();
        paths.sort();
        assert_eq!(paths.len(), 3, "{codec} {format}: {paths:?}");
        let total: f64 = paths.iter().map(|p| check_file(p, codec)).sum();
        assert!(
            (total - f64::from(SECONDS)).abs() <= FRAME + 1e-9,
            "{codec} {format}: the segments last {total} s, published {SECONDS} s"
        );
    }
    let text = events.lock().unwrap().clone();
    // The stream's measured state follows the codec: its name, resolution and frame rate.
    let states: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .filter(|e: &serde_json::Value| {
            e["type"] == "stream_state" && e["fps"].as_f64() > Some(0.0)
        })
        .collect();
    let measured = states
        .last()
        .unwrap_or_else(|| panic!("{codec}: a measured stream state in {text}"));
    assert_eq!(measured["video_codec"], codec, "{measured}");
    let size = (measured["width"].as_i64(), measured["height"].as_i64());
    assert_eq!(size, (Some(320), Some(240)), "{measured}");
    let fps = measured["fps"].as_f64().unwrap();
    assert!((fps - 25.0).abs() < 1.5, "{codec}: {fps} fps measured");
    let gop = measured["keyframe_interval_ms"].as_i64().unwrap_or(0);
    assert!(
        (900..=1100).contains(&gop),
        "{codec}: keyframes every {gop} ms"
    );
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn hevc_over_enhanced_rtmp_is_recorded_to_flv_mp4_and_hls() {
    records(
        "8888_5a2b3c4d5e6f70819a2b3c4d5e6f7091",
        "hevc",
        HEVC,
        &["flv", "mp4", "hls"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn av1_over_enhanced_rtmp_is_recorded_to_flv_and_mp4_and_its_hls_refused() {
    let events = records(
        "8888_5a2b3c4d5e6f70819a2b3c4d5e6f7092",
        "av1",
        AV1,
        &["flv", "mp4"],
    )
    .await;
    assert!(
        events.contains("30000524"),
        "AV1 HLS is refused with its code: {events}"
    );
}

/// Opus audio over enhanced RTMP (`Opus` FourCC): kept in FLV, an `Opus` / `dOps` track in
/// MP4 with every packet's duration from its TOC, and left out of HLS (MPEG-TS carries AAC
/// here), whose video is still recorded.
#[tokio::test(flavor = "multi_thread")]
async fn opus_over_enhanced_rtmp_goes_into_flv_and_mp4_and_hls_is_video_only() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let rtmp = server.rtmp.trim_start_matches("rtmp://").to_owned();
    let code = "8888_5a2b3c4d5e6f70819a2b3c4d5e6f7093";
    let url = format!("rtmp://{rtmp}/live/{code}?record=flv,mp4,hls&recordId=opus");
    let args = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-c:a",
        "libopus",
    ];
    let mut publisher = publish_command(&args, "flv", &url, 6);
    let status = tokio::task::spawn_blocking(move || publisher.status())
        .await
        .unwrap()
        .expect("the modern ffmpeg runs");
    assert!(status.success(), "publishing Opus failed: {status}");
    let rows = server.wait_recordings(3).await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for (row, (format, path)) in rows
        .iter()
        .zip(tally_testkit::recorded_files(data.path(), &rows))
    {
        if format == "hls" {
            assert!(row["audio_codec"].is_null(), "{row}");
            let chunks = playlist_chunks(&path);
            let (codec, packets, _) = tally_testkit::ffprobe_video(&chunks[0].0);
            assert_eq!(
                (codec.as_str(), packets > 0),
                ("h264", true),
                "HLS has the video"
            );
            continue;
        }
        assert_eq!(row["audio_codec"], "opus", "{row}");
        let audio = stream_packets(&path, "a:0");
        assert_eq!(audio.codec, "opus", "{format}: {}", path.display());
        let video = stream_packets(&path, "v:0");
        assert_eq!(video.packets.len(), 150, "{format}: every video frame");
        assert!(
            (audio.duration() - video.duration()).abs() <= 0.1,
            "{format}: audio {} s beside video {} s",
            audio.duration(),
            video.duration()
        );
        decodes_cleanly(&path).unwrap_or_else(|e| panic!("{format}: {e}"));
    }
}
