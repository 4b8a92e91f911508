//! Writing recordings into the cache and reading one back.

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use tally_api::recordings::{CallbackState, FileFormat};
use ts_rs::TS;

use super::{CacheError, RecordingCache};

/// One recording file as the cache holds it: the server's row plus where it came from and its
/// local download state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct CachedRecording {
    pub server_id: i64,
    pub file_id: String,
    pub video_id: String,
    pub record_file_id: String,
    pub stream_code: String,
    pub channel_id: String,
    pub room_id: String,
    pub user_id: String,
    pub record_id: String,
    pub file_name: String,
    /// The tags given at the start of the recording.
    #[sqlx(json)]
    pub tags: Vec<String>,
    #[sqlx(try_from = "String")]
    pub format: FileFormat,
    pub url: String,
    /// The poster's link, when it has one.
    pub thumbnail_url: Option<String>,
    pub size: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
    #[sqlx(try_from = "String")]
    pub callback_state: CallbackState,
    /// Finalized from leftovers after a crash.
    pub recovered: bool,
    pub deleted: bool,
    pub download_state: String,
    pub download_path: Option<String>,
    pub downloaded_bytes: i64,
}

/// The columns a SELECT must name to build a [`CachedRecording`].
pub(crate) const COLUMNS: &str = "server_id, file_id, video_id, record_file_id, stream_code, \
    channel_id, room_id, user_id, record_id, file_name, tags, format, url, size, start_ms, end_ms, \
    duration_ms, video_codec, audio_codec, width, height, created_ms, updated_ms, callback_state, \
    recovered, deleted, download_state, download_path, downloaded_bytes, thumbnail_url";

impl RecordingCache {
    /// Inserts or updates the server-side fields of rows (the download state is kept), in one
    /// transaction: a sync page is applied whole or not at all.
    pub async fn upsert(&self, rows: &[CachedRecording]) -> Result<(), CacheError> {
        let mut tx = self.pool().begin().await?;
        upsert_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One recording by its server and file id.
    pub async fn get(
        &self,
        server_id: i64,
        file_id: &str,
    ) -> Result<Option<CachedRecording>, CacheError> {
        // Only the constant column list is formatted in; values are bound.
        let row = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recordings WHERE server_id = ?1 AND file_id = ?2"
        )))
        .bind(server_id)
        .bind(file_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row)
    }

    /// How many rows the cache holds (deleted ones included).
    pub async fn count(&self) -> Result<i64, CacheError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recordings")
            .fetch_one(self.pool())
            .await?)
    }
}

/// Rows starting in the same millisecond: each takes the next rank of its millisecond.
const TIME_KEY_RANK_BITS: u32 = 20;

/// The smallest time key of rows starting at `start_ms`. A row's time key (the trigram index's
/// rowid) is this plus its rank among rows of the same millisecond, so keys sort like start times.
pub(crate) fn first_time_key(start_ms: i64) -> i64 {
    start_ms.saturating_mul(1 << TIME_KEY_RANK_BITS)
}

/// Upserts `rows` inside an open transaction (see [`RecordingCache::upsert`]).
pub(crate) async fn upsert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rows: &[CachedRecording],
) -> Result<(), CacheError> {
    for r in rows {
        sqlx::query(
            "INSERT INTO recordings (server_id, file_id, video_id, record_file_id, stream_code,
                    channel_id, room_id, user_id, record_id, file_name, tags, format, url, size,
                    start_ms, end_ms, duration_ms, video_codec, audio_codec, width, height,
                    created_ms, updated_ms, callback_state, deleted, thumbnail_url, recovered,
                    time_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?29,
                    (SELECT COALESCE(MAX(time_key) + 1, ?27) FROM recordings
                     WHERE time_key >= ?27 AND time_key < ?28))
                 ON CONFLICT (server_id, file_id) DO UPDATE SET
                    video_id = excluded.video_id, record_file_id = excluded.record_file_id,
                    stream_code = excluded.stream_code, channel_id = excluded.channel_id,
                    room_id = excluded.room_id, user_id = excluded.user_id,
                    record_id = excluded.record_id, file_name = excluded.file_name,
                    tags = excluded.tags, format = excluded.format, url = excluded.url,
                    size = excluded.size, start_ms = excluded.start_ms, end_ms = excluded.end_ms,
                    duration_ms = excluded.duration_ms, video_codec = excluded.video_codec,
                    audio_codec = excluded.audio_codec, width = excluded.width,
                    height = excluded.height, created_ms = excluded.created_ms,
                    updated_ms = excluded.updated_ms, callback_state = excluded.callback_state,
                    deleted = excluded.deleted, thumbnail_url = excluded.thumbnail_url,
                    recovered = excluded.recovered,
                    time_key = CASE WHEN recordings.start_ms = excluded.start_ms
                        THEN recordings.time_key ELSE excluded.time_key END
                 WHERE excluded.updated_ms >= recordings.updated_ms",
        )
        .bind(r.server_id)
        .bind(&r.file_id)
        .bind(&r.video_id)
        .bind(&r.record_file_id)
        .bind(&r.stream_code)
        .bind(&r.channel_id)
        .bind(&r.room_id)
        .bind(&r.user_id)
        .bind(&r.record_id)
        .bind(&r.file_name)
        .bind(serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".into()))
        .bind(r.format.as_str())
        .bind(&r.url)
        .bind(r.size)
        .bind(r.start_ms)
        .bind(r.end_ms)
        .bind(r.duration_ms)
        .bind(&r.video_codec)
        .bind(&r.audio_codec)
        .bind(r.width)
        .bind(r.height)
        .bind(r.created_ms)
        .bind(r.updated_ms)
        .bind(r.callback_state.as_str())
        .bind(r.deleted)
        .bind(&r.thumbnail_url)
        .bind(first_time_key(r.start_ms))
        .bind(first_time_key(r.start_ms.saturating_add(1)))
        .bind(r.recovered)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
