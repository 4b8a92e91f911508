//! Opening the index: SQLite in the data dir (the embedded default, a damaged file moved aside
//! and rebuilt), or a PostgreSQL database shared by several nodes (`--index postgres://…`).
//! Both are reached through sqlx's `Any` driver, so every query is written once.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Executor};

use super::{Backend, Index, IndexError};

/// How long an unused connection stays open.
const IDLE_CONNECTION: Duration = Duration::from_secs(10);

/// How long a PostgreSQL connection is waited for before the open (or a query) fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How an index was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The existing database (or a new one where there was none).
    Intact,
    /// The database was damaged and moved to this path; a fresh one took its place, to be
    /// filled from the files on disk.
    Rebuilt(PathBuf),
}

/// Whether `url` names a PostgreSQL index (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("postgres" | "postgresql"))
}

/// `url` with its password replaced, for logs and errors.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

impl IndexError {
    /// SQLite says the database file is damaged or is not a database at all.
    fn is_corruption(&self) -> bool {
        match self {
            IndexError::Damaged(_) => true,
            IndexError::Db(sqlx::Error::Database(e))
            | IndexError::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(e))) => {
                is_corrupt_code(e.code().as_deref())
            }
            _ => false,
        }
    }
}

/// SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with or without extended bits.
fn is_corrupt_code(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 11 | 26))
}

impl Index {
    /// Opens (creating and migrating) the SQLite index `<data>/index.db`. See [`Index::open_at`].
    pub async fn open(data_dir: &Path, now_ms: i64) -> Result<(Index, Opened), IndexError> {
        Self::open_at(data_dir, None, now_ms).await
    }

    /// Opens the index at `url` (a `postgres://` URL), or without one `<data>/index.db`,
    /// creating and migrating it.
    ///
    /// A damaged SQLite database is moved aside (`index.db.damaged-<ms>`, with its `-wal` and
    /// `-shm`) and a fresh one created: the caller rebuilds it from the manifests on disk. A
    /// busy or locked one is not damaged and is an error like any other. PostgreSQL keeps its
    /// own data safe; an unreachable server is an error.
    pub async fn open_at(
        data_dir: &Path,
        url: Option<&str>,
        now_ms: i64,
    ) -> Result<(Index, Opened), IndexError> {
        sqlx::any::install_default_drivers();
        if let Some(url) = url {
            return Ok((Self::open_postgres(url).await?, Opened::Intact));
        }
        std::fs::create_dir_all(data_dir).map_err(sqlx::Error::Io)?;
        let path = data_dir.join("index.db");
        match Self::open_sqlite(&path).await {
            Ok(index) => Ok((index, Opened::Intact)),
            Err(e) if e.is_corruption() => {
                let aside = data_dir.join(format!("index.db.damaged-{now_ms}"));
                for suffix in ["", "-wal", "-shm"] {
                    let from = data_dir.join(format!("index.db{suffix}"));
                    let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                    match std::fs::rename(&from, &to) {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                            return Err(IndexError::MoveAside(from, err))
                        }
                        _ => {}
                    }
                }
                tracing::error!(error = %e, moved_to = %aside.display(), "the index database is damaged: moved aside; rebuilding it from the recordings on disk");
                Ok((Self::open_sqlite(&path).await?, Opened::Rebuilt(aside)))
            }
            Err(e) => Err(e),
        }
    }

    /// Checks and migrates `path` through a SQLite pool of its own (the integrity check and
    /// WAL are SQLite's), then opens the pool the queries use.
    async fn open_sqlite(path: &Path) -> Result<Index, IndexError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The outbox row must survive a crash once the file's callback is promised.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let setup = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check(1)")
            .fetch_one(&setup)
            .await?;
        if check != "ok" {
            setup.close().await;
            return Err(IndexError::Damaged(check));
        }
        let migrated = SQLITE_MIGRATOR.run(&setup).await;
        setup.close().await;
        migrated?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            // An idle server (or console) keeps no SQLite connection, nor its worker thread and
            // page cache, open; reopening one costs well under a millisecond.
            .idle_timeout(IDLE_CONNECTION)
            // WAL is a property of the file (set above); these two are per connection.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")
                        .await?;
                    Ok(())
                })
            })
            .connect(options.to_url_lossy().as_str())
            .await?;
        Ok(Index {
            pool,
            backend: Backend::Sqlite,
            node: "".into(),
        })
    }

    async fn open_postgres(url: &str) -> Result<Index, IndexError> {
        let unreachable = |e: sqlx::Error| IndexError::Unreachable(redacted(url), e);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .idle_timeout(IDLE_CONNECTION)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await
            .map_err(unreachable)?;
        // Nodes may start at once: sqlx's migrator takes an advisory lock first.
        POSTGRES_MIGRATOR.run(&pool).await?;
        // The node is chosen when it joins (`cluster.rs`).
        Ok(Index {
            pool,
            backend: Backend::Postgres,
            node: "".into(),
        })
    }
}
