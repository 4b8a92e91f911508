//! `tally-media`: the media engine alone (`serve`), and the built-in publisher (`replay`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, Subcommand};
use tally_media::{Engine, EngineConfig, Formats};

#[derive(Parser)]
#[command(
    name = "tally-media",
    about = "Tally media engine: RTMP in; FLV, HLS and MP4 files out"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the engine; prints {"rtmp":"<addr>"} once listening. SIGTERM/SIGINT finalize files.
    Serve {
        /// RTMP listen address (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:1935")]
        rtmp: SocketAddr,
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Push auth key (txSecret = md5(key + stream_code + txTime)).
        #[arg(long)]
        push_key: Option<String>,
        /// Seconds without media before recordings close.
        #[arg(long, default_value_t = 60.0)]
        idle_timeout: f64,
        /// Formats recorded when the push URL has no `record=` (e.g. "flv,mp4"; empty: none).
        #[arg(long, default_value = "")]
        default_record: String,
        /// Free-space reserve in MiB.
        #[arg(long, default_value_t = 512)]
        reserve_mb: u64,
        /// Network threads (1: a single event loop, like one nginx worker). File writing always
        /// runs on one thread per recording.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Milliseconds between a publishing connection's reads: what queued in between is read
        /// at once (0: read each message as it arrives).
        #[arg(long, default_value_t = tally_media::config::DEFAULT_MERGED_READ.as_millis() as u64)]
        merged_read_ms: u64,
    },
    /// Publish the bundled clip (or --clip) in a loop, in real time.
    Replay {
        /// rtmp://host:port/app/stream[?query]
        #[arg(long)]
        url: String,
        /// An FLV file to loop instead of the bundled clip.
        #[arg(long)]
        clip: Option<PathBuf>,
        /// Stop after this many seconds (default: forever).
        #[arg(long)]
        seconds: Option<f64>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.cmd {
        Cmd::Serve { threads, .. } => *threads,
        Cmd::Replay { .. } => 1,
    };
    let mut rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if threads > 1 {
        rt.worker_threads(threads);
    }
    rt.enable_all().build()?.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.cmd {
        Cmd::Serve {
            rtmp,
            data,
            push_key,
            idle_timeout,
            default_record,
            reserve_mb,
            merged_read_ms,
            ..
        } => {
            let mut config = EngineConfig::new(data);
            config.rtmp_addr = rtmp;
            config.push_key = push_key;
            config.idle_timeout = Duration::from_secs_f64(idle_timeout);
            config.default_formats = Formats::parse(&default_record).map_err(anyhow::Error::msg)?;
            config.free_space_reserve = reserve_mb * 1024 * 1024;
            config.merged_read = Duration::from_millis(merged_read_ms);
            let engine = Engine::start(config).await?;
            // The engine alone has nobody to act on facts: print each file as it closes.
            if let Some(mut facts) = engine.take_facts() {
                tokio::spawn(async move {
                    while let Some(fact) = facts.recv().await {
                        if let tally_media::Fact::FileClosed(seg) = fact {
                            println!("{}", serde_json::json!({ "closed": seg }));
                        }
                    }
                });
            }
            for seg in engine.recovered_segments() {
                println!("{}", serde_json::json!({ "recovered": seg }));
            }
            println!(
                "{}",
                serde_json::json!({ "rtmp": engine.rtmp_addr().to_string() })
            );
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            engine.shutdown().await;
        }
        Cmd::Replay { url, clip, seconds } => {
            let clip = match clip {
                Some(p) => Bytes::from(std::fs::read(&p)?),
                None => Bytes::from_static(tally_media::replay::SAMPLE_CLIP),
            };
            tally_media::replay::replay(&url, clip, seconds.map(Duration::from_secs_f64)).await?;
        }
    }
    Ok(())
}
