//! What the engine tells the world: [`Fact`]s on a reliable, ordered channel that one consumer
//! (the service) must take, and [`EngineEvent`] telemetry on a lossy broadcast.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Format;

/// Identifies one recording (a session from start to stop). Unique for the life of the data
/// directory: derived from the wall clock in microseconds, strictly increasing per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordingId(pub u64);

impl fmt::Display for RecordingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl RecordingId {
    /// A fresh id for wall-clock time `now_ms`.
    pub fn next(now_ms: i64) -> RecordingId {
        RecordingId(crate::ids::next_id(now_ms))
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    /// `stop_recording` was called.
    Stopped,
    /// No media for the idle timeout.
    IdleTimeout,
    /// The disk filled up or went below the reserve.
    DiskFull,
    /// The engine shut down.
    Shutdown,
}

/// A finished file (for HLS: a finished playlist and its chunks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentClosed {
    /// The file's id, given when it opened, so the index, the callback and a rebuilt index all
    /// name it the same (0 in sidecars written before ids were given at open).
    #[serde(default)]
    pub file_id: u64,
    /// The recording it belongs to.
    pub recording: RecordingId,
    /// Started through `start_recording` (channel mode).
    pub manual: bool,
    /// Opaque label from the [`crate::RecordRequest`] (the service puts `file_name` here).
    pub label: String,
    /// RTMP app.
    pub app: String,
    /// Stream code.
    pub stream_code: String,
    /// Raw query of the push URL.
    pub stream_param: String,
    /// `recordId` from the push URL.
    pub record_id: Option<String>,
    /// Container.
    pub format: Format,
    /// Absolute path (HLS: the m3u8).
    pub path: PathBuf,
    /// Path relative to the data dir, '/'-separated.
    pub rel_path: String,
    /// Bytes (HLS: sum of the TS chunks).
    pub size: u64,
    /// Wall-clock time of the first frame, unix ms.
    pub start_ms: i64,
    /// Wall-clock time the segment ends, unix ms (`start_ms + duration_ms`).
    pub end_ms: i64,
    /// Exact media duration, ms.
    pub duration_ms: u64,
    /// "h264" when there is video.
    pub video_codec: Option<String>,
    /// "aac" when there is audio.
    pub audio_codec: Option<String>,
    /// Video width.
    pub width: Option<u32>,
    /// Video height.
    pub height: Option<u32>,
    /// Finalized by startup recovery after a crash.
    pub recovered: bool,
    /// Path of its poster (the JPEG of its first keyframe) relative to the data dir, when it
    /// has one on disk.
    #[serde(default)]
    pub poster: Option<String>,
}

impl SegmentClosed {
    /// Names the segment's poster if it is on disk (`<stem>.jpg` beside the file).
    pub fn find_poster(&mut self) {
        let on_disk = crate::poster::path_for(&self.path).is_file();
        self.poster = on_disk.then(|| {
            let rel = std::path::Path::new(&self.rel_path).with_extension("jpg");
            rel.to_string_lossy().into_owned()
        });
    }
}

/// What the engine must not lose: sent in order on an unbounded channel to the one consumer
/// that took it ([`crate::Engine::take_facts`]). A file is on disk with its manifest
/// (`<file>.meta.json`) before its `FileClosed` is sent, so a consumer that dies before acting
/// on it finds the file again when it reconciles the disk at its next start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    /// A publisher was accepted.
    StreamStarted {
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Raw query of the push URL.
        stream_param: String,
        /// Unix ms.
        at_ms: i64,
    },
    /// A publisher went away.
    StreamEnded {
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Unix ms.
        at_ms: i64,
    },
    /// A file is finished and durable, its manifest beside it.
    FileClosed(Box<SegmentClosed>),
    /// A recording ended; every `FileClosed` of it was sent before this.
    RecordingEnded {
        /// The recording.
        recording: RecordingId,
        /// Started through `start_recording` (channel mode).
        manual: bool,
        /// Its opaque label.
        label: String,
        /// Stream code.
        stream_code: String,
        /// Why.
        reason: EndReason,
    },
}

/// Everything the engine reports as telemetry (may be dropped by a slow subscriber).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EngineEvent {
    /// A publisher was accepted.
    StreamStarted {
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Raw query of the push URL.
        stream_param: String,
        /// Unix ms.
        at_ms: i64,
    },
    /// A publisher went away.
    StreamEnded {
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Unix ms.
        at_ms: i64,
        /// Why ("unpublished", "connection closed", "replaced", ...).
        reason: String,
    },
    /// A file was opened.
    SegmentOpened {
        /// The recording.
        recording: RecordingId,
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Container.
        format: Format,
        /// Final path of the file.
        path: PathBuf,
        /// Wall-clock time of its first frame, unix ms.
        start_ms: i64,
    },
    /// About once a second of media per open file.
    SegmentProgress {
        /// The recording.
        recording: RecordingId,
        /// Stream code.
        stream_code: String,
        /// Container.
        format: Format,
        /// Final path of the file.
        path: PathBuf,
        /// Bytes so far.
        bytes: u64,
        /// Media duration so far, ms.
        duration_ms: u64,
        /// Average bitrate so far.
        bitrate_kbps: u32,
        /// Video frames per second over the segment.
        fps: f32,
        /// Time of the last keyframe relative to the segment start, ms.
        last_keyframe_ms: u64,
        /// Video width.
        width: Option<u32>,
        /// Video height.
        height: Option<u32>,
    },
    /// A file is finished and durable.
    SegmentClosed(SegmentClosed),
    /// A recording ended.
    RecordingEnded {
        /// The recording.
        recording: RecordingId,
        /// Stream code.
        stream_code: String,
        /// Why.
        reason: EndReason,
    },
    /// A live stream's health, every [`crate::meter::WINDOW_MS`] of media.
    StreamStats {
        /// RTMP app.
        app: String,
        /// Stream code.
        stream_code: String,
        /// Bitrate, frame rate, keyframe interval.
        stats: crate::meter::StreamStats,
        /// "h264" when the stream has video.
        video_codec: Option<String>,
        /// "aac" when the stream has audio.
        audio_codec: Option<String>,
        /// Video width.
        width: Option<u32>,
        /// Video height.
        height: Option<u32>,
    },
    /// Something went wrong while recording; `code` is from the service's error table.
    RecorderError {
        /// The recording, if the error belongs to one.
        recording: Option<RecordingId>,
        /// Stream code.
        stream_code: String,
        /// Error code (2 = disk).
        code: u32,
        /// Human-readable detail with context.
        detail: String,
    },
}

/// The state of one stream code, for [`crate::Engine::streams`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamStatus {
    /// RTMP app.
    pub app: String,
    /// Stream code.
    pub stream_code: String,
    /// A publisher is connected.
    pub live: bool,
    /// Raw query of the current push URL.
    pub stream_param: String,
    /// Recordings in progress.
    pub recordings: Vec<RecordingId>,
    /// "h264" when the stream has video.
    pub video_codec: Option<String>,
    /// "aac" when the stream has audio.
    pub audio_codec: Option<String>,
    /// Video width.
    pub width: Option<u32>,
    /// Video height.
    pub height: Option<u32>,
}
