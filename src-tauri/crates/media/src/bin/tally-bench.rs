//! `tally-bench`: records N replayed streams with Tally and, in the same run, with nginx-rtmp
//! (`record all`), and reports CPU seconds per stream-minute and peak RSS as JSON.
//!
//! Build with `cargo build --release -p tally-media` and run `target/release/tally-bench`.
//! Each server runs as its own process, so /proc gives its CPU and memory alone; the
//! publishers (the built-in replay client) run inside this process.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use serde::Serialize;

#[derive(Parser)]
#[command(about = "Tally vs nginx-rtmp recording cost")]
struct Args {
    /// Stream counts to run.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    ns: Vec<usize>,
    /// Measured seconds per (N, server).
    #[arg(long, default_value_t = 40)]
    seconds: u64,
    /// nginx binary.
    #[arg(long, default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
    /// Network threads of the Tally server (`tally-media serve --threads`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The Tally server's merged read (`tally-media serve --merged-read-ms`).
    #[arg(long, default_value_t = tally_media::config::DEFAULT_MERGED_READ.as_millis() as u64)]
    merged_read_ms: u64,
    /// nginx-rtmp module.
    #[arg(long, default_value = "/usr/lib/nginx/modules/ngx_rtmp_module.so")]
    module: PathBuf,
}

#[derive(Serialize, Clone)]
struct Cost {
    server: &'static str,
    streams: usize,
    seconds: f64,
    cpu_seconds: f64,
    cpu_seconds_per_stream_minute: f64,
    cpu_percent_of_a_core_per_stream: f64,
    peak_rss_mb: f64,
    bytes_recorded: u64,
    failed_publishers: usize,
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// The process and its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let ppid = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(parent) && !all.contains(&pid) {
                    all.push(pid);
                }
            }
        }
        i += 1;
    }
    all
}

/// utime + stime of a process tree, seconds.
fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(11) + ticks(12)) / clk_tck()
        })
        .sum()
}

/// Sum of VmHWM (peak RSS) over a process tree, MB.
fn peak_rss_mb(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        })
        .sum()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                dir_bytes(&p)
            } else {
                p.metadata().map(|m| m.len()).unwrap_or(0)
            };
        }
    }
    total
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(19350)
}

struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    record_query: &'static str,
    data: PathBuf,
}

fn start_tally(
    name: &'static str,
    query: &'static str,
    work: &Path,
    args: &Args,
) -> anyhow::Result<Server> {
    let exe = std::env::current_exe()?.with_file_name("tally-media");
    let data = work.join(name);
    let port = free_port();
    let child = Command::new(exe)
        .args([
            "serve",
            "--threads",
            &args.threads.to_string(),
            "--merged-read-ms",
            &args.merged_read_ms.to_string(),
            "--rtmp",
            &format!("127.0.0.1:{port}"),
            "--reserve-mb",
            "64",
            "--data",
        ])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Server {
        name,
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        record_query: query,
        data,
    })
}

fn start_nginx(args: &Args, work: &Path) -> anyhow::Result<Server> {
    use std::os::unix::fs::PermissionsExt;
    let prefix = work.join("nginx");
    let rec = prefix.join("rec");
    std::fs::create_dir_all(prefix.join("logs"))?;
    std::fs::create_dir_all(&rec)?;
    // Workers run as `nobody`: without this the recording fails silently (EACCES in error.log).
    for d in [work, &prefix, &rec] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777))?;
    }
    let port = free_port();
    let conf = format!(
        "load_module {module};\ndaemon off;\nmaster_process on;\nworker_processes 1;\nerror_log {p}/logs/error.log warn;\npid {p}/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n  application live {{ live on; record all; record_path {rec}; record_unique on; }} }} }}\n",
        module = args.module.display(),
        p = prefix.display(),
        rec = rec.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(&args.nginx)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Server {
        name: "nginx-rtmp",
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        record_query: "",
        data: rec,
    })
}

async fn wait_listening(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{addr} never started listening")
}

async fn measure(mut server: Server, n: usize, seconds: u64) -> anyhow::Result<Cost> {
    wait_listening(server.addr).await?;
    let clip = Bytes::from_static(tally_media::replay::SAMPLE_CLIP);
    let warmup = Duration::from_secs(3);
    let total = warmup + Duration::from_secs(seconds) + Duration::from_secs(1);
    let mut publishers = Vec::new();
    for i in 0..n {
        let url = format!(
            "rtmp://{}/live/bench{i}{}",
            server.addr, server.record_query
        );
        let clip = clip.clone();
        publishers.push(tokio::spawn(async move {
            tally_media::replay::replay(&url, clip, Some(total)).await
        }));
        // Spread connects over the warm-up so they do not all land in one instant.
        tokio::time::sleep(Duration::from_millis(1500 / n.max(1) as u64)).await;
    }
    tokio::time::sleep(warmup.saturating_sub(Duration::from_millis(1500))).await;
    let pids = tree(server.child.id());
    let cpu0 = cpu_seconds(&pids);
    let t0 = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let pids = tree(server.child.id());
    let cpu = cpu_seconds(&pids) - cpu0;
    let elapsed = t0.elapsed().as_secs_f64();
    let rss = peak_rss_mb(&pids);
    let mut failed = 0;
    for p in publishers {
        if !matches!(p.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    // SAFETY: plain kill(2) on our own child; SIGTERM lets both servers finish their files.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let _ = tokio::task::spawn_blocking(move || server.child.wait()).await;
    let stream_minutes = n as f64 * elapsed / 60.0;
    Ok(Cost {
        server: server.name,
        streams: n,
        seconds: elapsed,
        cpu_seconds: cpu,
        cpu_seconds_per_stream_minute: cpu / stream_minutes,
        cpu_percent_of_a_core_per_stream: 100.0 * cpu / elapsed / n as f64,
        peak_rss_mb: rss,
        bytes_recorded: dir_bytes(&server.data),
        failed_publishers: failed,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = tempfile::Builder::new().prefix("tally-bench").tempdir()?;
    let mut results = Vec::new();
    for &n in &args.ns {
        let nginx = measure(start_nginx(&args, work.path())?, n, args.seconds).await?;
        let flv = measure(
            start_tally(
                "tally-flv",
                "?record=flv&record_interval=7200",
                work.path(),
                &args,
            )?,
            n,
            args.seconds,
        )
        .await?;
        let all = measure(
            start_tally(
                "tally-flv-mp4-hls",
                "?record=flv,hls,mp4&record_interval=7200",
                work.path(),
                &args,
            )?,
            n,
            args.seconds,
        )
        .await?;
        let ratio = flv.cpu_seconds_per_stream_minute / nginx.cpu_seconds_per_stream_minute;
        eprintln!(
            "N={n}: Tally FLV-only uses {ratio:.2}x nginx-rtmp's CPU per stream ({:.4} vs {:.4} CPU s per stream-minute); FLV+MP4+HLS {:.4}; peak RSS {:.1} / {:.1} / {:.1} MB",
            flv.cpu_seconds_per_stream_minute, nginx.cpu_seconds_per_stream_minute, all.cpu_seconds_per_stream_minute, flv.peak_rss_mb, nginx.peak_rss_mb, all.peak_rss_mb
        );
        results.push(serde_json::json!({ "streams": n, "ratio_tally_flv_to_nginx": ratio, "nginx_rtmp": nginx, "tally_flv": flv, "tally_flv_mp4_hls": all }));
    }
    let clip_kbps = tally_media::replay::SAMPLE_CLIP.len() as f64 * 8.0 / 6.067 / 1000.0;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({ "clip_kbps": clip_kbps.round(), "tally_merged_read_ms": args.merged_read_ms, "runs": results })
        )?
    );
    Ok(())
}
