//! The detail pane's actions: the callback attempts fetched live from the server, and opening a
//! recording (the downloaded file, else its URL) or revealing its file on disk. Opening happens
//! here, in Rust, with the row looked up by id, so the window needs no opener permission and
//! cannot open arbitrary paths.

use tally_api::recordings::CallbackAttempt;
use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::CachedRecording;
use tauri_plugin_opener::OpenerExt;

use super::{failure, row_server, Library};
use crate::live::Console;

/// Every delivery attempt of a recording's callbacks, asked of the server it came from.
#[tauri::command]
pub async fn recording_callbacks(
    library: tauri::State<'_, Library>,
    console: tauri::State<'_, Console>,
    server_id: i64,
    file_id: String,
    lang: Lang,
) -> Result<Vec<CallbackAttempt>, ApiError> {
    row_server(&library, &console, server_id, lang)
        .await?
        .callbacks(&file_id)
        .await
}

async fn cached(
    library: &Library,
    server_id: i64,
    file_id: &str,
    lang: Lang,
) -> Result<CachedRecording, ApiError> {
    library
        .cache
        .get(server_id, file_id)
        .await
        .map_err(|e| failure(ErrorCode::Internal, lang, e))?
        .ok_or_else(|| ApiError::with_detail(ErrorCode::RecordingNotFound, lang, file_id))
}

/// The downloaded file, when the download finished.
fn local_file(row: &CachedRecording) -> Option<&str> {
    row.download_path
        .as_deref()
        .filter(|_| row.download_state == "done")
}

/// Opens the downloaded file in the system player, or the recording's URL when it is not
/// downloaded.
#[tauri::command]
pub async fn open_recording(
    app: tauri::AppHandle,
    library: tauri::State<'_, Library>,
    console: tauri::State<'_, Console>,
    server_id: i64,
    file_id: String,
    lang: Lang,
) -> Result<(), ApiError> {
    let row = cached(&library, server_id, &file_id, lang).await?;
    let opener = app.opener();
    if let Some(path) = local_file(&row) {
        return opener
            .open_path(path, None::<&str>)
            .map_err(|e| failure(ErrorCode::Internal, lang, e));
    }
    let url = fresh_web_link(&library, &console, row, Link::File, lang).await?;
    let opened = opener.open_url(&url, None::<&str>);
    opened.map_err(|e| failure(ErrorCode::Internal, lang, e))
}

/// A link to play a recording in the window's player (WebKitGTK plays MP4, and HLS through
/// GStreamer): asked of the server afresh, since a cached signed link may have expired.
#[tauri::command]
pub async fn play_url(
    library: tauri::State<'_, Library>,
    console: tauri::State<'_, Console>,
    server_id: i64,
    file_id: String,
    lang: Lang,
) -> Result<String, ApiError> {
    let row = cached(&library, server_id, &file_id, lang).await?;
    fresh_web_link(&library, &console, row, Link::File, lang).await
}

/// A fresh link to a recording's poster, for a table thumbnail whose cached link has expired.
#[tauri::command]
pub async fn thumbnail_url(
    library: tauri::State<'_, Library>,
    console: tauri::State<'_, Console>,
    server_id: i64,
    file_id: String,
    lang: Lang,
) -> Result<String, ApiError> {
    let row = cached(&library, server_id, &file_id, lang).await?;
    fresh_web_link(&library, &console, row, Link::Poster, lang).await
}

/// Which of a recording's links.
#[derive(Clone, Copy)]
enum Link {
    File,
    Poster,
}

/// The row's link as its server gives it now (the cached one offline); only web links, so a
/// server cannot make the opener or the player load `file://` or `javascript:` targets.
async fn fresh_web_link(
    library: &Library,
    console: &Console,
    row: CachedRecording,
    link: Link,
    lang: Lang,
) -> Result<String, ApiError> {
    let fresh = match row_server(library, console, row.server_id, lang).await {
        Ok(server) => server.recording(&row.file_id).await.ok(),
        Err(_) => None,
    };
    let url = match link {
        Link::File => Some(fresh.map_or(row.recording.url, |r| r.url)),
        Link::Poster => fresh.map_or(row.recording.thumbnail_url, |r| r.thumbnail_url),
    };
    let url = url.ok_or_else(|| failure(ErrorCode::RecordingNotFound, lang, "no poster"))?;
    if !is_web_link(&url) {
        return Err(failure(
            ErrorCode::BadLink,
            lang,
            format!("not a web link: {url}"),
        ));
    }
    Ok(url)
}

/// Shows the downloaded file in the system file manager.
#[tauri::command]
pub async fn reveal_recording(
    app: tauri::AppHandle,
    library: tauri::State<'_, Library>,
    server_id: i64,
    file_id: String,
    lang: Lang,
) -> Result<(), ApiError> {
    let row = cached(&library, server_id, &file_id, lang).await?;
    let path = local_file(&row).ok_or_else(|| {
        ApiError::with_detail(ErrorCode::RecordingNotFound, lang, "not downloaded")
    })?;
    app.opener()
        .reveal_item_in_dir(path)
        .map_err(|e| failure(ErrorCode::Internal, lang, e))
}

/// `http://` or `https://` with a host.
fn is_web_link(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::is_web_link;

    #[test]
    fn only_web_links_are_opened() {
        assert!(is_web_link(
            "http://127.0.0.1:18080/vod/a.mp4?expires=1&sig=ab"
        ));
        assert!(is_web_link("https://cdn.example.com/a.mp4"));
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "/usr/bin/xterm",
            "smb://x/y",
            "x.desktop",
            "",
        ] {
            assert!(!is_web_link(bad), "{bad}");
        }
    }
}
