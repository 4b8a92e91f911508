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
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
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
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
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

impl Source {
    /// As `POST /v1/record` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Camera => "camera",
            Source::Screen => "screen",
        }
    }
}

/// Where a member pushes one of its streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct PushUrl {
    pub source: Source,
    /// `<bizid>_<md5(room_id_user_id_main|aux)>`.
    pub stream_code: String,
    /// Full RTMP URL including `txSecret`/`txTime` when push authentication is on.
    pub url: String,
    /// The SRT push URL (`srt://host:port?streamid=live/<stream key>`), when the server takes
    /// SRT.
    pub srt_url: Option<String>,
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

impl RecordType {
    /// As `POST /v1/record` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Video => "video",
            RecordType::Audio => "audio",
        }
    }
}

/// `POST /v1/record`, as the SDK sends it. Missing or wrong fields get the seed's error codes,
/// so every field is optional here and checked by the service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct RecordRequest {
    /// `start` or `stop`.
    pub op: Option<String>,
    pub room_id: Option<String>,
    pub user_id: Option<String>,
    /// Required to start: names the recorded files.
    pub file_name: Option<String>,
    #[serde(default, with = "integral")]
    #[ts(as = "Option<i64>")]
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

/// What `POST /v1/record` accepts, as the API document states it: a start names its files, a
/// stop says only whose recording. The service reads the lenient [`RecordRequest`] instead, so
/// a wrong field gets the seed's own error code rather than a generic one.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = RecordRequest)]
pub enum DocumentedRecordRequest {
    Start(StartRecording),
    Stop(StopRecording),
}

/// `op: start`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct StartRecording {
    pub op: StartOp,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub room_id: String,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub user_id: String,
    /// Names the recorded files: at least one character that is not white space.
    #[schema(pattern = "\\S")]
    pub file_name: String,
    pub source: Option<Source>,
    pub record_type: Option<RecordType>,
    pub class_id: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub sdk_type: Option<String>,
    pub trans_code: Option<bool>,
    pub screen_shot: Option<bool>,
    pub water_mark: Option<bool>,
}

/// `op: stop`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopRecording {
    pub op: StopOp,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub room_id: String,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub user_id: String,
    pub source: Option<Source>,
    pub record_type: Option<RecordType>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartOp {
    Start,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopOp {
    Stop,
}

/// An integer as JSON Schema has it, where `7.0` is one too (serde's `i64` takes only `7`).
mod integral {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(n: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        n.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
            return Ok(None);
        };
        n.as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a 64-bit integer")))
    }
}

/// The answer to `POST /v1/record`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct RecordResponse {
    /// The task's id (the `record_id` of its files).
    pub task_id: String,
    /// On stop: every file of the task.
    pub file_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::RecordRequest;

    fn class_id(json: &str) -> Result<Option<i64>, serde_json::Error> {
        serde_json::from_str::<RecordRequest>(json).map(|r| r.class_id)
    }

    #[test]
    fn class_id_is_any_json_integer() {
        assert_eq!(class_id(r#"{"class_id": 7}"#).unwrap(), Some(7));
        assert_eq!(
            class_id(r#"{"class_id": 420997827.0}"#).unwrap(),
            Some(420997827)
        );
        assert_eq!(class_id(r#"{"class_id": null}"#).unwrap(), None);
        assert_eq!(class_id("{}").unwrap(), None);
        assert!(class_id(r#"{"class_id": 1.5}"#).is_err());
        assert!(class_id(r#"{"class_id": 1e30}"#).is_err());
        assert!(class_id(r#"{"class_id": "7"}"#).is_err());
    }
}
