//! The RTMP clients people publish with besides ffmpeg: GStreamer's `rtmpsink` (librtmp, the
//! lineage OBS's RTMP output comes from) and `rtmp2sink`. Each pushes 6 s of H.264 + AAC with
//! `record=flv,mp4`; both files are indexed, play, hold every frame and last 6 s.

mod common;

use std::process::{Command, Stdio};

use common::start_server;

const FRAMES: u32 = 150; // 6 s at 25 fps

/// gst-launch publishing `FRAMES` frames of a test picture and a tone through `sink`.
fn gst_publish(sink: &str) {
    let pipeline = format!(
        "videotestsrc num-buffers={FRAMES} is-live=true \
         ! video/x-raw,format=I420,width=320,height=240,framerate=25/1 \
         ! x264enc tune=zerolatency key-int-max=50 speed-preset=ultrafast ! h264parse ! queue \
         ! flvmux name=mux streamable=true ! {sink} \
         audiotestsrc is-live=true num-buffers=258 samplesperbuffer=1024 \
         ! audio/x-raw,rate=44100,channels=2 ! voaacenc ! aacparse ! queue ! mux."
    );
    let status = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .stdin(Stdio::null())
        .status()
        .expect("gst-launch-1.0 is installed (scripts/setup.sh)");
    assert!(status.success(), "{sink}: gst-launch failed: {status}");
}

/// (video packets, video or format duration) as ffprobe counts them.
fn probe_video(path: &std::path::Path) -> (u32, f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-count_packets"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_packets:format=duration",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    assert_eq!(v["streams"][0]["codec_name"], "h264", "{}", path.display());
    let packets = v["streams"][0]["nb_read_packets"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let duration = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    (packets, duration)
}

async fn records_both_formats(sink: &str, code: &str) {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let rtmp = server.rtmp.trim_start_matches("rtmp://").to_owned();
    let url = format!("rtmp://{rtmp}/live/{code}?record=flv,mp4&recordId=gst");
    // rtmpsink (librtmp) takes its options after the URL, separated by spaces.
    let sink = match sink {
        "rtmpsink" => format!("rtmpsink location=\"{url} live=1\""),
        other => format!("{other} location={url}"),
    };
    gst_publish(&sink);
    let rows = server.wait_recordings(2).await;
    assert_eq!(rows.len(), 2, "{sink}: {rows:?}");
    for row in &rows {
        let path = data
            .path()
            .join("vod")
            .join(common::vod_path(row["url"].as_str().unwrap()));
        let (packets, duration) = probe_video(&path);
        assert_eq!(packets, FRAMES, "{sink}: every frame in {}", path.display());
        assert!(
            (duration - 6.0).abs() <= 0.04,
            "{sink}: {} lasts {duration} s",
            path.display()
        );
        assert!(
            row["thumbnail_url"].is_string(),
            "{sink}: a poster for {row}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gstreamer_rtmpsink_librtmp_is_recorded_to_flv_and_mp4() {
    records_both_formats("rtmpsink", "8888_1a2b3c4d5e6f70819a2b3c4d5e6f7081").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gstreamer_rtmp2sink_is_recorded_to_flv_and_mp4() {
    records_both_formats("rtmp2sink", "8888_2a2b3c4d5e6f70819a2b3c4d5e6f7082").await;
}
