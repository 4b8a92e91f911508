//! `tally-server serve`: the recording service without the desktop console.

use clap::Parser;
use tally_server::cli::{Cli, Command, ServeArgs};
use tally_server::Server;
use tracing_subscriber::EnvFilter;

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
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            // PostgreSQL notices (a migration table that exists) are not news.
            EnvFilter::new("info,sqlx::postgres::notice=warn")
        }))
        .init();
    let args = match Cli::parse().command {
        Command::Serve(args) => args,
        Command::CheckConfig(args) => return check_config(&args),
    };
    let config = match args.resolve() {
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
        serde_json::json!({
            "http": server.http_addr().to_string(),
            "rtmp": server.rtmp_addr().to_string(),
            "srt": server.srt_addr().map(|a| a.to_string()),
        })
    );
    let code = tokio::select! {
        () = wait_for_stop() => std::process::ExitCode::SUCCESS,
        () = server.lost() => {
            tracing::error!("lost the index connection that holds this node's locks: another node may take up its work, so it stops (a supervisor restarts it)");
            std::process::ExitCode::FAILURE
        }
    };
    tracing::info!("stopping: finalizing open files");
    server.shutdown().await;
    code
}

/// Prints what the settings resolve to, or why they cannot be used.
fn check_config(args: &ServeArgs) -> std::process::ExitCode {
    let config = match args.resolve() {
        Ok(config) => config,
        Err(err) => return fail(&err),
    };
    let text = match toml::to_string(&config.resolved()) {
        Ok(text) => text,
        Err(err) => return fail(&err),
    };
    println!(
        "# tally-server {}: the settings resolve to",
        env!("CARGO_PKG_VERSION")
    );
    print!("{text}");
    for (name, set) in config.secrets() {
        println!("# {name}: {}", if set { "set (hidden)" } else { "not set" });
    }
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
