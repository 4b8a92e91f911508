//! Downloading a cached recording into a folder: the resumable transfer of [`crate::download`]
//! plus its bookkeeping in the cache, so the library still shows partial, done or failed after
//! a restart, and a second click resumes instead of starting over.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tally_api::recordings::FileFormat;
use ts_rs::TS;

use crate::cache::{CacheError, CachedRecording, DownloadState, RecordingCache};
use crate::download::{
    download, download_hls, part_path, DownloadError, DownloadRequest, Progress,
};
use crate::sync::ServerRef;

/// A download's progress as the UI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DownloadProgress {
    pub bytes: u64,
    pub total: u64,
    /// Whole percent, 0–100.
    pub percent: u8,
}

impl From<Progress> for DownloadProgress {
    fn from(p: Progress) -> DownloadProgress {
        // An empty file is complete from the start.
        let percent = (p.bytes.min(p.total) * 100)
            .checked_div(p.total)
            .unwrap_or(100) as u8;
        DownloadProgress {
            bytes: p.bytes,
            total: p.total,
            percent,
        }
    }
}

/// Why a recording was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("recording {0} is not in the cache")]
    NotCached(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Download(#[from] DownloadError),
}

/// The name a recording gets on disk: its file name (or stream code), its file id so two
/// recordings never collide, and the extension of its URL. Path separators and characters
/// that some file systems refuse become `_`.
pub fn local_file_name(row: &CachedRecording) -> String {
    // From the recording's own format, never from the URL a server sent (`x.mp4?.exe`).
    let ext = match row.format {
        FileFormat::Flv => "flv",
        // The chunks joined into one stream (see `download_hls`).
        FileFormat::Hls => "ts",
        FileFormat::Mp4 => "mp4",
    };
    let stem = match row.file_name.trim() {
        "" => row.stream_code.as_str(),
        name => name.strip_suffix(&format!(".{ext}")).unwrap_or(name),
    };
    let safe: String = stem
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    format!("{}_{}.{ext}", safe.trim_start_matches('.'), row.file_id)
}

/// Downloads recording `file_id` of `server` into `dir`, resuming a partial file, and records
/// the outcome in `cache`. `progress` hears every whole percent.
pub async fn download_recording(
    http: &reqwest::Client,
    cache: &RecordingCache,
    server: &ServerRef,
    file_id: &str,
    dir: &Path,
    mut progress: impl FnMut(DownloadProgress),
) -> Result<PathBuf, SaveError> {
    let server_id = cache.server_id(&server.base_url).await?;
    let row = cache
        .get(server_id, file_id)
        .await?
        .ok_or_else(|| SaveError::NotCached(file_id.to_owned()))?;
    let dest = dir.join(local_file_name(&row));
    let dest_text = dest.display().to_string();
    if row.download_state == "failed" {
        // The bytes of a download that ended with the wrong size are not trusted: start over.
        let _ = tokio::fs::remove_file(part_path(&dest)).await;
    }
    cache
        .set_download(server_id, file_id, DownloadState::Partial, &dest_text, 0)
        .await?;
    let request = DownloadRequest {
        url: row.url.clone(),
        dest: dest.clone(),
        expected_size: row.size.max(0) as u64,
        // The token goes to its own server only, never to a host a URL names.
        token: server
            .token
            .clone()
            .filter(|_| crate::http::same_origin(&row.url, &server.base_url)),
    };
    let mut last_percent = None;
    let on_progress = |p| {
        let p = DownloadProgress::from(p);
        if last_percent != Some(p.percent) {
            last_percent = Some(p.percent);
            progress(p);
        }
    };
    let result = match row.format {
        FileFormat::Hls => download_hls(http, &request, on_progress).await,
        FileFormat::Flv | FileFormat::Mp4 => download(http, &request, on_progress).await,
    };
    match result {
        Ok(path) => {
            cache
                .set_download(
                    server_id,
                    file_id,
                    DownloadState::Done,
                    &dest_text,
                    row.size,
                )
                .await?;
            Ok(path)
        }
        Err(err) => {
            let state = match err {
                DownloadError::SizeMismatch { .. } => DownloadState::Failed,
                _ => DownloadState::Partial,
            };
            let kept = tokio::fs::metadata(part_path(&dest))
                .await
                .map(|m| m.len() as i64)
                .unwrap_or(0);
            cache
                .set_download(server_id, file_id, state, &dest_text, kept)
                .await?;
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_api::recordings::Recording;

    fn row(file_name: &str, url: &str) -> CachedRecording {
        CachedRecording {
            server_id: 1,
            recording: Recording {
                file_id: "42".into(),
                video_id: String::new(),
                record_file_id: String::new(),
                stream_code: "8888_abc".into(),
                channel_id: String::new(),
                room_id: String::new(),
                user_id: String::new(),
                record_id: String::new(),
                file_name: file_name.into(),
                tags: Vec::new(),
                format: FileFormat::Mp4,
                url: url.into(),
                size: 0,
                start_ms: 0,
                end_ms: 0,
                duration_ms: 0,
                video_codec: None,
                audio_codec: None,
                width: None,
                height: None,
                created_ms: 0,
                updated_ms: 0,
                callback_state: tally_api::recordings::CallbackState::None,
                recovered: false,
                deleted: false,
                thumbnail_url: None,
                missing: false,
            },
            download_state: "none".into(),
            download_path: None,
            downloaded_bytes: 0,
        }
    }

    #[test]
    fn local_name_keeps_chinese_and_replaces_path_separators() {
        assert_eq!(
            local_file_name(&row("物理/第三讲:复习", "http://h/vod/a.mp4")),
            "物理_第三讲_复习_42.mp4"
        );
    }

    #[test]
    fn local_name_falls_back_to_stream_code_and_format() {
        assert_eq!(
            local_file_name(&row("", "http://h/vod/x")),
            "8888_abc_42.mp4"
        );
        assert_eq!(
            local_file_name(&row("lecture.mp4", "http://h/vod/a.mp4")),
            "lecture_42.mp4"
        );
        assert_eq!(
            local_file_name(&row("../up", "http://h/a.flv")),
            "_up_42.mp4",
            "the extension is the recording's format, not the URL's"
        );
        assert_eq!(
            local_file_name(&row("run", "http://h/vod/x.mp4?.exe")),
            "run_42.mp4"
        );
        assert_eq!(
            local_file_name(&row("", "http://h/vod/x.desktop")),
            "8888_abc_42.mp4"
        );
    }

    #[test]
    fn progress_is_whole_percent_and_full_for_empty_files() {
        let p = |bytes, total| DownloadProgress::from(Progress { bytes, total }).percent;
        assert_eq!(p(0, 200), 0);
        assert_eq!(p(199, 200), 99);
        assert_eq!(p(200, 200), 100);
        assert_eq!(p(0, 0), 100);
    }
}
