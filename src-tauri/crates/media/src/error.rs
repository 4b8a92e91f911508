//! The crate's one error type. Every variant carries enough context (stream, path, byte
//! offset) to act on the message without a debugger.

use std::path::PathBuf;

/// Error codes shared with the service's error table (SPEC §5).
pub mod codes {
    /// Free disk below the reserve, or the disk filled up mid-file.
    pub const DISK: u32 = 2;
    /// Internal error while writing a file.
    pub const INTERNAL: u32 = 30_000_201;
    /// The engine is not running.
    pub const NO_RECORDER: u32 = 30_000_207;
    /// A stop sent again for a recording that already ended.
    pub const ALREADY_STOPPED: u32 = 30_000_412;
    /// The recording id is unknown.
    pub const NO_SUCH_RECORDING: u32 = 30_000_411;
    /// The stream is already being recorded manually.
    pub const ALREADY_RECORDING: u32 = 30_000_415;
    /// Tally's own: the push secret was wrong, expired or missing.
    pub const BAD_PUSH_SECRET: u32 = 30_000_503;
    /// Tally's own: the stream's codec cannot be stored in one of the requested formats.
    pub const CODEC_NOT_IN_FORMAT: u32 = 30_000_524;
}

/// Why the engine refused or failed something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file operation failed; `path` is the file it was about.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing ("create", "fsync", "rename", ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The RTMP listener could not be bound.
    #[error("bind RTMP on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A media container could not be written or read back.
    #[error("{format} {path}: {detail}")]
    Mux {
        /// "mp4", "flv" or "hls".
        format: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// What went wrong, from the container library.
        detail: String,
    },
    /// Free space is below the configured reserve.
    #[error("free space {free} bytes in {path} is below the reserve of {reserve} bytes")]
    DiskBelowReserve {
        /// The data directory.
        path: PathBuf,
        /// Bytes free now.
        free: u64,
        /// Configured reserve.
        reserve: u64,
    },
    /// The recording id is unknown to this engine.
    #[error("no recording {0}")]
    NoSuchRecording(u64),
    /// `stop_recording` was called for a recording that already stopped.
    #[error("recording {0} was already stopped")]
    AlreadyStopped(u64),
    /// The stream already has a manual recording.
    #[error("stream {0} is already being recorded")]
    AlreadyRecording(String),
    /// The engine has shut down.
    #[error("the engine has stopped")]
    Stopped,
    /// A request carried invalid values.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// As many manual recordings as the engine takes are running or waiting.
    #[error("{0} manual recordings are running or waiting already")]
    TooManyRecordings(usize),
    /// The stream's codec has no mapping in a requested format (AV1 in HLS's MPEG-TS).
    #[error("{codec} cannot be recorded to {format}; the stream's other formats are recorded")]
    CodecNotInFormat {
        /// The codec's name.
        codec: &'static str,
        /// The format's name.
        format: &'static str,
    },
    /// A leftover segment holds no complete frame: there is nothing to keep.
    #[error("{0}: nothing was recorded in it")]
    NothingRecorded(PathBuf),
}

impl EngineError {
    /// Wraps an I/O error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// True when the disk is full (ENOSPC) or below the reserve.
    pub fn is_disk_full(&self) -> bool {
        match self {
            EngineError::Io { source, .. } => source.raw_os_error() == Some(libc::ENOSPC),
            EngineError::DiskBelowReserve { .. } => true,
            _ => false,
        }
    }

    /// The service's error code for this error (SPEC §5 table).
    pub fn code(&self) -> u32 {
        match self {
            _ if self.is_disk_full() => codes::DISK,
            EngineError::NoSuchRecording(_) => codes::NO_SUCH_RECORDING,
            EngineError::AlreadyStopped(_) => codes::ALREADY_STOPPED,
            EngineError::AlreadyRecording(_) => codes::ALREADY_RECORDING,
            EngineError::CodecNotInFormat { .. } => codes::CODEC_NOT_IN_FORMAT,
            EngineError::Stopped | EngineError::Bind { .. } | EngineError::TooManyRecordings(_) => {
                codes::NO_RECORDER
            }
            _ => codes::INTERNAL,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
