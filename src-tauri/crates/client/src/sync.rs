//! Incremental sync of a server's recordings into the local cache: pages of
//! `GET /v1/recordings` ordered by update time, each applied together with the cursor after it,
//! so a sync cut midway resumes where it stopped and a row changed on the server (its callback
//! delivered, say) comes down again.

use tally_api::recordings::RecordingPage;

use crate::cache::{CacheError, CachedRecording, RecordingCache};

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("server {url} could not be reached: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("server {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// A server to sync from.
#[derive(Clone, Debug)]
pub struct ServerRef {
    /// e.g. `http://127.0.0.1:8080`
    pub base_url: String,
    pub token: Option<String>,
}

/// How a sync went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pages: u32,
    pub rows: u32,
}

/// Pulls every change since the last sync, `page_size` rows a request, stopping after
/// `max_pages` (`None`: until caught up). Marks the server synced when caught up.
pub async fn sync(
    http: &reqwest::Client,
    cache: &RecordingCache,
    server: &ServerRef,
    page_size: u32,
    max_pages: Option<u32>,
) -> Result<SyncReport, SyncError> {
    let server_id = cache.server_id(&server.base_url).await?;
    let url = format!("{}/v1/recordings", server.base_url.trim_end_matches('/'));
    let mut report = SyncReport::default();
    loop {
        if max_pages.is_some_and(|max| report.pages >= max) {
            return Ok(report);
        }
        let cursor = cache.sync_cursor(server_id).await?;
        let mut request = http.get(&url).query(&[
            ("updated_since", "0".to_owned()),
            ("limit", page_size.to_string()),
        ]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        if let Some(token) = &server.token {
            request = request.bearer_auth(token);
        }
        let http_err = |source| SyncError::Http {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(http_err)?;
        if !response.status().is_success() {
            return Err(SyncError::Status {
                url,
                status: response.status().as_u16(),
            });
        }
        let page: RecordingPage = response.json().await.map_err(http_err)?;
        let rows: Vec<CachedRecording> = page
            .recordings
            .into_iter()
            .map(|r| CachedRecording::new(server_id, r))
            .collect();
        // The cursor after this page: the server's, or (caught up) the last row's position.
        let next = page.next_cursor.clone().or_else(|| {
            rows.last()
                .map(|r| format!("{}_{}", r.updated_ms, r.file_id))
        });
        report.pages += 1;
        report.rows += rows.len() as u32;
        match next {
            Some(next) => cache.apply_sync_page(server_id, &rows, &next).await?,
            None => cache.upsert(&rows).await?,
        }
        if page.next_cursor.is_none() {
            cache.mark_synced(server_id, now_ms()).await?;
            return Ok(report);
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
