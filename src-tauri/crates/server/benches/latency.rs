//! Record-start and callback latency of the real `tally-server` (SPEC §8), as one JSON object
//! on stdout. Run: `cargo bench -p tally-server --bench latency -- [starts]` (default 200).
//!
//! The server runs as its own process; the publisher (the bundled clip, replayed in real time)
//! and the callback receiver run here. Files are watched by polling the data directory every
//! millisecond, so every time below is accurate to 1–2 ms.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::{Json, Router};
use reqwest::Client;
use serde_json::{json, Value};
use tally_api::rooms::{CreateRoom, JoinRoom, Membership, RecordResponse, RoomKind, Source};
use tally_media::flv::parse_header;
use tally_media::flv::reader::parse_all_tags;
use tally_media::frame::TAG_VIDEO;
use tally_media::replay::{replay, SAMPLE_CLIP};

use common::{start_server, ServerProcess};

const ROOM: &str = "bench-room";
/// A multi room (two-person rooms cannot record); only the first member publishes.
const MEMBERS: [&str; 3] = ["alice", "bob", "carol"];
const DEFAULT_STARTS: usize = 200;
/// SPEC §8.
const RECORD_START_P99_TARGET_MS: f64 = 200.0;
const CALLBACK_P50_TARGET_MS: f64 = 200.0;
/// Longer than any wait a healthy server needs (a keyframe, a fragment, a callback).
const PATIENCE: Duration = Duration::from_secs(15);

/// Callbacks as they arrived at the receiver.
type Arrivals = Arc<Mutex<Vec<(Instant, Value)>>>;

/// What one start/stop cycle measured, in ms.
struct Cycle {
    start_answered: f64,
    file_created: f64,
    first_byte: f64,
    stop_answered: f64,
    stop_to_file_closed: f64,
    callback_after_close: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; the only other argument is the number of starts.
    let starts = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or(DEFAULT_STARTS, |a| a.parse().expect("starts is a number"));
    let data = tempfile::tempdir().expect("temp dir");
    let (callback_url, arrivals) = callback_receiver().await;
    let server = start_server(data.path(), &["--callback-url", &callback_url]);
    let http = Client::new();
    let camera = open_room(&http, &server).await;
    let url = camera.url.clone();
    tokio::spawn(async move { replay(&url, Bytes::from_static(SAMPLE_CLIP), None).await });
    wait_live(&arrivals, &camera.stream_code).await;

    let stream_dir = data.path().join("vod/live").join(&camera.stream_code);
    let gop_ms = clip_keyframe_interval_ms();
    let mut cycles = Vec::with_capacity(starts);
    for i in 0..starts {
        tokio::time::sleep(phase(i, gop_ms)).await;
        cycles.push(cycle(&http, &server, &stream_dir, &arrivals, i).await);
        eprint!("\r{}/{starts} starts", i + 1);
    }
    eprintln!();
    println!("{:#}", report(&cycles, gop_ms));
}

/// Receives callbacks, noting when each arrived; answers 200 so the first attempt is the last.
async fn callback_receiver() -> (String, Arrivals) {
    let arrivals = Arrivals::default();
    let sink = arrivals.clone();
    let app = Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| async move {
            sink.lock().unwrap().push((Instant::now(), body));
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, arrivals)
}

async fn post_json<T: serde::de::DeserializeOwned>(
    http: &Client,
    server: &ServerProcess,
    path: &str,
    body: &impl serde::Serialize,
) -> T {
    let res = http
        .post(format!("{}{path}", server.http))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = res.status();
    let text = res.text().await.expect("a body");
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"))
}

/// Creates the multi room, joins every member and returns the first member's camera push URL.
async fn open_room(http: &Client, server: &ServerProcess) -> tally_api::rooms::PushUrl {
    let room = CreateRoom {
        room_id: ROOM.into(),
        kind: RoomKind::Multi,
    };
    let _: Value = post_json(http, server, "/v1/rooms", &room).await;
    let mut first = None;
    for user in MEMBERS {
        let join = JoinRoom {
            user_id: user.into(),
        };
        let member: Membership =
            post_json(http, server, &format!("/v1/rooms/{ROOM}/members"), &join).await;
        first.get_or_insert(member);
    }
    first
        .expect("a member")
        .push
        .into_iter()
        .find(|p| p.source == Source::Camera)
        .expect("a camera push URL")
}

/// Polls `probe` every millisecond until it yields something; panics after `PATIENCE`.
async fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> (Instant, T) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = probe() {
            return (Instant::now(), v);
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The stream is live once the server has sent its stream-started callback (`event_type` 1).
async fn wait_live(arrivals: &Arrivals, stream_code: &str) {
    poll("the stream to go live", || {
        arrivals
            .lock()
            .unwrap()
            .iter()
            .any(|(_, b)| b["event_type"] == 1 && b["stream_id"] == stream_code)
            .then_some(())
    })
    .await;
}

/// The open recording's `.mp4.part` and its size; a stop removes it, so there is at most one.
fn open_part(stream_dir: &Path) -> Option<(PathBuf, u64)> {
    let days = std::fs::read_dir(stream_dir).ok()?;
    days.flatten()
        .filter_map(|day| std::fs::read_dir(day.path()).ok())
        .flatten()
        .flatten()
        .find(|f| f.file_name().to_string_lossy().ends_with(".mp4.part"))
        .map(|f| (f.path(), f.metadata().map_or(0, |m| m.len())))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// POSTs a start or stop in the background, so the files can be watched meanwhile; the task
/// yields the answer and when it came.
fn record(
    http: &Client,
    server: &ServerProcess,
    op: &'static str,
    i: usize,
) -> tokio::task::JoinHandle<(Instant, RecordResponse)> {
    let (http, url) = (http.clone(), format!("{}/v1/record", server.http));
    let body = json!({"op": op, "room_id": ROOM, "user_id": MEMBERS[0], "file_name": format!("bench-{i}"),
        "class_id": 0, "tags": [], "record_type": "video", "source": "camera", "sdk_type": "normal"});
    tokio::spawn(async move {
        let res = http.post(url).json(&body).send().await.expect("answer");
        let status = res.status();
        let text = res.text().await.expect("a body");
        let at = Instant::now();
        assert!(status.is_success(), "{op}: {status} {text}");
        (at, serde_json::from_str(&text).expect("a RecordResponse"))
    })
}

/// One start → first byte → stop → file closed → callback cycle.
async fn cycle(
    http: &Client,
    server: &ServerProcess,
    stream_dir: &Path,
    arrivals: &Arrivals,
    i: usize,
) -> Cycle {
    let t0 = Instant::now();
    let start = record(http, server, "start", i);
    let (created_at, (part, _)) = poll("the .part file", || open_part(stream_dir)).await;
    let (first_byte_at, _) = poll("the first byte", || {
        std::fs::metadata(&part).ok().filter(|m| m.len() > 0)
    })
    .await;
    let (start_answered_at, _) = start.await.expect("start task");

    // The final `.mp4` appears by rename once the file is complete: that is "file close".
    let mp4 = part.with_extension("");
    let s0 = Instant::now();
    let stop = record(http, server, "stop", i);
    let (closed_at, _) = poll("the closed .mp4", || mp4.exists().then_some(())).await;
    let (stop_answered_at, stopped) = stop.await.expect("stop task");
    let [file_id] = stopped.file_ids.as_slice() else {
        panic!("one file per cycle, got {:?}", stopped.file_ids);
    };
    let (_, callback_at) = poll("the callback", || {
        arrivals
            .lock()
            .unwrap()
            .iter()
            .find(|(_, b)| b["file_id"] == file_id.as_str())
            .map(|(at, _)| *at)
    })
    .await;
    Cycle {
        start_answered: ms(start_answered_at - t0),
        file_created: ms(created_at - t0),
        first_byte: ms(first_byte_at - t0),
        stop_answered: ms(stop_answered_at - s0),
        stop_to_file_closed: ms(closed_at - s0),
        callback_after_close: ms(callback_at.saturating_duration_since(closed_at)),
    }
}

/// p50/p95/p99/max by the nearest-rank method, rounded to 0.1 ms.
fn percentiles(mut v: Vec<f64>) -> Value {
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        (v[i] * 10.0).round() / 10.0
    };
    json!({"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": rank(1.0)})
}

/// How long to wait before start `i`. Back-to-back cycles would all land at the same point of
/// the GOP; spreading the starts evenly over it (golden-ratio sequence) measures a start at an
/// arbitrary moment instead.
fn phase(i: usize, gop_ms: u32) -> Duration {
    let golden = (i as f64 * 0.618_033_988_75).fract();
    Duration::from_secs_f64(golden * f64::from(gop_ms) / 1000.0)
}

/// The longest interval between keyframes of the replayed clip: the GOP the starts spread over.
fn clip_keyframe_interval_ms() -> u32 {
    let tags = parse_header(SAMPLE_CLIP)
        .and_then(|at| parse_all_tags(&SAMPLE_CLIP[at..]))
        .expect("the bundled clip parses");
    // FLV video: frame type 1 (keyframe) in the high nibble, AVC packet type 1 (a NALU).
    let keyframes: Vec<u32> = tags
        .iter()
        .filter(|t| t.tag_type == TAG_VIDEO && t.body.len() > 1)
        .filter(|t| t.body[0] >> 4 == 1 && t.body[1] == 1)
        .map(|t| t.timestamp)
        .collect();
    keyframes.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}

fn report(cycles: &[Cycle], gop_ms: u32) -> Value {
    let of = |f: fn(&Cycle) -> f64| percentiles(cycles.iter().map(f).collect());
    let record_start = of(|c| c.first_byte);
    let callback = of(|c| c.callback_after_close);
    let met_start = record_start["p99"].as_f64().unwrap() <= RECORD_START_P99_TARGET_MS;
    let met_callback = callback["p50"].as_f64().unwrap() <= CALLBACK_P50_TARGET_MS;
    json!({
        "starts": cycles.len(),
        "clip_keyframe_interval_ms": gop_ms,
        "record_start_ms": record_start,
        "record_start_file_created_ms": of(|c| c.file_created),
        "record_start_api_answer_ms": of(|c| c.start_answered),
        "callback_first_attempt_ms": callback,
        "stop_to_file_closed_ms": of(|c| c.stop_to_file_closed),
        "stop_api_answer_ms": of(|c| c.stop_answered),
        "targets": {
            "record_start_p99_ms": RECORD_START_P99_TARGET_MS,
            "callback_first_attempt_p50_ms": CALLBACK_P50_TARGET_MS,
        },
        "met": {"record_start_p99": met_start, "callback_first_attempt_p50": met_callback},
    })
}
