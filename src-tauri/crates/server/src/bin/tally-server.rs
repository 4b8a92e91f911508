//! `tally-server serve`: the recording service without the desktop console.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tally_server::{FileConfig, Server, ServerConfig};
use tracing_subscriber::EnvFilter;

/// Tally recording service: RTMP in; FLV, HLS and MP4 files out; signed callbacks; queries.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service. Every flag can also be set in the config file; flags win.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// A tally.toml with any of the settings below (same names, '-' written as '_').
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory: recordings under vod/, the index in index.db.
    #[arg(long)]
    data: Option<PathBuf>,
    /// HTTP API address; port 0 picks a free port.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// RTMP ingest address; port 0 picks a free port.
    #[arg(long)]
    rtmp: Option<SocketAddr>,
    /// Bearer token required on /v1 and /vod (none: open, loopback only). Prefer
    /// --token-file or the environment: a command line shows in `ps`.
    #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file whose first line is the token.
    #[arg(long, env = "TALLY_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// A host name the API answers to, besides IP addresses and localhost (repeatable).
    #[arg(long = "allowed-host")]
    allowed_hosts: Vec<String>,
    /// Open HTTP connections at most; more are refused at accept [default: 2048].
    #[arg(long)]
    max_http_connections: Option<usize>,
    /// Open RTMP connections at most; more are refused at accept [default: 2048].
    #[arg(long)]
    max_rtmp_connections: Option<usize>,
    /// MiB of media queued per publisher, and again per recording, before the publisher is
    /// paused (TCP pushes back) [default: 16].
    #[arg(long)]
    media_buffer_mb: Option<usize>,
    /// Seconds a client has to send a request's headers, from connecting or from its previous
    /// response [default: 10].
    #[arg(long)]
    http_header_timeout: Option<u64>,
    /// A web origin allowed to read /vod from a page (repeatable) [default: any].
    #[arg(long = "vod-cors-origin")]
    vod_cors_origins: Vec<String>,
    /// Push authentication key: txSecret = md5(key + stream_code + txTime).
    #[arg(long)]
    push_key: Option<String>,
    /// Where callbacks are POSTed.
    #[arg(long)]
    callback_url: Option<String>,
    /// Callback signing key: sign = md5(key + t).
    #[arg(long)]
    callback_key: Option<String>,
    /// appid reported in callbacks.
    #[arg(long)]
    appid: Option<u64>,
    /// bizid: the prefix of stream codes.
    #[arg(long)]
    bizid: Option<u64>,
    /// Seconds without media before a recording closes (keeping what was recorded).
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// Formats recorded when a push URL has no record= (e.g. flv,mp4).
    #[arg(long)]
    record: Option<String>,
    /// Free disk space (MiB) below which no recording file is opened [default: 512].
    #[arg(long)]
    reserve_mb: Option<u64>,
    /// Make a poster (a JPEG of the first keyframe) for every stream-code file [default: true].
    #[arg(long)]
    posters: Option<bool>,
}

impl ServeArgs {
    fn flags(&self) -> FileConfig {
        FileConfig {
            data: self.data.clone(),
            http: self.http,
            rtmp: self.rtmp,
            token: self.token.clone(),
            push_key: self.push_key.clone(),
            callback_url: self.callback_url.clone(),
            callback_key: self.callback_key.clone(),
            appid: self.appid,
            bizid: self.bizid,
            idle_timeout: self.idle_timeout,
            record: self.record.clone(),
            public_url: None,
            reserve_mb: self.reserve_mb,
            token_file: self.token_file.clone(),
            max_http_connections: self.max_http_connections,
            max_rtmp_connections: self.max_rtmp_connections,
            media_buffer_mb: self.media_buffer_mb,
            http_header_timeout: self.http_header_timeout,
            allowed_hosts: (!self.allowed_hosts.is_empty()).then(|| self.allowed_hosts.clone()),
            vod_cors_origins: (!self.vod_cors_origins.is_empty())
                .then(|| self.vod_cors_origins.clone()),
            posters: self.posters,
        }
    }
}

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("tally-server: cannot start the async runtime: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc gives each new thread its own malloc arena (up to 8 per core), and frames allocated
/// on a socket thread are freed on a recorder thread: with hundreds of streams the arenas'
/// free-but-kept pages were a quarter of the server's memory (91 MB instead of 122 MB at 200
/// streams with two arenas per core). Set before any thread starts; `MALLOC_ARENA_MAX` in the
/// environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: mallopt only sets an allocator parameter; no thread but this one exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, (2 * cores) as libc::c_int);
        }
    }
}

async fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let file = match &args.config {
        Some(path) => match FileConfig::load(path) {
            Ok(file) => file,
            Err(err) => return fail(&err),
        },
        None => FileConfig::default(),
    };
    let config = match ServerConfig::from_file(file.overridden_by(args.flags())) {
        Ok(config) => config,
        Err(err) => return fail(&err),
    };
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(err) => return fail(&err),
    };
    // The one stdout line scripts and tests read to learn the chosen ports.
    println!(
        "{}",
        serde_json::json!({ "http": server.http_addr().to_string(), "rtmp": server.rtmp_addr().to_string() })
    );
    wait_for_stop().await;
    tracing::info!("stopping: finalizing open files");
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

fn fail(err: &dyn std::error::Error) -> std::process::ExitCode {
    eprintln!("tally-server: {err}");
    std::process::ExitCode::FAILURE
}

async fn wait_for_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
