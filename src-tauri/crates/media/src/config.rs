//! Engine configuration and the output formats a recording can ask for.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One output container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// FLV: the RTMP tags copied as they came.
    Flv,
    /// HLS: MPEG-TS chunks plus one m3u8 per segment file.
    Hls,
    /// MP4: fragmented while recording, remuxed to faststart at close.
    Mp4,
}

impl Format {
    /// Lower-case name as used on the push URL and in callbacks.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Flv => "flv",
            Format::Hls => "hls",
            Format::Mp4 => "mp4",
        }
    }

    /// File extension of the file that represents a segment (the m3u8 for HLS).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Flv => "flv",
            Format::Hls => "m3u8",
            Format::Mp4 => "mp4",
        }
    }
}

/// A set of formats (a tiny bit set: order of writing is always FLV, HLS, MP4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Formats {
    /// Record FLV.
    pub flv: bool,
    /// Record HLS.
    pub hls: bool,
    /// Record MP4.
    pub mp4: bool,
}

impl Formats {
    /// No format: nothing is recorded.
    pub const NONE: Formats = Formats {
        flv: false,
        hls: false,
        mp4: false,
    };
    /// MP4 only (channel mode).
    pub const MP4: Formats = Formats {
        flv: false,
        hls: false,
        mp4: true,
    };
    /// FLV only.
    pub const FLV: Formats = Formats {
        flv: true,
        hls: false,
        mp4: false,
    };
    /// Every format.
    pub const ALL: Formats = Formats {
        flv: true,
        hls: true,
        mp4: true,
    };

    /// `flv,hls,mp4`, the names of the formats set (empty for none), as `parse` reads them.
    pub fn names(&self) -> String {
        [(self.flv, "flv"), (self.hls, "hls"), (self.mp4, "mp4")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses `flv,hls,mp4` (any subset, any order, case-insensitive). Unknown names are an error.
    pub fn parse(list: &str) -> Result<Formats, String> {
        let mut f = Formats::NONE;
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "flv" => f.flv = true,
                "hls" => f.hls = true,
                "mp4" => f.mp4 = true,
                other => return Err(format!("unknown record format {other:?}")),
            }
        }
        Ok(f)
    }

    /// True when no format is selected.
    pub fn is_empty(self) -> bool {
        !(self.flv || self.hls || self.mp4)
    }

    /// The selected formats in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Format> {
        [
            (self.flv, Format::Flv),
            (self.hls, Format::Hls),
            (self.mp4, Format::Mp4),
        ]
        .into_iter()
        .filter_map(|(on, f)| on.then_some(f))
    }
}

/// Limits of `record_interval` (SPEC §4).
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Upper limit of `record_interval`.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7200);
/// Default segment length: 90 minutes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5400);
/// Merged read period (`rtmp::merged_read`): publishing connections read what has queued at
/// shared ticks this far apart instead of waking for every message. Media is delayed by at
/// most this much, far below the 1 s that recordings may lose on a crash.
pub const DEFAULT_MERGED_READ: Duration = Duration::from_millis(100);

/// Everything the engine needs to run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Root of all files: `<data>/vod/<app>/<stream_code>/<YYYYMMDD>/<name>`.
    pub data_dir: PathBuf,
    /// RTMP listen address; port 0 picks a free port.
    pub rtmp_addr: SocketAddr,
    /// SRT listen address (UDP; port 0 picks a free port); `None`: no SRT ingest.
    pub srt_addr: Option<SocketAddr>,
    /// When set, publishers must carry `txSecret = md5(key + stream_code + txTime)`.
    pub push_key: Option<String>,
    /// Used when the push URL has no `record=`; empty means no automatic recording.
    pub default_formats: Formats,
    /// Segment length when the push URL has no `record_interval`.
    pub default_interval: Duration,
    /// A stream without media for this long ends its recordings.
    pub idle_timeout: Duration,
    /// Below this many free bytes no recording starts (error 2).
    pub free_space_reserve: u64,
    /// A second publisher replaces the first instead of being refused.
    pub replace_duplicate_publisher: bool,
    /// While a publisher's media flows, its connection reads at shared ticks this far apart
    /// (zero: read every message as it arrives).
    pub merged_read: Duration,
    /// Wall-clock time (file names, start times, ids).
    pub clock: crate::clock::SharedClock,
    /// Open publisher connections (RTMP and SRT together) at most; more are refused at accept
    /// (logged).
    pub max_connections: usize,
    /// Manual recordings running or waiting for their stream at most.
    pub max_manual_recordings: usize,
    /// Media bytes queued from a publisher's connection to its stream at most; the
    /// connection stops reading (TCP pushes back) while they are in flight.
    pub publisher_buffer_bytes: usize,
    /// Media bytes queued for one recording at most; the stream waits for a slow disk.
    pub recorder_buffer_bytes: usize,
    /// Streams that keep their last GOP in memory so a manual start begins at once.
    pub instant_start: InstantStart,
    /// Who may take a stream code live: with several servers, one at a time.
    pub stream_leases: StreamLeases,
    /// Stream-code recordings make a poster (thumbnail JPEG) for every segment.
    pub posters: bool,
}

/// Which streams keep a GOP cache (`gop.rs`): a manual start on one of them begins from the
/// last keyframe instead of waiting for the next. It costs about a GOP of media per stream,
/// so a service keeps it only for streams a manual start can target (room members'), not for
/// the many that record automatically from their first frame.
#[derive(Clone, Default)]
pub struct InstantStart(Option<StreamFilter>);

/// A test on a stream code.
type StreamFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl InstantStart {
    /// Every stream keeps a GOP cache (the default).
    pub fn all() -> Self {
        InstantStart(None)
    }

    /// Only streams whose code `wanted` accepts; asked again at every keyframe, so a stream
    /// that becomes startable while it is live gets its cache from the next GOP on.
    pub fn only(wanted: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        InstantStart(Some(Arc::new(wanted)))
    }

    /// Whether `stream_code` keeps a GOP cache.
    pub fn wants(&self, stream_code: &str) -> bool {
        self.0.as_ref().is_none_or(|wanted| wanted(stream_code))
    }
}

impl std::fmt::Debug for InstantStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "InstantStart(some streams)"
        } else {
            "InstantStart(all streams)"
        })
    }
}

/// Leases on stream codes: servers that share one index each record a stream code only while
/// they hold its lease, so the same code is never live on two of them. The service provides
/// them (a PostgreSQL advisory lock per code); without, every code is free (the default).
#[derive(Clone, Default)]
pub struct StreamLeases(Option<Arc<dyn LeaseStreams>>);

/// A held lease: the stream code is this server's until it drops.
pub type StreamLease = Box<dyn std::any::Any + Send + Sync>;

/// The future of [`LeaseStreams::take`].
pub type LeaseTaken<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<StreamLease, String>> + Send + 'a>>;

/// What provides stream leases.
pub trait LeaseStreams: Send + Sync {
    /// The lease on `stream_code`, or why not (it is live on another server).
    fn take<'a>(&'a self, stream_code: &'a str) -> LeaseTaken<'a>;
}

impl StreamLeases {
    /// Leases from `provider`.
    pub fn from(provider: Arc<dyn LeaseStreams>) -> Self {
        StreamLeases(Some(provider))
    }

    /// The lease on `stream_code` for one publish, or why not.
    pub async fn take(&self, stream_code: &str) -> Result<Option<StreamLease>, String> {
        match &self.0 {
            Some(provider) => provider.take(stream_code).await.map(Some),
            None => Ok(None),
        }
    }
}

impl std::fmt::Debug for StreamLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StreamLeases(leased)"
        } else {
            "StreamLeases(every code free)"
        })
    }
}

impl EngineConfig {
    /// A configuration with the SPEC's defaults, recording nothing unless asked.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            rtmp_addr: SocketAddr::from(([127, 0, 0, 1], 1935)),
            srt_addr: None,
            push_key: None,
            default_formats: Formats::NONE,
            default_interval: DEFAULT_INTERVAL,
            idle_timeout: Duration::from_secs(60),
            free_space_reserve: 512 * 1024 * 1024,
            replace_duplicate_publisher: false,
            merged_read: DEFAULT_MERGED_READ,
            clock: crate::clock::system(),
            max_connections: 2048,
            max_manual_recordings: 512,
            publisher_buffer_bytes: 16 << 20,
            recorder_buffer_bytes: 16 << 20,
            instant_start: InstantStart::all(),
            stream_leases: StreamLeases::default(),
            posters: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_any_subset_in_any_order() {
        assert_eq!(
            Formats::parse("mp4,flv").unwrap(),
            Formats {
                flv: true,
                hls: false,
                mp4: true
            }
        );
        assert_eq!(
            Formats::parse("HLS").unwrap(),
            Formats {
                flv: false,
                hls: true,
                mp4: false
            }
        );
        assert!(Formats::parse("").unwrap().is_empty());
    }

    #[test]
    fn formats_parse_rejects_unknown_names() {
        assert!(Formats::parse("flv,avi").is_err());
    }
}
