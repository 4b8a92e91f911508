//! The index of recorded files and the callback outbox, in SQLite (WAL) or PostgreSQL. Every
//! query is written once, in SQL both take (`$N` parameters, 0/1 flags), and binds its values;
//! only fixed column names are ever formatted into SQL.

use std::fmt::Write as _;
use std::sync::LazyLock;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::AnyPool;
use sqlx::{Any, Arguments, FromRow, Row};
use tally_api::recording_row::{numbered_params, Columns};
use tally_api::recordings::{CallbackAttempt, CallbackState, FileFormat, Recording};

/// Index failures.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("index database {0} cannot be reached: {1}")]
    Unreachable(String, #[source] sqlx::Error),
    #[error("index migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("bad cursor {0:?}")]
    BadCursor(String),
    #[error("index database is damaged: {0}")]
    Damaged(String),
    #[error("moving the damaged index {0} aside: {1}")]
    MoveAside(std::path::PathBuf, #[source] std::io::Error),
}

/// A file to index with the callback to queue for it (if callbacks are configured).
pub struct NewFile {
    pub recording: Recording,
    pub app: String,
    pub rel_path: String,
    /// Its poster, relative to the data dir.
    pub poster: Option<String>,
    pub stream_param: String,
    pub callback_body: Option<serde_json::Value>,
    /// Queue it for the bucket; its callback is held until the upload is verified.
    pub upload: bool,
    /// Its files are in the bucket already (a lost index rebuilt from the bucket's manifests).
    pub in_bucket: bool,
}

/// A callback due for delivery.
#[derive(Debug, Clone)]
pub struct DueCallback {
    pub id: i64,
    pub event_type: i64,
    pub body: serde_json::Value,
    pub attempts: i64,
    pub created_ms: i64,
}

/// Filters of `GET /v1/recordings`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordingQuery {
    /// Prefix of `<stream_code>_<record_id>`.
    pub prefix: Option<String>,
    pub room_id: Option<String>,
    pub user_id: Option<String>,
    pub file_name: Option<String>,
    /// `flv`, `hls` or `mp4` (any other value is a bad parameter).
    pub format: Option<FileFormat>,
    /// Start time range, unix ms.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only rows changed at or after this (unix ms): incremental sync.
    pub updated_since: Option<i64>,
    /// `next_cursor` of the page before.
    #[param(pattern = "^-?[0-9]{1,18}_")]
    pub cursor: Option<String>,
    /// Rows per page, 1–1000 (default 100; beyond the range it is clamped).
    #[param(format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub limit: Option<u32>,
}

/// The index.
#[derive(Clone, Debug)]
pub struct Index {
    pool: AnyPool,
    backend: Backend,
    /// The node whose files, callbacks and uploads this handle works on ('' on SQLite, where
    /// there is only one); see `cluster.rs`.
    node: std::sync::Arc<str>,
}

/// The database behind the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The `updated_ms` a write gives a row (`$N` is the clock's time): past every row's current
/// one, so a change always sorts after the cursor of any sync page read before it committed.
/// A stamp taken from the clock alone can land behind one: a callback delivery stamped when
/// it started and committed seconds later, after a sync had moved past newer rows, would never
/// sync. Stamping writes run one at a time (SQLite has one writer; on PostgreSQL they take
/// [`STAMP_LOCK`] first, see [`Index::stamping`]), so the stamps only grow.
macro_rules! next_stamp {
    ($n:literal) => {
        concat!(
            "(SELECT CASE WHEN COALESCE(MAX(updated_ms), 0) + 1 > $",
            $n,
            " THEN COALESCE(MAX(updated_ms), 0) + 1 ELSE $",
            $n,
            " END FROM recordings)"
        )
    };
}

/// The PostgreSQL advisory lock key that orders stamping writes (ASCII "TALLYSTA").
const STAMP_LOCK: i64 = 0x5441_4C4C_5953_5441;

mod nodes;
mod open;
/// The upload queue's queries (below `next_stamp!`, which they use).
mod uploads;
pub use nodes::NodeRow;
pub use open::{is_postgres_url, redacted, Opened};
pub use uploads::{DueUpload, UploadState};

/// What a SELECT names to build an [`IndexedFile`]: the recording's kept columns, its derived
/// ones as this index works them out (links are made per request, see `urls.rs`), and where
/// its files are.
fn columns() -> &'static str {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{}, updated_ms, '' AS url, NULL AS thumbnail_url,
             CASE WHEN deleted_ms IS NULL THEN 0 ELSE 1 END AS deleted,
             CASE WHEN missing_ms IS NULL THEN 0 ELSE 1 END AS missing,
             rel_path, poster, stored, node, home_url",
            Recording::KEPT_COLUMNS
        )
    });
    &COLUMNS
}

/// Inserts a new file's row: `$1`–`$7` are its app, path, stream parameters, poster, node,
/// where it is stored (`bucket`, or NULL: on the node's disk) and the time; the recording's
/// kept columns follow.
fn insert_file_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO recordings (app, rel_path, stream_param, poster, node, stored,
                updated_ms, {})
             VALUES ($1, $2, $3, $4, $5, $6, {}, {}) ON CONFLICT DO NOTHING",
            Recording::KEPT_COLUMNS,
            next_stamp!(7),
            numbered_params(8, Recording::KEPT_COUNT)
        )
    });
    &SQL
}

/// Recordings with `home_url`: the base URL of the node whose disk holds the files.
const WITH_HOME: &str =
    "recordings LEFT JOIN (SELECT node_id, base_url AS home_url FROM nodes) AS homes \
     ON homes.node_id = recordings.node";

impl Index {
    /// The pool, for the other tables of the same database (rooms).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The node this handle works for.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// This index, working for `node`: the files it indexes are on that node's disk, and its
    /// reconcile, outbox and upload queue take that node's rows.
    pub fn as_node(&self, node: &str) -> Index {
        Index {
            node: node.into(),
            ..self.clone()
        }
    }

    /// A transaction for writes that stamp `updated_ms` (`next_stamp!`). On PostgreSQL it
    /// first takes [`STAMP_LOCK`] (released at commit, after the commit is visible), so two
    /// such writes, from this node or another, never take stamps out of commit order.
    async fn stamping(&self) -> Result<sqlx::Transaction<'static, Any>, IndexError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(STAMP_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// The file id of the file stored at `rel_path`, once indexed.
    pub async fn file_id_at(&self, rel_path: &str) -> Result<Option<String>, IndexError> {
        Ok(
            sqlx::query_scalar("SELECT file_id FROM recordings WHERE rel_path = $1")
                .bind(rel_path)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Indexes a durable file and queues its callback, in one transaction. A file already
    /// indexed (same path) is left as it is; returns whether it was new. A row that takes
    /// neither (its `file_id` belongs to another path) is not inserted either: see
    /// [`Index::file_id_at`].
    pub async fn insert_file(&self, file: &NewFile, now_ms: i64) -> Result<bool, IndexError> {
        Ok(self
            .insert_files(std::slice::from_ref(file), now_ms)
            .await?
            == 1)
    }

    /// [`Index::insert_file`] for several files, all in one transaction; returns how many
    /// were new.
    pub async fn insert_files(&self, files: &[NewFile], now_ms: i64) -> Result<usize, IndexError> {
        let mut tx = self.stamping().await?;
        let mut new = 0;
        for file in files {
            if self.insert_in(&mut tx, file, now_ms).await? {
                new += 1;
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn insert_in(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        file: &NewFile,
        now_ms: i64,
    ) -> Result<bool, IndexError> {
        let r = &file.recording;
        let insert = sqlx::query(sqlx::AssertSqlSafe(insert_file_sql()))
            .bind(&file.app)
            .bind(&file.rel_path)
            .bind(&file.stream_param)
            .bind(&file.poster)
            .bind(self.node())
            .bind(file.in_bucket.then_some("bucket"))
            .bind(now_ms);
        let inserted = r
            .bind_columns(insert, Columns::Kept)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1;
        if inserted {
            if let Some(body) = &file.callback_body {
                let state = if file.upload { "held" } else { "pending" };
                let callback = (self.node(), Some(r.file_id.as_str()), 100);
                enqueue_in(tx, callback, body, state, now_ms).await?;
            }
            if file.upload {
                sqlx::query(
                    "INSERT INTO uploads (file_id, state, next_attempt_ms, created_ms, node)
                     VALUES ($1, 'pending', $2, $2, $3)",
                )
                .bind(&r.file_id)
                .bind(now_ms)
                .bind(self.node())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(inserted)
    }

    /// Whether any row, deleted or not, ever had its files in the bucket.
    pub async fn any_in_bucket(&self) -> Result<bool, IndexError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM recordings WHERE stored IS NOT NULL LIMIT 1) AS one",
        )
        .fetch_one(&self.pool)
        .await?
            > 0)
    }

    /// The path of every row, of any node, deleted or not.
    pub async fn all_rel_paths(&self) -> Result<Vec<String>, IndexError> {
        Ok(sqlx::query_scalar("SELECT rel_path FROM recordings")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Queues a callback that belongs to no file (stream start / end).
    pub async fn enqueue(
        &self,
        event_type: i64,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<(), IndexError> {
        let mut tx = self.pool.begin().await?;
        enqueue_in(
            &mut tx,
            (self.node(), None, event_type),
            body,
            "pending",
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One recording.
    pub async fn get(&self, file_id: &str) -> Result<Option<IndexedFile>, IndexError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {WITH_HOME} WHERE file_id = $1",
            columns()
        )))
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| IndexedFile::from_row(&r)).transpose()
    }

    /// A page of recordings matching `q`, oldest first (stable for paging and sync).
    pub async fn list(
        &self,
        q: &RecordingQuery,
    ) -> Result<(Vec<IndexedFile>, Option<String>), IndexError> {
        let limit = i64::from(q.limit.unwrap_or(100).clamp(1, 1000));
        // Sync pages by update time; plain queries by start time.
        let key = if q.updated_since.is_some() {
            "updated_ms"
        } else {
            "start_ms"
        };
        let mut sql = Filtered::new(format!("SELECT {} FROM {WITH_HOME} WHERE 1 = 1", columns()));
        if let Some(prefix) = &q.prefix {
            sql.push(" AND prefix_key >= ")
                .bind(prefix.clone())
                .push(" AND prefix_key < ")
                .bind(format!("{prefix}\u{10FFFF}"));
        }
        for (col, value) in [
            ("room_id", &q.room_id),
            ("user_id", &q.user_id),
            ("file_name", &q.file_name),
        ] {
            if let Some(value) = value {
                sql.push(&format!(" AND {col} = ")).bind(value.clone());
            }
        }
        if let Some(format) = q.format {
            sql.push(" AND format = ").bind(format.as_str().to_owned());
        }
        if let Some(from) = q.from {
            sql.push(" AND start_ms >= ").bind(from);
        }
        if let Some(to) = q.to {
            sql.push(" AND start_ms <= ").bind(to);
        }
        match q.updated_since {
            Some(since) => {
                sql.push(" AND updated_ms >= ").bind(since);
            }
            // Tombstones are for syncing clients only.
            None => {
                sql.push(" AND deleted_ms IS NULL");
            }
        }
        if let Some(cursor) = &q.cursor {
            let (value, file_id) = cursor
                .split_once('_')
                .and_then(|(v, f)| Some((v.parse::<i64>().ok()?, f.to_owned())))
                .ok_or_else(|| IndexError::BadCursor(cursor.clone()))?;
            sql.push(&format!(" AND ({key}, file_id) > ("))
                .bind(value)
                .push(", ")
                .bind(file_id)
                .push(")");
        }
        sql.push(&format!(" ORDER BY {key}, file_id LIMIT "))
            .bind(limit + 1);
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql.sql), sql.args)
            .fetch_all(&self.pool)
            .await?;
        let mut files = rows
            .iter()
            .map(IndexedFile::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if files.len() as i64 > limit {
            files.truncate(limit as usize);
            files.last().map(|f| {
                let value = if key == "updated_ms" {
                    f.recording.updated_ms
                } else {
                    f.recording.start_ms
                };
                format!("{value}_{}", f.recording.file_id)
            })
        } else {
            None
        };
        Ok((files, next))
    }

    /// Marks a recording deleted (a tombstone that syncs) and returns where its files are (its
    /// path, and whether that is in the bucket); `None` when there is no such recording or it
    /// was deleted already.
    pub async fn mark_deleted(
        &self,
        file_id: &str,
        now_ms: i64,
    ) -> Result<Option<(String, bool)>, IndexError> {
        let mut tx = self.stamping().await?;
        let marked: Option<(String, i64)> = sqlx::query_as(concat!(
            "UPDATE recordings SET deleted_ms = $2, updated_ms = ",
            next_stamp!(2),
            " WHERE file_id = $1 AND deleted_ms IS NULL
             RETURNING rel_path, CASE WHEN stored IS NULL THEN 0 ELSE 1 END"
        ))
        .bind(file_id)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(marked.map(|(rel_path, in_bucket)| (rel_path, in_bucket != 0)))
    }

    /// Recordings not deleted that started before `ms` (retention by age), of those this node
    /// can remove: in the bucket, or on its disk (another node's disk is its own to clear).
    pub async fn started_before(&self, ms: i64) -> Result<Vec<String>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT file_id FROM recordings WHERE start_ms < $1 AND deleted_ms IS NULL
             AND (stored IS NOT NULL OR node = $2)",
        )
        .bind(ms)
        .bind(self.node())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The oldest recordings not deleted beyond the newest `max_bytes` of them (retention by
    /// size): newest first, every one past the running total's limit, of those this node can
    /// remove (see [`Index::started_before`]).
    pub async fn oldest_beyond(&self, max_bytes: i64) -> Result<Vec<String>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT file_id FROM (
                SELECT file_id, stored, node,
                       SUM(size) OVER (ORDER BY start_ms DESC, file_id DESC) AS newer_bytes
                FROM recordings WHERE deleted_ms IS NULL) AS running
             WHERE newer_bytes > $1 AND (stored IS NOT NULL OR node = $2)",
        )
        .bind(max_bytes)
        .bind(self.node())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The poster of `file_id` when no other recording not deleted shows it (the formats of a
    /// segment share one), so that removing the recording may remove the poster too. With
    /// `on_disk`, only recordings still on this server's disk count (for the local copy).
    pub async fn unshared_poster(
        &self,
        file_id: &str,
        on_disk: bool,
    ) -> Result<Option<String>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT r.poster FROM recordings r WHERE r.file_id = $1 AND r.poster IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM recordings o WHERE o.poster = r.poster
                 AND o.file_id != r.file_id AND o.deleted_ms IS NULL
                 AND (NOT $2 OR (o.stored IS NULL AND o.node = $3)))",
        )
        .bind(file_id)
        .bind(on_disk)
        .bind(self.node())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The path of every row of this node, deleted ones too (startup reconcile).
    pub async fn rel_paths(&self) -> Result<Vec<String>, IndexError> {
        Ok(
            sqlx::query_scalar("SELECT rel_path FROM recordings WHERE node = $1")
                .bind(self.node())
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// `(file_id, rel_path, missing)` of every row not deleted whose files are on this
    /// server's disk, not in the bucket (startup reconcile).
    pub async fn live_files(&self) -> Result<Vec<(String, String, bool)>, IndexError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT file_id, rel_path, CASE WHEN missing_ms IS NULL THEN 0 ELSE 1 END
             FROM recordings WHERE deleted_ms IS NULL AND stored IS NULL AND node = $1",
        )
        .bind(self.node())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(file_id, rel_path, missing)| (file_id, rel_path, missing != 0))
            .collect())
    }

    /// `(file_id, rel_path)` of this node's deleted rows whose files were on its disk: a
    /// deletion made through another node could not remove them (startup reconcile does).
    pub async fn deleted_local_files(&self) -> Result<Vec<(String, String)>, IndexError> {
        Ok(sqlx::query_as(
            "SELECT file_id, rel_path FROM recordings
             WHERE deleted_ms IS NOT NULL AND stored IS NULL AND node = $1",
        )
        .bind(self.node())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a row's file as gone from disk (`missing`), or back.
    pub async fn set_missing(
        &self,
        file_id: &str,
        missing: bool,
        now_ms: i64,
    ) -> Result<(), IndexError> {
        let mut tx = self.stamping().await?;
        sqlx::query(concat!(
            "UPDATE recordings SET missing_ms = CASE WHEN $2 THEN $3 END, updated_ms = ",
            next_stamp!(3),
            " WHERE file_id = $1"
        ))
        .bind(file_id)
        .bind(missing)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The greatest numeric file id held, so new ids stay above it after a clock step.
    pub async fn max_file_id(&self) -> Result<u64, IndexError> {
        // Longest, then greatest: numeric order for digit strings, with no cast that fails
        // (PostgreSQL) or reads garbage (SQLite) on a row whose id is not a number.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT file_id FROM recordings ORDER BY LENGTH(file_id) DESC, file_id DESC LIMIT 64",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.iter().find_map(|id| id.parse().ok()).unwrap_or(0))
    }

    /// The file ids recorded by a channel-mode task, in recording order.
    pub async fn files_of_task(&self, task_id: &str) -> Result<Vec<String>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT file_id FROM recordings WHERE record_id = $1 ORDER BY start_ms, file_id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Files in the index and their bytes.
    pub async fn totals(&self) -> Result<(i64, i64), IndexError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM recordings
             WHERE deleted_ms IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Callbacks by outbox state (`pending`, `delivered`, `gave_up`).
    pub async fn callback_counts(&self) -> Result<Vec<(String, i64)>, IndexError> {
        Ok(
            sqlx::query_as("SELECT state, COUNT(*) FROM callbacks GROUP BY state")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Every file whose `[start_ms, end_ms)` overlaps `[from, to)`, for usage.
    pub async fn spans_overlapping(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<crate::usage::FileSpan>, IndexError> {
        let rows = sqlx::query(
            "SELECT stream_code, record_id, start_ms, end_ms, size FROM recordings
             WHERE start_ms < $2 AND end_ms > $1",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| crate::usage::FileSpan {
                channel: (r.get("stream_code"), r.get("record_id")),
                start_ms: r.get("start_ms"),
                end_ms: r.get("end_ms"),
                size: r.get("size"),
            })
            .collect())
    }

    /// Every attempt to deliver the callbacks of `file_id`, oldest first.
    pub async fn attempts(&self, file_id: &str) -> Result<Vec<CallbackAttempt>, IndexError> {
        let rows = sqlx::query(
            "SELECT c.event_type, a.attempt, a.at_ms, a.status, a.error, a.duration_ms
             FROM callback_attempts a JOIN callbacks c ON c.id = a.callback_id
             WHERE c.file_id = $1 ORDER BY a.id",
        )
        .bind(file_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| CallbackAttempt {
                event_type: r.get("event_type"),
                attempt: r.get("attempt"),
                at_ms: r.get("at_ms"),
                status: r.get("status"),
                error: r.get("error"),
                duration_ms: r.get("duration_ms"),
            })
            .collect())
    }

    /// Callbacks due at `now_ms`, soonest first.
    pub async fn due_callbacks(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<DueCallback>, IndexError> {
        let rows = sqlx::query(
            "SELECT id, event_type, body, attempts, created_ms FROM callbacks
             WHERE node = $3 AND state = 'pending' AND next_attempt_ms <= $1
             ORDER BY next_attempt_ms, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .bind(self.node())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DueCallback {
                id: r.get("id"),
                event_type: r.get("event_type"),
                body: serde_json::from_str(r.get::<&str, _>("body")).unwrap_or_default(),
                attempts: r.get("attempts"),
                created_ms: r.get("created_ms"),
            })
            .collect())
    }

    /// When the next pending callback is due, if any.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, IndexError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_ms) FROM callbacks WHERE node = $1 AND state = 'pending'",
        )
        .bind(self.node())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Stores one attempt and the callback's new state; a file's row follows its callback.
    /// An attempt that lost a race (another node recorded this attempt of the callback, or
    /// delivered it, meanwhile) changes nothing.
    pub async fn record_attempt(&self, outcome: &AttemptRecord) -> Result<(), IndexError> {
        let mut tx = self.stamping().await?;
        let updated: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE callbacks SET state = $2, attempts = $3, next_attempt_ms = $4
             WHERE id = $1 AND state = 'pending' AND attempts = $3 - 1
             RETURNING file_id",
        )
        .bind(outcome.callback_id)
        .bind(outcome.state.as_str())
        .bind(outcome.attempt)
        .bind(outcome.next_attempt_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(file_id) = updated else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO callback_attempts (callback_id, attempt, at_ms, status, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(outcome.callback_id)
        .bind(outcome.attempt)
        .bind(outcome.at_ms)
        .bind(outcome.status)
        .bind(&outcome.error)
        .bind(outcome.duration_ms)
        .execute(&mut *tx)
        .await?;
        if let (Some(file_id), true) = (file_id, outcome.state != CallbackState::Pending) {
            sqlx::query(concat!(
                "UPDATE recordings SET callback_state = $2, updated_ms = ",
                next_stamp!(3),
                " WHERE file_id = $1"
            ))
            .bind(file_id)
            .bind(outcome.state.as_str())
            .bind(outcome.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One attempt's result, as stored.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub callback_id: i64,
    pub attempt: i64,
    pub at_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// Pending (will retry), delivered or given up.
    pub state: CallbackState,
    pub next_attempt_ms: i64,
}

/// Queues a callback: `(node, file_id, event_type)`, the node being the one that sends it.
async fn enqueue_in(
    tx: &mut sqlx::Transaction<'_, Any>,
    (node, file_id, event_type): (&str, Option<&str>, i64),
    body: &serde_json::Value,
    state: &str,
    now_ms: i64,
) -> Result<(), IndexError> {
    sqlx::query(
        "INSERT INTO callbacks (file_id, event_type, body, state, next_attempt_ms, created_ms,
            node)
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(file_id)
    .bind(event_type)
    .bind(body.to_string())
    .bind(state)
    .bind(now_ms)
    .bind(node)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A row of the index: the API's view plus where the file lies.
#[derive(Debug, Clone)]
pub struct IndexedFile {
    pub recording: Recording,
    pub rel_path: String,
    /// Its poster, relative to the data dir.
    pub poster: Option<String>,
    /// Its files are in the bucket (uploaded and verified), no longer on this server's disk.
    pub in_bucket: bool,
    /// While its files are on a node's disk, not in the bucket: that node and its base URL
    /// (`None` on SQLite, where there is one node).
    pub home: Option<(String, String)>,
}

impl IndexedFile {
    fn from_row(r: &AnyRow) -> Result<IndexedFile, IndexError> {
        Ok(IndexedFile {
            recording: Recording::from_row(r)?,
            rel_path: r.try_get("rel_path")?,
            poster: r.try_get("poster")?,
            in_bucket: r.try_get::<Option<String>, _>("stored")?.is_some(),
            home: r
                .try_get::<Option<String>, _>("home_url")?
                .map(|url| Ok::<_, sqlx::Error>((r.try_get("node")?, url)))
                .transpose()?,
        })
    }
}

/// SQL built up with its arguments, each written as `$N` (sqlx's `QueryBuilder` writes `?` for
/// the `Any` driver, which PostgreSQL does not take).
struct Filtered {
    sql: String,
    args: AnyArguments,
}

impl Filtered {
    fn new(sql: String) -> Filtered {
        Filtered {
            sql,
            args: AnyArguments::default(),
        }
    }

    fn push(&mut self, sql: &str) -> &mut Filtered {
        self.sql.push_str(sql);
        self
    }

    fn bind<T>(&mut self, value: T) -> &mut Filtered
    where
        T: for<'q> sqlx::Encode<'q, Any> + sqlx::Type<Any>,
    {
        // Encoding a String or an i64 for `Any` only moves the value into a list.
        self.args.add(value).expect("String and i64 encode for Any");
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }
}
