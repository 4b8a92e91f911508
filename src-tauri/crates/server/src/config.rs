//! The service's settings: `tally.toml` and command-line flags (flags win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tally_media::Formats;

/// Settings as written in `tally.toml`; every key may be omitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    /// The index in PostgreSQL (a `postgres://` URL) [default: SQLite in the data dir].
    pub index: Option<String>,
    pub http: Option<SocketAddr>,
    pub rtmp: Option<SocketAddr>,
    /// SRT ingest address (UDP), or "off" [default: 127.0.0.1:9000].
    pub srt: Option<String>,
    pub token: Option<String>,
    pub push_key: Option<String>,
    pub callback_url: Option<String>,
    pub callback_key: Option<String>,
    pub appid: Option<u64>,
    pub bizid: Option<u64>,
    /// Seconds without media before a recording closes.
    pub idle_timeout: Option<u64>,
    /// Formats recorded when a push URL has no `record=` (e.g. "flv,mp4"); empty: none.
    pub record: Option<String>,
    /// Base of download URLs when the service sits behind a proxy (default: its HTTP address).
    pub public_url: Option<String>,
    /// Free disk space (MiB) below which no recording file is opened (error 2).
    pub reserve_mb: Option<u64>,
    /// A file holding the API token (first line), so it never shows in `ps`.
    pub token_file: Option<PathBuf>,
    /// Open HTTP connections at most [default: 2048].
    pub max_http_connections: Option<usize>,
    /// Open publisher connections (RTMP and SRT) at most [default: 2048].
    pub max_rtmp_connections: Option<usize>,
    /// MiB of media queued per publisher, and per recording, at most [default: 16].
    pub media_buffer_mb: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    pub http_header_timeout: Option<u64>,
    /// Host names the API answers to besides IP literals, `localhost` and `public_url`'s host.
    pub allowed_hosts: Option<Vec<String>>,
    /// Web origins allowed to read `/vod` from a page (default `*`: access is by token or
    /// signed link anyway).
    pub vod_cors_origins: Option<Vec<String>>,
    /// Make a poster (JPEG of the first keyframe) for every stream-code file [default: true].
    pub posters: Option<bool>,
    /// Bucket finished files are uploaded to (S3-compatible) [default: none, they stay on disk].
    pub s3_bucket: Option<String>,
    /// Endpoint of an S3-compatible service (MinIO, Ceph RGW) [default: AWS].
    pub s3_endpoint: Option<String>,
    /// The bucket's region [default: us-east-1].
    pub s3_region: Option<String>,
    /// Access key id [default: the AWS environment].
    pub s3_access_key_id: Option<String>,
    /// Secret access key [default: the AWS environment].
    pub s3_secret_access_key: Option<String>,
    /// Base of public links to the bucket's objects (a public bucket or a CDN) [default: none,
    /// links are presigned].
    pub s3_public_url: Option<String>,
    /// Delete recordings that started more than this many days ago [default: keep them].
    pub retention_days: Option<f64>,
    /// Delete the oldest recordings beyond this many GB of recorded files [default: no cap].
    pub retention_max_gb: Option<f64>,
}

impl FileConfig {
    /// Reads a `tally.toml`.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e.to_string()))
    }

    /// `self` with every key that `over` sets replaced by `over`'s value.
    pub fn overridden_by(self, over: FileConfig) -> FileConfig {
        FileConfig {
            data: over.data.or(self.data),
            index: over.index.or(self.index),
            http: over.http.or(self.http),
            rtmp: over.rtmp.or(self.rtmp),
            srt: over.srt.or(self.srt),
            token: over.token.or(self.token),
            push_key: over.push_key.or(self.push_key),
            callback_url: over.callback_url.or(self.callback_url),
            callback_key: over.callback_key.or(self.callback_key),
            appid: over.appid.or(self.appid),
            bizid: over.bizid.or(self.bizid),
            idle_timeout: over.idle_timeout.or(self.idle_timeout),
            record: over.record.or(self.record),
            public_url: over.public_url.or(self.public_url),
            reserve_mb: over.reserve_mb.or(self.reserve_mb),
            token_file: over.token_file.or(self.token_file),
            max_http_connections: over.max_http_connections.or(self.max_http_connections),
            max_rtmp_connections: over.max_rtmp_connections.or(self.max_rtmp_connections),
            media_buffer_mb: over.media_buffer_mb.or(self.media_buffer_mb),
            http_header_timeout: over.http_header_timeout.or(self.http_header_timeout),
            allowed_hosts: over.allowed_hosts.or(self.allowed_hosts),
            vod_cors_origins: over.vod_cors_origins.or(self.vod_cors_origins),
            posters: over.posters.or(self.posters),
            s3_bucket: over.s3_bucket.or(self.s3_bucket),
            s3_endpoint: over.s3_endpoint.or(self.s3_endpoint),
            s3_region: over.s3_region.or(self.s3_region),
            s3_access_key_id: over.s3_access_key_id.or(self.s3_access_key_id),
            s3_secret_access_key: over.s3_secret_access_key.or(self.s3_secret_access_key),
            s3_public_url: over.s3_public_url.or(self.s3_public_url),
            retention_days: over.retention_days.or(self.retention_days),
            retention_max_gb: over.retention_max_gb.or(self.retention_max_gb),
        }
    }
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, #[source] std::io::Error),
    #[error("{0} is not valid: {1}")]
    Parse(PathBuf, String),
    #[error("bad setting: {0}")]
    Invalid(String),
}

/// The settings the service runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// A PostgreSQL index (`postgres://…`); `None`: SQLite in the data dir.
    pub index_url: Option<String>,
    pub http_addr: SocketAddr,
    pub rtmp_addr: SocketAddr,
    /// SRT ingest (UDP); `None`: off.
    pub srt_addr: Option<SocketAddr>,
    /// Bearer token for `/v1` and `/vod`; `None` leaves the API open (loopback only: a
    /// non-loopback address without a token is refused).
    pub token: Option<String>,
    /// Host names the API answers to (see `access.rs`).
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to read `/vod` from a web page.
    pub vod_cors_origins: Vec<String>,
    /// HTTP connection cap and header timeout.
    pub http_limits: crate::http_serve::HttpLimits,
    /// RTMP connection cap.
    pub max_rtmp_connections: usize,
    /// Bytes of media queued per publisher, and per recording, at most.
    pub media_buffer_bytes: usize,
    pub push_key: Option<String>,
    pub callback_url: Option<String>,
    pub callback_key: String,
    pub appid: u64,
    pub bizid: u64,
    pub idle_timeout: Duration,
    pub default_formats: Formats,
    pub public_url: Option<String>,
    /// Free disk space, in bytes, below which no recording file is opened.
    pub free_space_reserve: u64,
    /// Posters for stream-code files (channel mode asks per recording: `screen_shot`).
    pub posters: bool,
    /// The bucket finished files move to; `None`: they stay on disk.
    pub bucket: Option<crate::bucket::BucketConfig>,
    /// Which recordings are kept.
    pub retention: crate::retention::Policy,
    /// Wall-clock time for the engine, ids and the callback outbox.
    pub clock: tally_media::SharedClock,
}

impl ServerConfig {
    /// Fills in the defaults: data in `./tally-data`, HTTP on 127.0.0.1:8080, RTMP on
    /// 127.0.0.1:1935, idle timeout 60 s, no automatic recording, a 512 MiB disk reserve.
    pub fn from_file(file: FileConfig) -> Result<ServerConfig, ConfigError> {
        let bucket = bucket_of(&file)?;
        let index_url = file.index.filter(|u| !u.trim().is_empty());
        if let Some(url) = index_url
            .as_deref()
            .filter(|u| !crate::index::is_postgres_url(u))
        {
            return Err(ConfigError::Invalid(format!(
                "index = {} is not a postgres:// URL (leave it out for SQLite in the data dir)",
                crate::index::redacted(url)
            )));
        }
        let retention = crate::retention::Policy {
            max_age_ms: positive("retention_days", file.retention_days, 86_400_000.0)?,
            max_bytes: positive("retention_max_gb", file.retention_max_gb, 1e9)?,
        };
        let default_formats = match &file.record {
            Some(list) => Formats::parse(list).map_err(ConfigError::Invalid)?,
            None => Formats::NONE,
        };
        let token = match (&file.token_file, file.token.filter(|t| !t.is_empty())) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "give the token or a token file, not both".into(),
                ))
            }
            (Some(path), None) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                let token = text.lines().next().unwrap_or_default().trim().to_owned();
                if token.is_empty() {
                    return Err(ConfigError::Invalid(format!(
                        "the token file {} is empty",
                        path.display()
                    )));
                }
                Some(token)
            }
            (None, token) => token,
        };
        // An empty URL is an unset one.
        let callback_url = file.callback_url.filter(|u| !u.is_empty());
        let public_url = file.public_url.filter(|u| !u.is_empty());
        for (key, value) in [("callback_url", &callback_url), ("public_url", &public_url)] {
            if let Some(url) = value {
                check_http_url(key, url)?;
            }
        }
        if let Some(data) = file.data.as_deref().filter(|d| d.exists() && !d.is_dir()) {
            return Err(ConfigError::Invalid(format!(
                "data = {} is a file, not a directory",
                data.display()
            )));
        }
        let http_addr = file.http.unwrap_or(([127, 0, 0, 1], 8080).into());
        if token.is_none() && !http_addr.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "the API on {http_addr} is reachable from other machines: set a token (token_file, or TALLY_TOKEN) or listen on a loopback address"
            )));
        }
        let mut allowed_hosts = file.allowed_hosts.unwrap_or_default();
        if let Some(host) = public_url
            .as_deref()
            .and_then(|u| u.split("://").nth(1))
            .and_then(|rest| rest.split('/').next())
        {
            allowed_hosts.push(host.to_owned());
        }
        Ok(ServerConfig {
            data_dir: file.data.unwrap_or_else(|| PathBuf::from("tally-data")),
            index_url,
            http_addr,
            rtmp_addr: file.rtmp.unwrap_or(([127, 0, 0, 1], 1935).into()),
            srt_addr: match file.srt.as_deref().map(str::trim) {
                None => Some(([127, 0, 0, 1], 9000).into()),
                Some("off") => None,
                Some(addr) => Some(addr.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "srt = {addr:?} is not an address (ip:port) or \"off\""
                    ))
                })?),
            },
            token,
            allowed_hosts,
            vod_cors_origins: file.vod_cors_origins.unwrap_or_else(|| vec!["*".into()]),
            http_limits: crate::http_serve::HttpLimits {
                max_connections: file.max_http_connections.unwrap_or(2048).max(1),
                header_timeout: Duration::from_secs(file.http_header_timeout.unwrap_or(10).max(1)),
            },
            max_rtmp_connections: file.max_rtmp_connections.unwrap_or(2048).max(1),
            media_buffer_bytes: file.media_buffer_mb.unwrap_or(16).clamp(1, 4095) << 20,
            push_key: file.push_key.filter(|k| !k.is_empty()),
            callback_url,
            callback_key: file.callback_key.unwrap_or_default(),
            appid: file.appid.unwrap_or(0),
            bizid: file.bizid.unwrap_or(8888),
            idle_timeout: Duration::from_secs(file.idle_timeout.unwrap_or(60)),
            default_formats,
            public_url,
            free_space_reserve: file.reserve_mb.unwrap_or(512).saturating_mul(1024 * 1024),
            posters: file.posters.unwrap_or(true),
            bucket,
            retention,
            clock: tally_media::clock::system(),
        })
    }

    /// Every setting as it resolved, defaults filled in, as a `tally.toml` would write it. The
    /// secrets (token, push and callback keys) are left out: `secrets` says which are set.
    pub fn resolved(&self) -> FileConfig {
        FileConfig {
            data: Some(self.data_dir.clone()),
            // Its password is hidden, like the other secrets.
            index: Some(
                self.index_url
                    .as_deref()
                    .map(crate::index::redacted)
                    .unwrap_or_default(),
            ),
            http: Some(self.http_addr),
            rtmp: Some(self.rtmp_addr),
            srt: Some(self.srt_addr.map_or("off".to_owned(), |a| a.to_string())),
            token: None,
            token_file: None,
            push_key: None,
            callback_key: None,
            callback_url: Some(self.callback_url.clone().unwrap_or_default()),
            appid: Some(self.appid),
            bizid: Some(self.bizid),
            idle_timeout: Some(self.idle_timeout.as_secs()),
            record: Some(self.default_formats.names()),
            public_url: Some(self.public_url.clone().unwrap_or_default()),
            reserve_mb: Some(self.free_space_reserve / (1024 * 1024)),
            max_http_connections: Some(self.http_limits.max_connections),
            max_rtmp_connections: Some(self.max_rtmp_connections),
            media_buffer_mb: Some(self.media_buffer_bytes >> 20),
            http_header_timeout: Some(self.http_limits.header_timeout.as_secs()),
            allowed_hosts: Some(self.allowed_hosts.clone()),
            vod_cors_origins: Some(self.vod_cors_origins.clone()),
            posters: Some(self.posters),
            s3_bucket: self.bucket.as_ref().map(|b| b.bucket.clone()),
            s3_endpoint: self.bucket.as_ref().and_then(|b| b.endpoint.clone()),
            s3_region: self.bucket.as_ref().map(|b| b.region.clone()),
            s3_access_key_id: self.bucket.as_ref().and_then(|b| b.access_key_id.clone()),
            s3_secret_access_key: None,
            s3_public_url: self.bucket.as_ref().and_then(|b| b.public_url.clone()),
            retention_days: self.retention.max_age_ms.map(|ms| ms as f64 / 86_400_000.0),
            retention_max_gb: self.retention.max_bytes.map(|b| b as f64 / 1e9),
        }
    }

    /// Which secrets are set: `(name, set)` for the token, the push and callback keys and the
    /// bucket's secret key.
    pub fn secrets(&self) -> [(&'static str, bool); 4] {
        [
            ("token", self.token.is_some()),
            ("push_key", self.push_key.is_some()),
            ("callback_key", !self.callback_key.is_empty()),
            (
                "s3_secret_access_key",
                self.bucket
                    .as_ref()
                    .is_some_and(|b| b.secret_access_key.is_some()),
            ),
        ]
    }
}

/// `value` × `unit` as a whole number, when set; it must be a positive number.
fn positive(key: &str, value: Option<f64>, unit: f64) -> Result<Option<i64>, ConfigError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v > 0.0 => Ok(Some((v * unit).round().max(1.0) as i64)),
        Some(v) => Err(ConfigError::Invalid(format!(
            "{key} = {v} must be a positive number"
        ))),
    }
}

/// The bucket the `s3_*` keys describe: none without `s3_bucket` (and then no other `s3_*`
/// key may be set).
fn bucket_of(file: &FileConfig) -> Result<Option<crate::bucket::BucketConfig>, ConfigError> {
    let set = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let endpoint = set(&file.s3_endpoint);
    let public_url = set(&file.s3_public_url);
    for (key, value) in [("s3_endpoint", &endpoint), ("s3_public_url", &public_url)] {
        if let Some(url) = value {
            check_http_url(key, url)?;
        }
    }
    let Some(bucket) = set(&file.s3_bucket) else {
        let others = [
            ("s3_endpoint", &endpoint),
            ("s3_region", &set(&file.s3_region)),
            ("s3_access_key_id", &set(&file.s3_access_key_id)),
            ("s3_secret_access_key", &set(&file.s3_secret_access_key)),
            ("s3_public_url", &public_url),
        ];
        if let Some((key, _)) = others.iter().find(|(_, v)| v.is_some()) {
            return Err(ConfigError::Invalid(format!(
                "{key} is set but s3_bucket is not: name the bucket too"
            )));
        }
        return Ok(None);
    };
    Ok(Some(crate::bucket::BucketConfig {
        bucket,
        endpoint,
        region: set(&file.s3_region).unwrap_or_else(|| "us-east-1".into()),
        access_key_id: set(&file.s3_access_key_id),
        secret_access_key: set(&file.s3_secret_access_key),
        public_url,
    }))
}

/// `url` must be an absolute http or https URL with a host.
fn check_http_url(key: &str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(ConfigError::Invalid(format!(
            "{key} = {url:?} must be an http:// or https:// URL with a host (not {}:)",
            u.scheme()
        ))),
        Err(e) => Err(ConfigError::Invalid(format!(
            "{key} = {url:?} is not a URL: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let file: FileConfig = toml::from_str(
            "data = \"/srv/tally\"\nbizid = 1400\nidle_timeout = 30\nrecord = \"flv,mp4\"",
        )
        .unwrap();
        let flags = FileConfig {
            bizid: Some(8888),
            ..FileConfig::default()
        };
        let config = ServerConfig::from_file(file.overridden_by(flags)).unwrap();
        assert_eq!(config.bizid, 8888);
        assert_eq!(config.data_dir, PathBuf::from("/srv/tally"));
        assert_eq!(config.idle_timeout, Duration::from_secs(30));
        assert_eq!(config.default_formats, Formats::parse("flv,mp4").unwrap());
        assert_eq!(
            config.free_space_reserve,
            512 * 1024 * 1024,
            "default reserve"
        );
    }

    #[test]
    fn an_open_api_off_loopback_is_refused() {
        let open = |http: &str, token: Option<&str>| {
            ServerConfig::from_file(FileConfig {
                http: Some(http.parse().unwrap()),
                token: token.map(str::to_owned),
                ..FileConfig::default()
            })
        };
        assert!(matches!(
            open("0.0.0.0:8080", None),
            Err(ConfigError::Invalid(_))
        ));
        assert!(
            matches!(open("0.0.0.0:8080", Some("")), Err(ConfigError::Invalid(_))),
            "an empty token is no token"
        );
        assert!(open("0.0.0.0:8080", Some("t")).is_ok());
        assert!(open("127.0.0.1:8080", None).is_ok());
    }

    #[test]
    fn the_token_can_come_from_a_file_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let from_file = |token: Option<&str>| {
            ServerConfig::from_file(FileConfig {
                token_file: Some(path.clone()),
                token: token.map(str::to_owned),
                ..FileConfig::default()
            })
        };
        assert_eq!(from_file(None).unwrap().token.as_deref(), Some("s3cret"));
        assert!(matches!(from_file(Some("x")), Err(ConfigError::Invalid(_))));
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(from_file(None), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn unknown_keys_and_bad_formats_are_errors() {
        assert!(toml::from_str::<FileConfig>("colour = \"red\"").is_err());
        let bad = FileConfig {
            record: Some("avi".into()),
            ..FileConfig::default()
        };
        assert!(matches!(
            ServerConfig::from_file(bad),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn a_bucket_needs_its_name_and_http_urls() {
        let with = |toml_text: &str| ServerConfig::from_file(toml::from_str(toml_text).unwrap());
        let none = with("").unwrap();
        assert_eq!(none.bucket, None);
        let bucket = with("s3_bucket = \"rec\"\ns3_endpoint = \"http://127.0.0.1:9100\"")
            .unwrap()
            .bucket
            .unwrap();
        assert_eq!(bucket.bucket, "rec");
        assert_eq!(bucket.region, "us-east-1", "default region");
        assert_eq!(bucket.public_url, None, "presigned links by default");
        assert!(matches!(
            with("s3_endpoint = \"http://127.0.0.1:9100\""),
            Err(ConfigError::Invalid(m)) if m.contains("s3_bucket")
        ));
        assert!(matches!(
            with("s3_bucket = \"rec\"\ns3_public_url = \"ftp://cdn\""),
            Err(ConfigError::Invalid(m)) if m.contains("s3_public_url")
        ));
        let resolved = with("s3_bucket = \"rec\"\ns3_secret_access_key = \"x\"").unwrap();
        assert_eq!(
            resolved.resolved().s3_secret_access_key,
            None,
            "secrets never print"
        );
        assert!(resolved.secrets().contains(&("s3_secret_access_key", true)));
    }
}
