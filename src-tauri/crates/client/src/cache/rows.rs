//! Writing recordings into the cache and reading one back.

use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

use sqlx::AssertSqlSafe;
use tally_api::recording_row::{numbered_params, Columns};
use tally_api::recordings::Recording;
use ts_rs::TS;

use super::{CacheError, RecordingCache};

/// One recording file as the cache holds it: the server's row plus where it came from and its
/// local download state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, TS)]
pub struct CachedRecording {
    pub server_id: i64,
    /// The server's recording as last synced (its fields sit beside these in JSON).
    #[serde(flatten)]
    #[sqlx(flatten)]
    #[ts(flatten)]
    pub recording: Recording,
    pub download_state: String,
    pub download_path: Option<String>,
    pub downloaded_bytes: i64,
}

impl CachedRecording {
    /// The cache's row for a server's recording, not downloaded (an upsert keeps the download
    /// state of a row already cached).
    pub fn new(server_id: i64, recording: Recording) -> CachedRecording {
        CachedRecording {
            server_id,
            recording,
            download_state: "none".into(),
            download_path: None,
            downloaded_bytes: 0,
        }
    }
}

/// A cached recording reads as the recording it holds (`row.file_name`): the cache only adds
/// where it came from and its download state.
impl std::ops::Deref for CachedRecording {
    type Target = Recording;
    fn deref(&self) -> &Recording {
        &self.recording
    }
}

impl std::ops::DerefMut for CachedRecording {
    fn deref_mut(&mut self) -> &mut Recording {
        &mut self.recording
    }
}

/// The columns a SELECT must name to build a [`CachedRecording`].
pub(crate) fn columns() -> &'static str {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| {
        format!(
            "server_id, {}, {}, download_state, download_path, downloaded_bytes",
            Recording::KEPT_COLUMNS,
            Recording::DERIVED_COLUMNS
        )
    });
    &COLUMNS
}

/// Inserts a row or updates its server-side columns, unless the cached row is newer: `$1` is
/// the server, `$2`–`$3` its millisecond's time-key range, the recording's columns follow.
fn upsert_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let columns = format!(
            "{}, {}",
            Recording::KEPT_COLUMNS,
            Recording::DERIVED_COLUMNS
        );
        let updates: Vec<String> = columns
            .split(", ")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO recordings (server_id, time_key, {columns})
             VALUES ($1, (SELECT COALESCE(MAX(time_key) + 1, $2) FROM recordings
                          WHERE time_key >= $2 AND time_key < $3), {})
             ON CONFLICT (server_id, file_id) DO UPDATE SET {},
                time_key = CASE WHEN recordings.start_ms = excluded.start_ms
                    THEN recordings.time_key ELSE excluded.time_key END
             WHERE excluded.updated_ms >= recordings.updated_ms",
            numbered_params(4, Recording::KEPT_COUNT + Recording::DERIVED_COUNT),
            updates.join(", ")
        )
    });
    &SQL
}

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
            "SELECT {} FROM recordings WHERE server_id = ?1 AND file_id = ?2",
            columns()
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
    for row in rows {
        let r = &row.recording;
        let upsert = sqlx::query(AssertSqlSafe(upsert_sql()))
            .bind(row.server_id)
            .bind(first_time_key(r.start_ms))
            .bind(first_time_key(r.start_ms.saturating_add(1)));
        r.bind_columns(upsert, Columns::KeptAndDerived)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
