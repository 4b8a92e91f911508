//! Opening the cache: create and migrate it, and move an unusable file aside (corrupt, not a
//! database, or written by a newer Tally) so it is rebuilt from the server instead of lost.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{CacheError, RecordingCache};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How opening went: `moved_aside` is set when an unusable file was renamed and a fresh cache
/// started, with the reason to show the user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OpenReport {
    pub moved_aside: Option<(PathBuf, String)>,
}

impl RecordingCache {
    /// Opens (or creates) the cache at `path`.
    pub async fn open(path: &Path) -> Result<(RecordingCache, OpenReport), CacheError> {
        match try_open(path).await {
            Ok(pool) => Ok((RecordingCache { pool }, OpenReport::default())),
            Err(reason) => {
                let aside = move_aside(path).map_err(CacheError::MoveAside)?;
                tracing::warn!(cache = %path.display(), moved_to = %aside.display(), %reason,
                    "the recordings cache was unusable; starting a fresh one");
                let pool = try_open(path).await.map_err(|e| e.into_error(path))?;
                let report = OpenReport {
                    moved_aside: Some((aside, reason.to_string())),
                };
                Ok((RecordingCache { pool }, report))
            }
        }
    }
}

/// Why an existing file cannot be used.
#[derive(Debug)]
enum Unusable {
    Broken(sqlx::Error),
    Newer { found: i64, known: i64 },
    Migrate(sqlx::migrate::MigrateError),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Broken(e) => write!(f, "the file is damaged or not a database ({e})"),
            Unusable::Newer { found, known } => write!(
                f,
                "it was written by a newer Tally (schema {found}, this one knows up to {known})"
            ),
            Unusable::Migrate(e) => write!(f, "its schema could not be upgraded ({e})"),
        }
    }
}

impl Unusable {
    fn into_error(self, path: &Path) -> CacheError {
        match self {
            Unusable::Broken(source) => CacheError::Database {
                path: path.display().to_string(),
                source,
            },
            Unusable::Migrate(e) => CacheError::Migrate(e),
            Unusable::Newer { .. } => CacheError::Database {
                path: path.display().to_string(),
                source: sqlx::Error::Protocol(self.to_string()),
            },
        }
    }
}

async fn try_open(path: &Path) -> Result<SqlitePool, Unusable> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(Unusable::Broken)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        // An idle console keeps no cache connection, nor its worker thread, open.
        .idle_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(Unusable::Broken)?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&pool)
        .await
        .map_err(Unusable::Broken)?;
    if check != "ok" {
        pool.close().await;
        return Err(Unusable::Broken(sqlx::Error::Protocol(check)));
    }
    let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap_or(None); // no table yet: a new cache
    if let Some(found) = found.filter(|f| *f > known) {
        pool.close().await;
        return Err(Unusable::Newer { found, known });
    }
    if let Err(e) = MIGRATOR.run(&pool).await {
        pool.close().await;
        return Err(Unusable::Migrate(e));
    }
    Ok(pool)
}

/// Renames the file (and its WAL/SHM companions) to `<name>.unusable-<unix s>`.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = path.with_extension(format!("db.unusable-{stamp}"));
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", path.display()));
        if companion.exists() {
            let _ = std::fs::rename(&companion, format!("{}{suffix}", aside.display()));
        }
    }
    Ok(aside)
}
