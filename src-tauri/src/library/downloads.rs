//! Downloads started from the library: into the user's Downloads folder (the app's data dir
//! when there is none), progress streamed over a `Channel`, several at once (each command call
//! is its own task).

use std::path::PathBuf;

use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::download::DownloadError;
use tally_client::recording_download::{download_recording as save, DownloadProgress, SaveError};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};

use super::{failure, row_server, Library};
use crate::live::Console;

/// Where downloads (and exports) go.
pub fn downloads_dir(app: &AppHandle) -> Result<PathBuf, tauri::Error> {
    app.path()
        .download_dir()
        .or_else(|_| Ok(app.path().app_data_dir()?.join("downloads")))
}

/// Downloads a recording from the server it came from, resuming a partial file; returns the
/// saved file's path.
#[tauri::command]
pub async fn download_recording(
    app: AppHandle,
    library: tauri::State<'_, Library>,
    console: tauri::State<'_, Console>,
    server_id: i64,
    file_id: String,
    on_progress: Channel<DownloadProgress>,
    lang: Lang,
) -> Result<String, ApiError> {
    let dir = downloads_dir(&app).map_err(|e| failure(ErrorCode::SaveFailed, lang, e))?;
    let server = row_server(&library, &console, server_id, lang)
        .await?
        .server_ref();
    let path = save(
        &library.http,
        &library.cache,
        &server,
        &file_id,
        &dir,
        |p| {
            // A closed window stops listening; the download itself goes on.
            let _ = on_progress.send(p);
        },
    )
    .await
    .map_err(|e| failure(error_code(&e), lang, e))?;
    Ok(path.display().to_string())
}

/// The code the UI shows for a failed download.
fn error_code(err: &SaveError) -> ErrorCode {
    match err {
        SaveError::NotCached(_) => ErrorCode::RecordingNotFound,
        SaveError::Download(DownloadError::Status { status, .. })
            if *status == reqwest::StatusCode::NOT_FOUND =>
        {
            ErrorCode::RecordingNotFound
        }
        SaveError::Download(DownloadError::Http { .. } | DownloadError::Status { .. }) => {
            ErrorCode::ServerUnreachable
        }
        // An unreadable HLS playlist is a damaged download too: try again, or the file is bad.
        SaveError::Download(
            DownloadError::SizeMismatch { .. } | DownloadError::Playlist { .. },
        ) => ErrorCode::DownloadSizeMismatch,
        SaveError::Download(DownloadError::Io { .. }) => ErrorCode::SaveFailed,
        SaveError::Cache(_) => ErrorCode::Internal,
    }
}
