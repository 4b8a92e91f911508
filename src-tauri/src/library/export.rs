//! Exporting the library's current result set as CSV into the downloads folder.

use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::cache::SearchQuery;
use tally_client::export::export_csv;

use super::downloads::downloads_dir;
use super::{failure, Library};

/// Writes every row matching `query` to `recordings-<unix s>.csv` and returns the file's path.
#[tauri::command]
pub async fn export_recordings(
    app: tauri::AppHandle,
    library: tauri::State<'_, Library>,
    query: SearchQuery,
    lang: Lang,
) -> Result<String, ApiError> {
    let dir = downloads_dir(&app).map_err(|e| failure(ErrorCode::SaveFailed, lang, e))?;
    std::fs::create_dir_all(&dir).map_err(|e| failure(ErrorCode::SaveFailed, lang, e))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("recordings-{stamp}.csv"));
    export_csv(&library.cache, &query, &path)
        .await
        .map_err(|e| failure(ErrorCode::SaveFailed, lang, e))?;
    Ok(path.display().to_string())
}
