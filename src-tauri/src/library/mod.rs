//! The recordings library's commands: thin wrappers over `tally-client`'s cache, sync,
//! downloads and export.

pub mod detail;
pub mod downloads;
pub mod export;
pub mod sync;

use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::cache::{CacheError, LibraryStatus, OpenReport, Page, SearchQuery};
use tally_client::http::TallyClient;
use tally_client::RecordingCache;

use crate::live::Console;

/// The open cache and how opening went (shown once in the library).
pub struct Library {
    pub cache: RecordingCache,
    pub opened: OpenReport,
    /// Shared by downloads, so connections to the server are reused.
    pub http: reqwest::Client,
}

impl Library {
    /// Opens the cache in the app's data dir.
    pub async fn open(data_dir: &std::path::Path) -> Result<Library, CacheError> {
        std::fs::create_dir_all(data_dir).map_err(CacheError::MoveAside)?;
        let (cache, opened) = RecordingCache::open(&data_dir.join("recordings-cache.db")).await?;
        Ok(Library {
            cache,
            opened,
            http: tally_client::http::http_client(),
        })
    }
}

/// The client of the server a cached row came from: the current connection (with its token)
/// when it is that server, else a plain client of the row's server.
async fn row_server(
    library: &Library,
    console: &Console,
    server_id: i64,
    lang: Lang,
) -> Result<TallyClient, ApiError> {
    let url = library
        .cache
        .server_url(server_id)
        .await
        .map_err(|e| to_api_error(e, lang))?
        .ok_or_else(|| {
            ApiError::with_detail(ErrorCode::RecordingNotFound, lang, "unknown server")
        })?;
    // The token goes only to the server it belongs to.
    let client = [console.client(), console.embedded().client]
        .into_iter()
        .find(|c| c.base_url() == url)
        .unwrap_or_else(|| TallyClient::new(&url, None));
    Ok(client.with_lang(lang))
}

/// A failed library command as the UI shows it, logged with its cause.
fn failure(code: ErrorCode, lang: Lang, err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%err, "library command failed");
    ApiError::with_detail(code, lang, &err.to_string())
}

fn to_api_error(err: CacheError, lang: Lang) -> ApiError {
    let code = match err {
        CacheError::BadCursor(_) => ErrorCode::BadParameter,
        _ => ErrorCode::Internal,
    };
    failure(code, lang, err)
}

/// One page of cached recordings.
#[tauri::command]
pub async fn search_recordings(
    library: tauri::State<'_, Library>,
    query: SearchQuery,
    lang: Lang,
) -> Result<Page, ApiError> {
    library
        .cache
        .search(&query)
        .await
        .map_err(|e| to_api_error(e, lang))
}

/// Row count, last sync, and whether the cache was rebuilt.
#[tauri::command]
pub async fn library_status(
    library: tauri::State<'_, Library>,
    lang: Lang,
) -> Result<LibraryStatus, ApiError> {
    library
        .cache
        .status(&library.opened)
        .await
        .map_err(|e| to_api_error(e, lang))
}
