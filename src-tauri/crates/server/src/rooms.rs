//! Rooms and their members, stored beside the index; push URLs for members' streams.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use tally_api::rooms::{PushUrl, Room, RoomKind, Source};
use tally_api::ErrorCode;
use tally_media::InstantStart;

use crate::ids::md5_hex;
use crate::index::{Index, IndexError};

/// Room storage.
#[derive(Clone)]
pub struct RoomBook {
    index: Index,
    bizid: u64,
    /// Stream codes of current members: the streams a manual start can target.
    member_streams: Arc<RwLock<HashSet<String>>>,
}

/// Where a user stands in a room.
#[derive(Debug, PartialEq, Eq)]
pub enum Presence {
    NoRoom,
    NeverJoined,
    Left,
    In(RoomKind),
}

fn kind_str(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Multi => "multi",
        RoomKind::TwoPerson => "two_person",
    }
}

fn kind_of(s: &str) -> RoomKind {
    if s == "two_person" {
        RoomKind::TwoPerson
    } else {
        RoomKind::Multi
    }
}

/// Room and user ids: 1–64 of `[A-Za-z0-9_-]`, so they are safe in stream codes and URLs.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl RoomBook {
    /// Rooms in the index's database; members' stream codes are derived with `bizid`.
    pub async fn open(index: Index, bizid: u64) -> Result<RoomBook, IndexError> {
        let members: Vec<(String, String)> =
            sqlx::query_as("SELECT room_id, user_id FROM members WHERE left_ms IS NULL")
                .fetch_all(index.pool())
                .await?;
        let book = RoomBook {
            index,
            bizid,
            member_streams: Arc::default(),
        };
        for (room_id, user_id) in members {
            book.mark_member(&room_id, &user_id, true);
        }
        Ok(book)
    }

    /// Only members' streams keep a GOP cache for instant manual starts: the engine asks
    /// this at each keyframe.
    pub fn instant_start(&self) -> InstantStart {
        let streams = self.member_streams.clone();
        InstantStart::only(move |code| {
            streams
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(code)
        })
    }

    fn mark_member(&self, room_id: &str, user_id: &str, present: bool) {
        let mut streams = self
            .member_streams
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for source in [Source::Camera, Source::Screen] {
            let code = stream_code(self.bizid, room_id, user_id, source);
            if present {
                streams.insert(code);
            } else {
                streams.remove(&code);
            }
        }
    }

    /// Creates a room; `RoomExists` when the id is taken.
    pub async fn create(
        &self,
        room_id: &str,
        kind: RoomKind,
        now_ms: i64,
    ) -> Result<Result<Room, ErrorCode>, IndexError> {
        let done = sqlx::query("INSERT INTO rooms (room_id, kind, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(room_id)
            .bind(kind_str(kind))
            .bind(now_ms)
            .execute(self.index.pool())
            .await?
            .rows_affected();
        if done == 0 {
            return Ok(Err(ErrorCode::RoomExists));
        }
        Ok(Ok(Room {
            room_id: room_id.to_owned(),
            kind,
            created_ms: now_ms,
            members: Vec::new(),
        }))
    }

    /// One room with its current members.
    pub async fn get(&self, room_id: &str) -> Result<Option<Room>, IndexError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT kind, created_ms FROM rooms WHERE room_id = $1")
                .bind(room_id)
                .fetch_optional(self.index.pool())
                .await?;
        let Some((kind, created_ms)) = row else {
            return Ok(None);
        };
        let members = sqlx::query_scalar(
            "SELECT user_id FROM members WHERE room_id = $1 AND left_ms IS NULL ORDER BY joined_ms, user_id",
        )
        .bind(room_id)
        .fetch_all(self.index.pool())
        .await?;
        Ok(Some(Room {
            room_id: room_id.to_owned(),
            kind: kind_of(&kind),
            created_ms,
            members,
        }))
    }

    /// Every room.
    pub async fn list(&self) -> Result<Vec<Room>, IndexError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT room_id FROM rooms ORDER BY created_ms, room_id")
                .fetch_all(self.index.pool())
                .await?;
        let mut rooms = Vec::with_capacity(ids.len());
        for id in ids {
            rooms.extend(self.get(&id).await?);
        }
        Ok(rooms)
    }

    /// Adds (or re-adds) a member; `false` when the room does not exist.
    pub async fn join(
        &self,
        room_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<bool, IndexError> {
        if self.get(room_id).await?.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO members (room_id, user_id, joined_ms) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET joined_ms = excluded.joined_ms, left_ms = NULL",
        )
        .bind(room_id)
        .bind(user_id)
        .bind(now_ms)
        .execute(self.index.pool())
        .await?;
        self.mark_member(room_id, user_id, true);
        Ok(true)
    }

    /// Marks a member as gone; `false` when they were not in the room.
    pub async fn leave(
        &self,
        room_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<bool, IndexError> {
        let n = sqlx::query("UPDATE members SET left_ms = $3 WHERE room_id = $1 AND user_id = $2 AND left_ms IS NULL")
            .bind(room_id)
            .bind(user_id)
            .bind(now_ms)
            .execute(self.index.pool())
            .await?
            .rows_affected();
        if n == 1 {
            self.mark_member(room_id, user_id, false);
        }
        Ok(n == 1)
    }

    /// Whether `user_id` is in `room_id`, and the room's kind.
    pub async fn presence(&self, room_id: &str, user_id: &str) -> Result<Presence, IndexError> {
        let Some(room) = self.get(room_id).await? else {
            return Ok(Presence::NoRoom);
        };
        if room.members.iter().any(|m| m == user_id) {
            return Ok(Presence::In(room.kind));
        }
        let left: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM members WHERE room_id = $1 AND user_id = $2")
                .bind(room_id)
                .bind(user_id)
                .fetch_optional(self.index.pool())
                .await?;
        Ok(if left.is_some() {
            Presence::Left
        } else {
            Presence::NeverJoined
        })
    }
}

/// The stream code of a member's source: `<bizid>_<md5(room_id_user_id_main|aux)>`.
pub fn stream_code(bizid: u64, room_id: &str, user_id: &str, source: Source) -> String {
    let which = match source {
        Source::Camera => "main",
        Source::Screen => "aux",
    };
    format!(
        "{bizid}_{}",
        md5_hex(&format!("{room_id}_{user_id}_{which}"))
    )
}

/// Where publishers push: `rtmp://host:port` and, when SRT ingest is on, `srt://host:port`.
#[derive(Clone, Debug)]
pub struct IngestBases {
    pub rtmp: String,
    pub srt: Option<String>,
}

/// A push URL for `code`, signed when a push key is set: `txSecret = md5(key + code + txTime)`,
/// `txTime` the expiry as hex unix seconds. The SRT URL carries the same stream key in its
/// `streamid`, percent-encoded as SRT callers (ffmpeg, OBS) decode it.
pub fn push_url(
    bases: &IngestBases,
    code: &str,
    source: Source,
    push_key: Option<&str>,
    expires_s: i64,
) -> PushUrl {
    let server = format!("{}/live", bases.rtmp.trim_end_matches('/'));
    let stream_key = match push_key {
        Some(key) => {
            let tx_time = format!("{expires_s:x}");
            let secret = md5_hex(&format!("{key}{code}{tx_time}"));
            format!("{code}?txSecret={secret}&txTime={tx_time}")
        }
        None => code.to_owned(),
    };
    let srt_url = bases.srt.as_deref().map(|base| {
        let stream_id = format!("live/{stream_key}")
            .replace('%', "%25")
            .replace('?', "%3F")
            .replace('&', "%26")
            .replace('=', "%3D");
        format!("{}?streamid={stream_id}", base.trim_end_matches('/'))
    });
    PushUrl {
        source,
        stream_code: code.to_owned(),
        url: format!("{server}/{stream_key}"),
        srt_url,
        server,
        stream_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_current_members_streams_keep_a_gop_for_instant_starts() {
        let dir = tempfile::tempdir().unwrap();
        let (index, _) = Index::open_at(
            dir.path(),
            tally_testkit::postgres::index_url(dir.path()).as_deref(),
            0,
        )
        .await
        .unwrap();
        let book = RoomBook::open(index.clone(), 8888).await.unwrap();
        let instant = book.instant_start();
        let camera = stream_code(8888, "r1", "alice", Source::Camera);
        let screen = stream_code(8888, "r1", "alice", Source::Screen);
        book.create("r1", RoomKind::Multi, 0)
            .await
            .unwrap()
            .unwrap();
        assert!(!instant.wants(&camera), "not a member yet");
        assert!(book.join("r1", "alice", 1).await.unwrap());
        assert!(instant.wants(&camera) && instant.wants(&screen));
        assert!(!instant.wants("8888_someone_else"));
        // Reopened (a restart), the members' streams are known again.
        let reopened = RoomBook::open(index, 8888).await.unwrap().instant_start();
        assert!(reopened.wants(&camera));
        assert!(book.leave("r1", "alice", 2).await.unwrap());
        assert!(!instant.wants(&camera) && !instant.wants(&screen));
    }

    #[test]
    fn stream_codes_follow_the_bizid_md5_rule() {
        let code = stream_code(8888, "r1", "alice", Source::Camera);
        assert_eq!(code, format!("8888_{}", md5_hex("r1_alice_main")));
        assert_ne!(code, stream_code(8888, "r1", "alice", Source::Screen));
    }

    #[test]
    fn push_url_is_signed_with_the_key() {
        let bases = IngestBases {
            rtmp: "rtmp://127.0.0.1:1935".into(),
            srt: Some("srt://127.0.0.1:9000".into()),
        };
        let url = push_url(&bases, "8888_ab", Source::Camera, Some("k"), 0x5a20f5ca);
        assert_eq!(url.server, "rtmp://127.0.0.1:1935/live");
        let secret = md5_hex("k8888_ab5a20f5ca");
        assert_eq!(
            url.stream_key,
            format!("8888_ab?txSecret={secret}&txTime=5a20f5ca")
        );
        assert_eq!(url.url, format!("{}/{}", url.server, url.stream_key));
        assert_eq!(
            url.srt_url.unwrap(),
            format!("srt://127.0.0.1:9000?streamid=live/8888_ab%3FtxSecret%3D{secret}%26txTime%3D5a20f5ca")
        );
        let rtmp_only = IngestBases {
            rtmp: "rtmp://h:1".into(),
            srt: None,
        };
        let url = push_url(&rtmp_only, "c", Source::Screen, None, 0);
        assert_eq!((url.url.as_str(), url.srt_url), ("rtmp://h:1/live/c", None));
    }

    #[test]
    fn ids_are_checked() {
        assert!(valid_id("room-1_A"));
        assert!(!valid_id(""));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(&"x".repeat(65)));
    }
}
