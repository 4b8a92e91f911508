//! The `tally-server` command line. Every `serve` flag is also a `tally.toml` key (same name,
//! `-` written as `_`); `docs/reference.md` is generated from these definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{ConfigError, FileConfig, ServerConfig};

/// Tally recording service: RTMP in; FLV, HLS and MP4 files out; signed callbacks; queries.
#[derive(Parser)]
#[command(name = "tally-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service. Every flag can also be set in the config file; flags win.
    Serve(ServeArgs),
    /// Check a configuration without starting: reads the config file and flags exactly as
    /// `serve` would, prints the settings they resolve to (the token hidden) and exits 0, or
    /// names what is wrong and exits 1.
    CheckConfig(ServeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// A tally.toml with any of the settings below (same names, '-' written as '_').
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Data directory: recordings under vod/, the index in index.db [default: ./tally-data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Keep the index of recordings in PostgreSQL, e.g.
    /// postgres://tally:secret@db.example.com/tally; servers on one database are nodes of one
    /// service (docs/deployment.md) [default: SQLite, index.db in the data dir]. Prefer the
    /// environment: a command line shows in `ps`.
    #[arg(long, value_name = "URL", env = "TALLY_INDEX", hide_env_values = true)]
    pub index: Option<String>,
    /// HTTP API address; port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// RTMP ingest address; port 0 picks a free port [default: 127.0.0.1:1935].
    #[arg(long, value_name = "ADDR")]
    pub rtmp: Option<SocketAddr>,
    /// SRT ingest address (UDP), or "off"; port 0 picks a free port [default: 127.0.0.1:9000].
    #[arg(long, value_name = "ADDR")]
    pub srt: Option<String>,
    /// Bearer token required on /v1, /metrics and /vod (none: open, loopback only). Prefer
    /// --token-file or the environment: a command line shows in `ps`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TALLY_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A file whose first line is the token.
    #[arg(long, value_name = "PATH", env = "TALLY_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Base of download URLs when the service sits behind a proxy, e.g.
    /// https://rec.example.com [default: the HTTP address].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A host name the API answers to, besides IP addresses and localhost (repeatable).
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Open HTTP connections at most; more are refused at accept [default: 2048].
    #[arg(long, value_name = "N")]
    pub max_http_connections: Option<usize>,
    /// Open publisher connections (RTMP and SRT together) at most; more are refused at accept
    /// [default: 2048].
    #[arg(long, value_name = "N")]
    pub max_rtmp_connections: Option<usize>,
    /// MiB of media queued per publisher, and again per recording, before the publisher is
    /// paused (TCP pushes back) [default: 16].
    #[arg(long, value_name = "MIB")]
    pub media_buffer_mb: Option<usize>,
    /// Seconds a client has to send a request's headers, from connecting or from its previous
    /// response [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub http_header_timeout: Option<u64>,
    /// A web origin allowed to read /vod from a page (repeatable) [default: any].
    #[arg(long = "vod-cors-origin", value_name = "ORIGIN")]
    pub vod_cors_origins: Vec<String>,
    /// Push authentication key: txSecret = md5(key + stream_code + txTime) [default: none,
    /// any push is accepted].
    #[arg(long, value_name = "KEY")]
    pub push_key: Option<String>,
    /// Where callbacks are POSTed (http or https) [default: none, no callbacks].
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Callback signing key: sign = md5(key + t).
    #[arg(long, value_name = "KEY")]
    pub callback_key: Option<String>,
    /// appid reported in callbacks [default: 0].
    #[arg(long, value_name = "ID")]
    pub appid: Option<u64>,
    /// bizid: the prefix of stream codes [default: 8888].
    #[arg(long, value_name = "ID")]
    pub bizid: Option<u64>,
    /// Seconds without media before a recording closes, keeping what was recorded
    /// [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<u64>,
    /// Formats recorded when a push URL has no record= (e.g. flv,mp4) [default: none].
    #[arg(long, value_name = "FORMATS")]
    pub record: Option<String>,
    /// Free disk space (MiB) below which no recording file is opened [default: 512].
    #[arg(long, value_name = "MIB")]
    pub reserve_mb: Option<u64>,
    /// Make a poster (a JPEG of the first keyframe) for every stream-code file [default: true].
    #[arg(long, value_name = "BOOL")]
    pub posters: Option<bool>,
    /// Bucket finished files are uploaded to, verified, then removed from disk (S3-compatible)
    /// [default: none, files stay on disk].
    #[arg(long, value_name = "NAME")]
    pub s3_bucket: Option<String>,
    /// Endpoint of an S3-compatible service, e.g. http://127.0.0.1:9100 for MinIO
    /// [default: AWS].
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region [default: us-east-1].
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Access key id [default: AWS_ACCESS_KEY_ID or the instance's role].
    #[arg(long, value_name = "ID", env = "TALLY_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// Secret access key [default: AWS_SECRET_ACCESS_KEY or the instance's role]. Prefer the
    /// environment: a command line shows in `ps`.
    #[arg(
        long,
        value_name = "KEY",
        env = "TALLY_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub s3_secret_access_key: Option<String>,
    /// Base of public links to the bucket's objects (a public bucket or a CDN), e.g.
    /// https://cdn.example.com [default: none, links are presigned].
    #[arg(long, value_name = "URL")]
    pub s3_public_url: Option<String>,
    /// Delete recordings (disk, bucket) that started more than this many days ago; their rows
    /// stay as tombstones that consoles sync [default: keep them].
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<f64>,
    /// Delete the oldest recordings beyond this many GB (10^9 bytes) of recorded files
    /// [default: no cap].
    #[arg(long, value_name = "GB")]
    pub retention_max_gb: Option<f64>,
}

impl ServeArgs {
    /// The settings the flags give, as if written in a config file.
    pub fn flags(&self) -> FileConfig {
        FileConfig {
            data: self.data.clone(),
            index: self.index.clone(),
            http: self.http,
            rtmp: self.rtmp,
            srt: self.srt.clone(),
            token: self.token.clone(),
            push_key: self.push_key.clone(),
            callback_url: self.callback_url.clone(),
            callback_key: self.callback_key.clone(),
            appid: self.appid,
            bizid: self.bizid,
            idle_timeout: self.idle_timeout,
            record: self.record.clone(),
            public_url: self.public_url.clone(),
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
            s3_bucket: self.s3_bucket.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            s3_region: self.s3_region.clone(),
            s3_access_key_id: self.s3_access_key_id.clone(),
            s3_secret_access_key: self.s3_secret_access_key.clone(),
            s3_public_url: self.s3_public_url.clone(),
            retention_days: self.retention_days,
            retention_max_gb: self.retention_max_gb,
        }
    }

    /// The config file (when given) overridden by the flags, checked and with defaults filled in.
    pub fn resolve(&self) -> Result<ServerConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        ServerConfig::from_file(file.overridden_by(self.flags()))
    }
}
