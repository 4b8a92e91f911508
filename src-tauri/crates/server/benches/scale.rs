//! What recording N streams costs: `tally-server` (FLV+MP4, and FLV+MP4+HLS) against
//! nginx-rtmp `record all`, in the same run, under the same load. Prints one JSON document.
//!
//! ```sh
//! cargo bench -p tally-server --bench scale -- --ns 1,10,50,100,200 --seconds 60
//! ```
//!
//! The load is a 2.5 Mbps 720p30 H.264 + AAC clip made with ffmpeg at start (CBR, a keyframe
//! every 2 s), published N times from this one process in real time with continuous
//! timestamps (`replay_paced`, which counts its own late frames). `record_interval` is short
//! (20 s), so every window closes files. Per server and N: CPU % of a core per stream (utime +
//! stime from /proc over the window), peak RSS, bytes passed to `write()` and bytes sent to
//! storage per byte recorded (/proc/PID/io), late frames at the publishers, and for Tally the
//! p99 time from a segment's last frame to its row (the `segment_closed` live event is sent
//! once the row is committed).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tally_media::replay::{replay_paced, Pacing};

const FIXTURE_SECONDS: u32 = 10;
const WARMUP: Duration = Duration::from_secs(5);

struct Args {
    ns: Vec<usize>,
    /// Which of `nginx`, `flv-mp4`, `flv-mp4-hls` to run.
    servers: Vec<String>,
    seconds: u64,
    interval: u64,
    /// Tally's `--posters` (a JPEG of each file's first keyframe).
    posters: bool,
    nginx: PathBuf,
    module: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        ns: vec![1, 10, 50, 100, 200],
        servers: ["nginx", "flv-mp4", "flv-mp4-hls"]
            .map(String::from)
            .to_vec(),
        seconds: 60,
        interval: 20,
        posters: true,
        nginx: "/usr/sbin/nginx".into(),
        module: "/usr/lib/nginx/modules/ngx_rtmp_module.so".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match flag.as_str() {
            "--ns" => a.ns = value().split(',').map(|n| n.parse().expect("N")).collect(),
            "--seconds" => a.seconds = value().parse().expect("seconds"),
            "--servers" => a.servers = value().split(',').map(String::from).collect(),
            "--interval" => a.interval = value().parse().expect("interval"),
            "--posters" => a.posters = value().parse().expect("true or false"),
            "--nginx" => a.nginx = value().into(),
            "--module" => a.module = value().into(),
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    a
}

/// The load: 2.5 Mbps CBR 720p30 H.264 (keyframe every 2 s) + 128 kbps AAC, as FLV.
fn fixture(dir: &Path) -> Bytes {
    let path = dir.join("fixture-2500k-720p30.flv");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size=1280x720:rate=30:duration={FIXTURE_SECONDS}"
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=44100:duration={FIXTURE_SECONDS}"
        ))
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .args(["-b:v", "2500k", "-minrate", "2500k", "-maxrate", "2500k"])
        .args([
            "-bufsize",
            "2500k",
            "-x264-params",
            "nal-hrd=cbr:force-cfr=1",
        ])
        .args(["-g", "60", "-keyint_min", "60", "-sc_threshold", "0"])
        .args(["-c:a", "aac", "-b:a", "128k", "-f", "flv"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no fixture");
    Bytes::from(std::fs::read(&path).unwrap())
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// The process and its descendants (nginx's workers).
fn tree(root: u32) -> Vec<u32> {
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", all[i]))
            .unwrap_or_default();
        all.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
        i += 1;
    }
    all
}

/// What /proc says about a process tree now.
#[derive(Clone, Copy, Default)]
struct Usage {
    cpu_s: f64,
    wchar: u64,
    write_bytes: u64,
}

fn usage(pids: &[u32]) -> Usage {
    let mut u = Usage::default();
    for pid in pids {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Fields after the command name (which may hold spaces): utime and stime are 14, 15.
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 =
                f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
            u.cpu_s += ticks / clk_tck();
        }
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        for line in io.lines() {
            let value = |p: &str| {
                line.strip_prefix(p)
                    .and_then(|v| v.trim().parse::<u64>().ok())
            };
            u.wchar += value("wchar:").unwrap_or(0);
            u.write_bytes += value("write_bytes:").unwrap_or(0);
        }
    }
    u
}

fn peak_rss_mb(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .sum::<f64>()
        / 1024.0
}

/// Bytes of media under `dir` (recorded files, finished or not).
fn media_bytes(dir: &Path) -> u64 {
    tally_testkit::walk(dir)
        .iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            [".flv", ".mp4", ".ts", ".flv.part", ".mp4.part", ".ts.part"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server under test.
struct Server {
    name: &'static str,
    pid: u32,
    rtmp: String,
    /// The push URL's query (what to record).
    query: String,
    data: PathBuf,
    /// Tally's API, for the close-to-row times.
    http: Option<String>,
    _process: Box<dyn std::any::Any>,
}

fn start_tally(name: &'static str, formats: &str, args: &Args, work: &Path) -> Server {
    let data = work.join(name);
    let posters = args.posters.to_string();
    let process = common::start_server(&data, &["--reserve-mb", "64", "--posters", &posters]);
    let interval = args.interval;
    Server {
        name,
        pid: process.pid(),
        rtmp: process.rtmp.clone(),
        query: format!("?record={formats}&record_interval={interval}"),
        data,
        http: Some(process.http.clone()),
        _process: Box::new(process),
    }
}

struct Nginx(Child);
impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its workers (a killed master orphans them).
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn start_nginx(args: &Args, interval: u64, work: &Path) -> Server {
    use std::os::unix::fs::PermissionsExt;
    let prefix = work.join("nginx");
    let rec = prefix.join("rec");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    std::fs::create_dir_all(&rec).unwrap();
    // Workers run as `nobody`: without this the recording fails silently (EACCES in error.log).
    for d in [work, &prefix, &rec] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let port = free_port();
    let conf = format!(
        "load_module {module};\ndaemon off;\nmaster_process on;\nworker_processes 1;\n\
         error_log {p}/logs/error.log warn;\npid {p}/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n  application live {{ live on; \
         record all; record_path {rec}; record_unique on; record_interval {interval}s; }} }} }}\n",
        module = args.module.display(),
        p = prefix.display(),
        rec = rec.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(&args.nginx)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    Server {
        name: "nginx-rtmp",
        pid: child.id(),
        rtmp: format!("rtmp://127.0.0.1:{port}"),
        query: String::new(),
        data: rec,
        http: None,
        _process: Box::new(Nginx(child)),
    }
}

async fn wait_listening(rtmp: &str) {
    let addr = rtmp.trim_start_matches("rtmp://").to_owned();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{rtmp} never started listening");
}

/// Close-to-row times (ms) of the `segment_closed` events of `http`'s live events, gathered
/// into the returned list until the task is aborted.
fn watch_rows(http: String) -> (Arc<Mutex<Vec<f64>>>, tokio::task::JoinHandle<()>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let gathered = times.clone();
    let task = tokio::spawn(async move {
        let Ok(response) = reqwest::get(format!("{http}/v1/events")).await else {
            return;
        };
        let mut events = eventsource_stream::EventStream::new(response.bytes_stream());
        while let Some(Ok(event)) = events.next().await {
            let Ok(v) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            if v["type"] == "segment_closed" {
                let last_frame = v["start_ms"].as_f64().unwrap_or(0.0)
                    + v["duration_ms"].as_f64().unwrap_or(0.0);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as f64;
                gathered.lock().unwrap().push(now - last_frame);
            }
        }
    });
    (times, task)
}

fn p99(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1])
}

async fn measure(server: Server, n: usize, seconds: u64, clip: &Bytes) -> Value {
    // The run before must not be written back to disk during this one.
    let _ = Command::new("sync").status();
    wait_listening(&server.rtmp).await;
    let rows = server.http.clone().map(watch_rows);
    let total = WARMUP + Duration::from_secs(seconds) + Duration::from_secs(1);
    let mut publishers = Vec::new();
    for i in 0..n {
        let url = format!("{}/live/bench{i}{}", server.rtmp, server.query);
        let clip = clip.clone();
        publishers.push(tokio::spawn(async move {
            replay_paced(&url, clip, Some(total)).await
        }));
        // Connects spread over two seconds of the warm-up, not all in one instant.
        tokio::time::sleep(Duration::from_millis(2000 / n.max(1) as u64)).await;
    }
    tokio::time::sleep(WARMUP - Duration::from_secs(2)).await;
    let before = usage(&tree(server.pid));
    let bytes_before = media_bytes(&server.data);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let pids = tree(server.pid);
    let after = usage(&pids);
    let elapsed = t0.elapsed().as_secs_f64();
    let recorded = media_bytes(&server.data)
        .saturating_sub(bytes_before)
        .max(1);
    let rss = peak_rss_mb(&pids);
    let mut pacing = Pacing::default();
    let mut failed = 0;
    for p in publishers {
        match p.await {
            Ok(Ok(p)) => {
                pacing.frames += p.frames;
                pacing.late_frames += p.late_frames;
                pacing.max_late_ms = pacing.max_late_ms.max(p.max_late_ms);
            }
            _ => failed += 1,
        }
    }
    // Let the last closes land, then stop the server and the event watcher.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(server._process);
    let times = rows.map(|(times, task)| {
        task.abort();
        std::mem::take(&mut *times.lock().unwrap())
    });
    let closed = times.as_ref().map(Vec::len);
    let close_to_row = times.and_then(p99);
    let cpu = after.cpu_s - before.cpu_s;
    let _ = std::fs::remove_dir_all(&server.data);
    json!({
        "server": server.name,
        "streams": n,
        "seconds": elapsed,
        "cpu_percent_of_a_core_per_stream": 100.0 * cpu / elapsed / n as f64,
        "cpu_seconds": cpu,
        "peak_rss_mb": rss,
        "bytes_recorded": recorded,
        "write_calls_bytes_per_byte_recorded": (after.wchar - before.wchar) as f64 / recorded as f64,
        "storage_bytes_per_byte_recorded": (after.write_bytes - before.write_bytes) as f64 / recorded as f64,
        "frames_sent": pacing.frames,
        "late_frames": pacing.late_frames,
        "max_late_ms": pacing.max_late_ms,
        "failed_publishers": failed,
        "close_to_row_p99_ms": close_to_row,
        "files_closed": closed,
    })
}

#[tokio::main]
async fn main() {
    let args = args();
    let work = tempfile::Builder::new()
        .prefix("tally-scale")
        .tempdir()
        .unwrap();
    let clip = fixture(work.path());
    let clip_kbps = clip.len() as f64 * 8.0 / f64::from(FIXTURE_SECONDS) / 1000.0;
    let mut runs = Vec::new();
    for &n in &args.ns {
        let run = |name: &str| args.servers.iter().any(|s| s == name);
        let mut nginx = Value::Null;
        if run("nginx") {
            let server = start_nginx(&args, args.interval, work.path());
            nginx = measure(server, n, args.seconds, &clip).await;
        }
        let mut flv_mp4 = Value::Null;
        if run("flv-mp4") {
            let server = start_tally("tally-flv-mp4", "flv,mp4", &args, work.path());
            flv_mp4 = measure(server, n, args.seconds, &clip).await;
        }
        let mut all = Value::Null;
        if run("flv-mp4-hls") {
            let server = start_tally("tally-flv-mp4-hls", "flv,mp4,hls", &args, work.path());
            all = measure(server, n, args.seconds, &clip).await;
        }
        let per_stream = |v: &Value| {
            v["cpu_percent_of_a_core_per_stream"]
                .as_f64()
                .unwrap_or(0.0)
        };
        let ratio = per_stream(&flv_mp4) / per_stream(&nginx).max(1e-9);
        eprintln!(
            "N={n}: CPU % of a core per stream: nginx {:.3}, Tally FLV+MP4 {:.3} ({ratio:.2}x), FLV+MP4+HLS {:.3}; peak RSS {:.1} / {:.1} / {:.1} MB; late frames {} / {} / {}",
            per_stream(&nginx), per_stream(&flv_mp4), per_stream(&all),
            nginx["peak_rss_mb"].as_f64().unwrap_or(0.0), flv_mp4["peak_rss_mb"].as_f64().unwrap_or(0.0), all["peak_rss_mb"].as_f64().unwrap_or(0.0),
            nginx["late_frames"], flv_mp4["late_frames"], all["late_frames"],
        );
        runs.push(json!({
            "streams": n,
            "ratio_tally_flv_mp4_to_nginx": ratio,
            "nginx_rtmp": nginx,
            "tally_flv_mp4": flv_mp4,
            "tally_flv_mp4_hls": all,
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "load": {"clip_kbps": clip_kbps.round(), "video": "1280x720 30 fps H.264 CBR, keyframe every 2 s", "audio": "AAC 128 kbps"},
            "record_interval_s": args.interval,
            "posters": args.posters,
            "window_s": args.seconds,
            "runs": runs,
        }))
        .unwrap()
    );
}
