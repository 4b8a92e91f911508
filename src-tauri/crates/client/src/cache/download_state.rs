//! The local download state of each recording (`none | partial | done | failed`), kept beside
//! the server's fields and untouched by sync.

use super::{CacheError, RecordingCache};

/// Where a recording's download stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownloadState {
    /// Some bytes are in the `.part` file; the next download resumes from them.
    Partial,
    /// The file is at `download_path` with the size the server reported.
    Done,
    /// The bytes did not add up to the reported size: the file is not trusted.
    Failed,
}

impl DownloadState {
    fn as_str(self) -> &'static str {
        match self {
            DownloadState::Partial => "partial",
            DownloadState::Done => "done",
            DownloadState::Failed => "failed",
        }
    }
}

impl RecordingCache {
    /// Records how far the download of `file_id` got and where it goes.
    pub async fn set_download(
        &self,
        server_id: i64,
        file_id: &str,
        state: DownloadState,
        path: &str,
        bytes: i64,
    ) -> Result<(), CacheError> {
        sqlx::query(
            "UPDATE recordings SET download_state = ?3, download_path = ?4, downloaded_bytes = ?5
             WHERE server_id = ?1 AND file_id = ?2",
        )
        .bind(server_id)
        .bind(file_id)
        .bind(state.as_str())
        .bind(path)
        .bind(bytes)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
