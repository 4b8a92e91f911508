//! Recording files as the service's index holds them and its API returns them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Names an enum's values once: its wire name (serde's), `as_str` for SQL and callbacks, and
/// `FromStr` / `TryFrom<String>` back (so a database row maps straight onto it).
macro_rules! named_values {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Its name on the wire and in the index.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<$ty, String> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(format!(concat!("not a ", stringify!($ty), ": {:?}"), other)),
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<$ty, String> {
                s.parse()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    // An enum that grows: a value from a newer version reads as `Unknown` rather than
    // failing the whole message it came in.
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? } or Unknown) => {
        $crate::recordings::named_values!($ty { $($variant = $name,)+ Unknown = "unknown" });

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok(name.parse().unwrap_or($ty::Unknown))
            }
        }
    };
}
pub(crate) use named_values;

/// A recorded file's container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Flv,
    Hls,
    Mp4,
}
named_values!(FileFormat { Flv = "flv", Hls = "hls", Mp4 = "mp4" });

/// Where a file's callback stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Queued or being retried (or waiting for the file's upload to the bucket).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Retried for a day without a 2xx.
    GaveUp,
    /// No callback URL is configured.
    None,
    /// A state this version does not know (from a newer server).
    Unknown,
}
named_values!(CallbackState {
    Pending = "pending",
    Delivered = "delivered",
    GaveUp = "gave_up",
    None = "none",
} or Unknown);

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
    pub format: FileFormat,
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
    pub callback_state: CallbackState,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_wire() {
        for format in [FileFormat::Flv, FileFormat::Hls, FileFormat::Mp4] {
            assert_eq!(format.as_str().parse::<FileFormat>(), Ok(format));
            assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
        }
        for state in [
            CallbackState::Pending,
            CallbackState::Delivered,
            CallbackState::GaveUp,
            CallbackState::None,
        ] {
            assert_eq!(CallbackState::try_from(state.to_string()), Ok(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert!("avi".parse::<FileFormat>().is_err());
        let newer: CallbackState = serde_json::from_str("\"retrying\"").unwrap();
        assert_eq!(
            newer,
            CallbackState::Unknown,
            "a newer server's state is tolerated"
        );
    }
}
