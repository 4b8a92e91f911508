//! The clients people publish with besides ffmpeg: GStreamer's `rtmpsink` (librtmp, the
//! lineage OBS's RTMP output comes from) and `rtmp2sink`, each pushing 6 s of H.264 + AAC with
//! `record=flv,mp4` (both files indexed, playable, every frame, 6 s); and OBS Studio itself
//! (Debian's 29, under Xvfb with a profile pointing at the server, `--startstreaming`) over
//! RTMP and over SRT.

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

/// (video packets, format duration) as ffprobe counts them; the video is H.264.
fn probe_video(path: &std::path::Path) -> (u32, f64) {
    let (codec, packets, duration) = tally_testkit::ffprobe_video(path);
    assert_eq!(codec, "h264", "{}", path.display());
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
    let files = tally_testkit::recorded_files(data.path(), &rows);
    for (row, (_, path)) in rows.iter().zip(files) {
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

/// An OBS profile streaming a 320x240 25 fps colour scene to `server` / `key` with x264
/// (OBS's custom service; an `srt://` server goes through its MPEG-TS output).
fn obs_home(home: &std::path::Path, server: &str, key: &str) {
    let config = home.join(".config/obs-studio");
    let profile = config.join("basic/profiles/Tally");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::create_dir_all(config.join("basic/scenes")).unwrap();
    let files = [
        (
            config.join("global.ini"),
            "[General]\nFirstRun=true\nLastVersion=486539264\nEnableAutoUpdates=false\n\
             Pre19Defaults=false\nPre21Defaults=false\nPre23Defaults=false\nPre24.1Defaults=false\n\
             [BasicWindow]\nSysTrayEnabled=false\n\
             [Basic]\nProfile=Tally\nProfileDir=Tally\nSceneCollection=Tally\nSceneCollectionFile=Tally\n"
                .to_owned(),
        ),
        (
            profile.join("basic.ini"),
            "[General]\nName=Tally\n[Video]\nBaseCX=320\nBaseCY=240\nOutputCX=320\nOutputCY=240\n\
             FPSType=1\nFPSInt=25\n[Output]\nMode=Simple\n\
             [SimpleOutput]\nVBitrate=500\nABitrate=128\nStreamEncoder=x264\nPreset=ultrafast\n"
                .to_owned(),
        ),
        (
            profile.join("service.json"),
            serde_json::json!({
                "type": "rtmp_custom",
                "settings": { "server": server, "key": key, "use_auth": false, "bwtest": false },
            })
            .to_string(),
        ),
        (
            config.join("basic/scenes/Tally.json"),
            serde_json::json!({
                "name": "Tally", "current_scene": "Scene", "current_program_scene": "Scene",
                "scene_order": [{ "name": "Scene" }],
                "sources": [
                    { "id": "scene", "versioned_id": "scene", "name": "Scene", "uuid": "a1",
                      "settings": { "id_counter": 1, "items": [{ "name": "Colour", "source_uuid": "b1",
                        "visible": true, "id": 1, "pos": { "x": 0, "y": 0 }, "scale": { "x": 1, "y": 1 },
                        "bounds": { "x": 0, "y": 0 }, "bounds_type": 0, "bounds_align": 0, "align": 5, "rot": 0 }] } },
                    { "id": "color_source_v3", "versioned_id": "color_source_v3", "name": "Colour", "uuid": "b1",
                      "settings": { "color": 4278190335u32, "width": 320, "height": 240 } }
                ]
            })
            .to_string(),
        ),
    ];
    for (path, text) in files {
        std::fs::write(path, text).unwrap();
    }
}

/// A display number to start looking from, apart for each OBS of this process: `xvfb-run -a`
/// alone can pick the same free number for two Xvfb starting at once.
fn display() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    400 + (std::process::id() % 50) * 10 + n
}

/// Runs OBS under Xvfb with `--startstreaming` until its recording has lasted `seconds`, then
/// stops it with SIGTERM, as a session manager would.
async fn obs_streams(home: &std::path::Path, data: &std::path::Path, seconds: u64) {
    use std::os::unix::process::CommandExt;
    let mut obs = Command::new("xvfb-run")
        .args(["-a", "-n", &display().to_string()])
        .args([
            "-s",
            "-screen 0 1280x720x24",
            "obs",
            "--multi",
            "--startstreaming",
        ])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("obs-studio and xvfb are installed (scripts/setup.sh)");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while tally_testkit::walk(&data.join("vod")).is_empty() {
        assert!(
            std::time::Instant::now() < until,
            "OBS started streaming within 60 s"
        );
        assert!(obs.try_wait().unwrap().is_none(), "OBS is running");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    let group = format!("-{}", obs.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let _ = obs.wait();
}

/// OBS streaming to `server` / `key` for ~6 s with `record=flv,mp4`: both files are
/// indexed and play, and hold every frame of OBS's 25 fps output for as long as they last.
async fn obs_records(server: &str, key: &str) {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let tally = start_server(data.path(), &[]);
    let server = server
        .replace("{rtmp}", &tally.rtmp)
        .replace("{srt}", tally.srt.as_deref().expect("SRT is on"));
    obs_home(home.path(), &server, key);
    obs_streams(home.path(), data.path(), 6).await;
    let rows = tally.wait_recordings(2).await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for (_, path) in tally_testkit::recorded_files(data.path(), &rows) {
        let (packets, duration) = probe_video(&path);
        assert!(
            duration >= 5.0,
            "{}: {duration} s of the ~6 s streamed",
            path.display()
        );
        let frames = duration * 25.0;
        assert!(
            (f64::from(packets) - frames).abs() <= 1.5,
            "{}: {packets} frames in {duration} s at 25 fps",
            path.display()
        );
    }
}

/// OBS itself (Debian's obs-studio 29, x264 over RTMP).
#[tokio::test(flavor = "multi_thread")]
async fn obs_studio_is_recorded_to_flv_and_mp4() {
    let key = "8888_7a2b3c4d5e6f70819a2b3c4d5e6f70b1?record=flv,mp4&recordId=obs";
    obs_records("{rtmp}/live", key).await;
}

/// OBS pushing SRT (its custom service with an `srt://` server: MPEG-TS through libsrt).
#[tokio::test(flavor = "multi_thread")]
async fn obs_studio_over_srt_is_recorded_to_flv_and_mp4() {
    let stream_id =
        "live/8888_7a2b3c4d5e6f70819a2b3c4d5e6f70b2%3Frecord%3Dflv%2Cmp4%26recordId%3Dobs";
    obs_records(&format!("{{srt}}?streamid={stream_id}&linger=2"), "").await;
}
