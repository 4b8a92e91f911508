//! Live events of `GET /v1/events` (server-sent events): streams, channel-mode tasks, the files
//! being written, and errors. Each is one SSE `data:` line of JSON tagged by `type`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ApiError;
use crate::recordings::FileFormat;
use crate::rooms::Source;

/// One live event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// The state of a stream code: sent for every live stream when a client connects, then
    /// whenever a publisher comes or goes.
    StreamState(StreamState),
    /// A channel-mode task started or stopped.
    TaskState(TaskState),
    /// A file was opened.
    SegmentOpened(SegmentStatus),
    /// About once a second per open file.
    SegmentProgress(SegmentStatus),
    /// A file is finished, durable and indexed under `file_id`.
    SegmentClosed {
        #[serde(flatten)]
        segment: SegmentStatus,
        file_id: String,
    },
    /// A recording ended.
    RecordingEnded {
        recording_id: String,
        stream_code: String,
        reason: EndReason,
    },
    /// A file's callback was given up after retrying for a day.
    CallbackGaveUp { file_id: String },
    /// Something went wrong while recording, in the client's language.
    Error {
        stream_code: String,
        recording_id: Option<String>,
        error: ApiError,
    },
    /// The client resumed from an event the server no longer holds (or from before a server
    /// restart): what it shows may be stale, so it should reload state over the API.
    Resync,
}

/// A stream code and its publisher.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct StreamState {
    pub stream_code: String,
    /// A publisher is connected.
    pub live: bool,
    /// Why it went offline (`unpublished`, `connection closed`, `replaced`, ...).
    pub reason: Option<String>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Audio and video payload, kbit/s (measured every couple of seconds of media).
    pub bitrate_kbps: u32,
    /// Video frames per second.
    pub fps: f32,
    /// Media time between the last two keyframes, ms (0 until known).
    pub keyframe_interval_ms: i64,
    /// Recordings in progress on this stream.
    pub recordings: Vec<String>,
}

/// A channel-mode task's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct TaskState {
    pub task_id: String,
    pub room_id: String,
    pub user_id: String,
    pub source: Source,
    pub stream_code: String,
    /// Started and not ended (waiting for its stream or recording it).
    pub recording: bool,
    pub phase: TaskPhase,
    /// Why an ended task ended.
    pub end_reason: Option<EndReason>,
    /// Once ended: every file of the task.
    pub file_ids: Vec<String>,
}

/// Why a recording ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Stopped by request.
    Stopped,
    /// Its stream sent nothing for the idle timeout.
    IdleTimeout,
    /// The disk filled up.
    DiskFull,
    /// The service was stopping.
    Shutdown,
    /// A reason this version does not know (from a newer server).
    Unknown,
}
crate::recordings::named_values!(EndReason {
    Stopped = "stopped",
    IdleTimeout = "idle_timeout",
    DiskFull = "disk_full",
    Shutdown = "shutdown",
} or Unknown);

/// Where a channel-mode task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskPhase {
    /// Started; its member's stream is not live yet.
    Waiting,
    /// Recording the member's stream.
    Recording,
    /// Over (see `end_reason`); its source can be started again.
    Ended,
}

/// A file being written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct SegmentStatus {
    pub recording_id: String,
    pub stream_code: String,
    pub format: FileFormat,
    /// Path relative to the server's data dir, `/`-separated.
    pub file: String,
    pub start_ms: i64,
    pub bytes: i64,
    pub duration_ms: i64,
    pub bitrate_kbps: u32,
    pub fps: f32,
    /// Media time of the last keyframe in the file, ms.
    pub last_keyframe_ms: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

impl SegmentStatus {
    /// A file just opened: nothing written yet.
    pub fn opened(
        recording_id: String,
        stream_code: String,
        format: FileFormat,
        file: String,
        start_ms: i64,
    ) -> Self {
        SegmentStatus {
            recording_id,
            stream_code,
            format,
            file,
            start_ms,
            bytes: 0,
            duration_ms: 0,
            bitrate_kbps: 0,
            fps: 0.0,
            last_keyframe_ms: 0,
            width: None,
            height: None,
        }
    }
}
