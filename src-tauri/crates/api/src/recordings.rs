//! Recording files as the service's index holds them and its API returns them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One recorded file (for HLS: one playlist and its chunks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Recording {
    /// Numeric string, unique on the server.
    pub file_id: String,
    pub video_id: String,
    pub record_file_id: String,
    pub stream_code: String,
    pub channel_id: String,
    /// Empty for stream-code recordings outside a room.
    pub room_id: String,
    pub user_id: String,
    /// `recordId` of the push URL (`cliRecoid`), or the channel-mode task's id.
    pub record_id: String,
    /// The `file_name` of a channel-mode start; empty in stream-code mode.
    pub file_name: String,
    pub tags: Vec<String>,
    /// `flv`, `hls` or `mp4`.
    pub format: String,
    /// Download URL (HLS: the m3u8).
    pub url: String,
    /// Link to its poster, a JPEG of its first keyframe (none for audio, or when the
    /// recording asked for none).
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// Bytes (HLS: sum of the TS chunks).
    pub size: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_ms: i64,
    /// Changes whenever the row does (callback state included): the sync cursor.
    pub updated_ms: i64,
    /// `pending`, `delivered`, `gave_up` or `none` (no callback URL configured).
    pub callback_state: String,
    /// Finalized by crash recovery.
    pub recovered: bool,
    /// Deleted: only incremental listings (`updated_since`) return such rows, so that
    /// clients remove them too.
    #[serde(default)]
    pub deleted: bool,
    /// The row's file was not on disk when the server last started (kept, not dropped: a
    /// restored backup may bring it back).
    #[serde(default)]
    pub missing: bool,
}

/// One page of `GET /v1/recordings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct RecordingPage {
    pub recordings: Vec<Recording>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// One delivery attempt of a callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct CallbackAttempt {
    pub event_type: i64,
    pub attempt: i64,
    pub at_ms: i64,
    /// HTTP status, when the receiver answered.
    pub status: Option<i64>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub duration_ms: i64,
}
