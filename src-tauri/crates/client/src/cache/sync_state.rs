//! Where a sync with each server stands: its resume cursor and when it last completed. A page
//! of rows and the cursor after it are stored in one transaction, so a sync cut midway resumes
//! exactly where it stopped, with no row lost or doubled.

use super::rows::{upsert_in, CachedRecording};
use super::{CacheError, RecordingCache};

impl RecordingCache {
    /// Stores one page fetched from the server and the cursor that follows it, atomically.
    pub async fn apply_sync_page(
        &self,
        server_id: i64,
        rows: &[CachedRecording],
        cursor: &str,
    ) -> Result<(), CacheError> {
        let mut tx = self.pool().begin().await?;
        upsert_in(&mut tx, rows).await?;
        sqlx::query("UPDATE servers SET sync_cursor = ?2 WHERE id = ?1")
            .bind(server_id)
            .bind(cursor)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The cursor to resume syncing `server_id` from (`None`: from the beginning).
    pub async fn sync_cursor(&self, server_id: i64) -> Result<Option<String>, CacheError> {
        Ok(
            sqlx::query_scalar("SELECT sync_cursor FROM servers WHERE id = ?1")
                .bind(server_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    /// Records that a sync of `server_id` reached the end at `at_ms` (unix ms).
    pub async fn mark_synced(&self, server_id: i64, at_ms: i64) -> Result<(), CacheError> {
        sqlx::query("UPDATE servers SET last_sync_ms = ?2 WHERE id = ?1")
            .bind(server_id)
            .bind(at_ms)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// When a sync of `server_id` last completed (unix ms), for "last synced …" in the library.
    pub async fn last_synced(&self, server_id: i64) -> Result<Option<i64>, CacheError> {
        Ok(
            sqlx::query_scalar("SELECT last_sync_ms FROM servers WHERE id = ?1")
                .bind(server_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }
}
