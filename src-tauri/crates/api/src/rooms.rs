//! Rooms, members and channel-mode recording requests (the SDK's fields).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A room's kind. Two-person rooms cannot be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Multi,
    TwoPerson,
}

/// `POST /v1/rooms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct CreateRoom {
    pub room_id: String,
    pub kind: RoomKind,
}

/// A room and who is in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Room {
    pub room_id: String,
    pub kind: RoomKind,
    pub created_ms: i64,
    /// Members currently in the room.
    pub members: Vec<String>,
}

/// `POST /v1/rooms/{room_id}/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct JoinRoom {
    pub user_id: String,
}

/// Which of a member's streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The main stream.
    Camera,
    /// The auxiliary stream (screen sharing).
    Screen,
}

/// Where a member pushes one of its streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct PushUrl {
    pub source: Source,
    /// `<bizid>_<md5(room_id_user_id_main|aux)>`.
    pub stream_code: String,
    /// Full RTMP URL including `txSecret`/`txTime` when push authentication is on.
    pub url: String,
    /// For OBS: the server part and the stream key part of `url`.
    pub server: String,
    pub stream_key: String,
}

/// The answer to joining: the member's push URLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Membership {
    pub room_id: String,
    pub user_id: String,
    pub push: Vec<PushUrl>,
}

/// What to record of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Video,
    Audio,
}

/// `POST /v1/record`, as the SDK sends it. Missing or wrong fields get the seed's error codes,
/// so every field is optional here and checked by the service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(optional_fields)]
pub struct RecordRequest {
    /// `start` or `stop`.
    pub op: Option<String>,
    pub room_id: Option<String>,
    pub user_id: Option<String>,
    /// Required to start: names the recorded files.
    pub file_name: Option<String>,
    pub class_id: Option<i64>,
    pub tags: Option<Vec<String>>,
    /// `video` (default) or `audio`.
    pub record_type: Option<String>,
    /// `camera` (default) or `screen`.
    pub source: Option<String>,
    pub sdk_type: Option<String>,
    pub trans_code: Option<bool>,
    pub screen_shot: Option<bool>,
    pub water_mark: Option<bool>,
}

/// The answer to `POST /v1/record`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct RecordResponse {
    /// The task's id (the `record_id` of its files).
    pub task_id: String,
    /// On stop: every file of the task.
    pub file_ids: Vec<String>,
}
