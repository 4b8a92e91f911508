//! The upload queue in the index: which recordings still go to the bucket, and the one
//! transaction that records a verified upload (the row marked as stored in the bucket, the
//! file's held callback released with links to the bucket).

use sqlx::Row;

use super::{Index, IndexError};

/// How far an upload has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Not yet in the bucket (or not yet verified there).
    Pending,
    /// Verified in the bucket and committed; the local copy is still to be removed.
    Verified,
}

/// A recording due for (the next step of) its upload.
#[derive(Debug, Clone)]
pub struct DueUpload {
    pub file_id: String,
    pub rel_path: String,
    pub poster: Option<String>,
    pub state: UploadState,
    pub attempts: i64,
    /// The recording was deleted before it was uploaded.
    pub deleted: bool,
}

impl Index {
    /// Uploads due at `now_ms`, soonest first.
    pub async fn due_uploads(&self, now_ms: i64, limit: i64) -> Result<Vec<DueUpload>, IndexError> {
        let rows = sqlx::query(
            "SELECT u.file_id, u.state, u.attempts, r.rel_path, r.poster,
                    CASE WHEN r.deleted_ms IS NULL THEN 0 ELSE 1 END AS deleted
             FROM uploads u JOIN recordings r ON r.file_id = u.file_id
             WHERE u.node = $3 AND u.state IN ('pending', 'verified') AND u.next_attempt_ms <= $1
             ORDER BY u.next_attempt_ms, u.file_id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .bind(self.node())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| DueUpload {
                file_id: r.get("file_id"),
                rel_path: r.get("rel_path"),
                poster: r.get("poster"),
                state: if r.get::<&str, _>("state") == "verified" {
                    UploadState::Verified
                } else {
                    UploadState::Pending
                },
                attempts: r.get("attempts"),
                deleted: r.get::<i64, _>("deleted") != 0,
            })
            .collect())
    }

    /// When the next upload is due, if any.
    pub async fn next_upload_due_ms(&self) -> Result<Option<i64>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_ms) FROM uploads
             WHERE node = $1 AND state IN ('pending', 'verified')",
        )
        .bind(self.node())
        .fetch_one(self.pool())
        .await?)
    }

    /// An attempt failed: the next one is due at `next_attempt_ms`.
    pub async fn upload_failed(
        &self,
        file_id: &str,
        attempts: i64,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), IndexError> {
        sqlx::query(
            "UPDATE uploads SET attempts = $2, next_attempt_ms = $3, last_error = $4
             WHERE file_id = $1",
        )
        .bind(file_id)
        .bind(attempts)
        .bind(next_attempt_ms)
        .bind(error)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The bucket holds a verified copy of every file of the recording. In one transaction:
    /// the row says so, and its held callback is released (due now, its day of retries
    /// starting now) with `links` (`video_url`, `thumbnail_url`) pointing at the bucket.
    /// Returns false, changing nothing, when the recording was deleted meanwhile.
    pub async fn upload_verified(
        &self,
        file_id: &str,
        links: (String, Option<String>),
        now_ms: i64,
    ) -> Result<bool, IndexError> {
        let mut tx = self.stamping().await?;
        let marked = sqlx::query(concat!(
            "UPDATE recordings SET stored = 'bucket', updated_ms = ",
            next_stamp!(2),
            " WHERE file_id = $1 AND deleted_ms IS NULL"
        ))
        .bind(file_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE uploads SET state = 'verified', last_error = NULL, next_attempt_ms = $2
             WHERE file_id = $1",
        )
        .bind(file_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let held =
            sqlx::query("SELECT id, body FROM callbacks WHERE file_id = $1 AND state = 'held'")
                .bind(file_id)
                .fetch_all(&mut *tx)
                .await?;
        for row in held {
            let mut body: serde_json::Value =
                serde_json::from_str(row.get::<&str, _>("body")).unwrap_or_default();
            crate::callback::set_links(&mut body, links.clone());
            sqlx::query(
                "UPDATE callbacks SET body = $2, state = 'pending', next_attempt_ms = $3,
                    created_ms = $3
                 WHERE id = $1",
            )
            .bind(row.get::<i64, _>("id"))
            .bind(body.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The upload is over: `done` (local copy removed) or `dropped` (the recording was
    /// deleted first; its held callback goes out as it was, like a local file's).
    pub async fn upload_ended(
        &self,
        file_id: &str,
        dropped: bool,
        now_ms: i64,
    ) -> Result<(), IndexError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE uploads SET state = $2, done_ms = $3 WHERE file_id = $1")
            .bind(file_id)
            .bind(if dropped { "dropped" } else { "done" })
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE callbacks SET state = 'pending', next_attempt_ms = $2, created_ms = $2
             WHERE file_id = $1 AND state = 'held'",
        )
        .bind(file_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the recording's upload up again (a deleted recording's objects still to remove).
    pub async fn retry_upload(&self, file_id: &str, now_ms: i64) -> Result<(), IndexError> {
        sqlx::query(
            "UPDATE uploads SET state = 'pending', next_attempt_ms = $2 WHERE file_id = $1",
        )
        .bind(file_id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// With no bucket configured any more: the uploads not yet verified end (their files are
    /// still on disk, where `/vod` serves them) and their held callbacks go out as they are,
    /// linked to `/vod`. Returns how many recordings the bucket holds that can no longer be
    /// served.
    pub async fn forget_bucket(&self, now_ms: i64) -> Result<i64, IndexError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE uploads SET state = 'dropped', done_ms = $1 WHERE node = $2
             AND state = 'pending'
             AND file_id IN (SELECT file_id FROM recordings WHERE stored IS NULL)",
        )
        .bind(now_ms)
        .bind(self.node())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE callbacks SET state = 'pending', next_attempt_ms = $1, created_ms = $1
             WHERE node = $2 AND state = 'held'",
        )
        .bind(now_ms)
        .bind(self.node())
        .execute(&mut *tx)
        .await?;
        let stranded = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recordings WHERE stored IS NOT NULL AND deleted_ms IS NULL",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stranded)
    }

    /// Recordings waiting for the bucket (not yet verified there).
    pub async fn uploads_pending(&self) -> Result<i64, IndexError> {
        Ok(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM uploads WHERE node = $1 AND state = 'pending'",
            )
            .bind(self.node())
            .fetch_one(self.pool())
            .await?,
        )
    }
}
