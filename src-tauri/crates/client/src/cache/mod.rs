//! The local cache of recordings: a SQLite database (WAL) in the app's data dir, holding every
//! field of the server's recording rows, the server each came from, and the local download state.
//! Search is served from here, so the library works offline.

mod download_state;
mod open;
mod rows;
pub mod search;
mod sync_state;

pub use download_state::DownloadState;
pub use open::OpenReport;
pub use rows::CachedRecording;
pub use search::{Page, SearchQuery, Sort, SHORT_QUERY_SCAN_ROWS};

use sqlx::SqlitePool;

/// What can go wrong with the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache database {path}: {source}")]
    Database {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cache migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cache query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("moving the unusable cache aside failed: {0}")]
    MoveAside(#[source] std::io::Error),
    #[error("bad page cursor {0:?}")]
    BadCursor(String),
}

/// The open cache.
#[derive(Clone, Debug)]
pub struct RecordingCache {
    pool: SqlitePool,
}

impl RecordingCache {
    /// The pool, for the sync and download modules of this crate.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The local id of `url`'s server, registering it on first use.
    pub async fn server_id(&self, url: &str) -> Result<i64, CacheError> {
        let id = sqlx::query_scalar(
            "INSERT INTO servers (url) VALUES (?1) ON CONFLICT (url) DO UPDATE SET url = url
             RETURNING id",
        )
        .bind(url)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The URL of the server with local id `server_id`.
    pub async fn server_url(&self, server_id: i64) -> Result<Option<String>, CacheError> {
        let url = sqlx::query_scalar("SELECT url FROM servers WHERE id = ?1")
            .bind(server_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(url)
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// What the library shows about its cache.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct LibraryStatus {
    /// Rows in the cache.
    pub rows: i64,
    /// When any server was last synced completely (unix ms).
    pub last_synced_ms: Option<i64>,
    /// Set when an unusable cache file was moved aside at start: where it went and why.
    pub moved_aside: Option<String>,
}

impl RecordingCache {
    /// The library's status line, given how opening went.
    pub async fn status(&self, opened: &OpenReport) -> Result<LibraryStatus, CacheError> {
        let last_synced_ms = sqlx::query_scalar("SELECT MAX(last_sync_ms) FROM servers")
            .fetch_one(&self.pool)
            .await?;
        Ok(LibraryStatus {
            rows: self.count().await?,
            last_synced_ms,
            moved_aside: opened
                .moved_aside
                .as_ref()
                .map(|(path, why)| format!("{} ({why})", path.display())),
        })
    }
}
