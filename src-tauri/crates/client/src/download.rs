//! Downloading a recording to disk: into `<dest>.part`, resumed with an HTTP Range request
//! after an interruption, checked against the expected size, then renamed into place. A file
//! whose size is wrong stays `.part` and is reported, never presented as good.

use std::path::{Path, PathBuf};

use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;

/// What to fetch and where to put it.
#[derive(Clone, Debug)]
pub struct DownloadRequest {
    pub url: String,
    pub dest: PathBuf,
    /// The size the index says the file has; the download must end with exactly this many bytes.
    pub expected_size: u64,
    pub token: Option<String>,
}

/// Progress so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub bytes: u64,
    pub total: u64,
}

/// Why a download did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("download of {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the server answered {status} for {url}")]
    Status { url: String, status: StatusCode },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the playlist at {url} could not be read: {why}")]
    Playlist { url: String, why: String },
    #[error("{path} has {got} bytes but the recording has {expected}; kept as .part, not saved")]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
}

/// The partial file next to `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Downloads `req`, resuming from an existing `.part`, calling `progress` as bytes arrive.
/// Returns the final path.
pub async fn download(
    client: &reqwest::Client,
    req: &DownloadRequest,
    mut progress: impl FnMut(Progress),
) -> Result<PathBuf, DownloadError> {
    let part = part_beside(&req.dest).await?;
    let have = match tokio::fs::metadata(&part).await {
        Ok(m) => m.len(),
        Err(_) => 0,
    };

    let mut file = if have >= req.expected_size && have > 0 {
        // Everything is already here (interrupted after the last byte): only the checks remain.
        None
    } else {
        let mut request = client.get(&req.url);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let http = |source| DownloadError::Http {
            url: req.url.clone(),
            source,
        };
        let mut response = send_ok(request, &req.url, req.token.as_deref()).await?;
        let resumed = response.status() == StatusCode::PARTIAL_CONTENT
            && response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
        // A server that ignores Range sends the whole file: start over rather than append.
        let mut offset = if resumed { have } else { 0 };
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(&part)
            .await
            .map_err(io(&part))?;
        progress(Progress {
            bytes: offset,
            total: req.expected_size,
        });
        let received = loop {
            match response.chunk().await {
                // A body longer than the recording is not the recording: stop at its size.
                Ok(Some(chunk)) if offset + chunk.len() as u64 > req.expected_size => {
                    let fits = (req.expected_size - offset.min(req.expected_size)) as usize;
                    out.write_all(&chunk[..fits]).await.map_err(io(&part))?;
                    out.flush().await.map_err(io(&part))?;
                    return Err(DownloadError::SizeMismatch {
                        path: part.clone(),
                        expected: req.expected_size,
                        got: offset + chunk.len() as u64,
                    });
                }
                Ok(Some(chunk)) => {
                    out.write_all(&chunk).await.map_err(io(&part))?;
                    offset += chunk.len() as u64;
                    progress(Progress {
                        bytes: offset,
                        total: req.expected_size,
                    });
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(http(e)),
            }
        };
        // Keep what arrived before a cut: the next attempt resumes from it.
        out.flush().await.map_err(io(&part))?;
        received?;
        Some(out)
    };
    if let Some(out) = file.take() {
        out.sync_all().await.map_err(io(&part))?;
    }

    let got = tokio::fs::metadata(&part).await.map_err(io(&part))?.len();
    into_place(part, got, req).await
}

/// The partial file beside `dest`, its directory created.
async fn part_beside(dest: &Path) -> Result<PathBuf, DownloadError> {
    let part = part_path(dest);
    if let Some(dir) = part.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
    }
    Ok(part)
}

/// Renames a complete, fsynced `part` of `got` bytes to the request's destination, unless its
/// size is not the recording's (it then stays `.part` and is reported).
async fn into_place(
    part: PathBuf,
    got: u64,
    req: &DownloadRequest,
) -> Result<PathBuf, DownloadError> {
    if got != req.expected_size {
        return Err(DownloadError::SizeMismatch {
            path: part,
            expected: req.expected_size,
            got,
        });
    }
    tokio::fs::rename(&part, &req.dest)
        .await
        .map_err(io(&req.dest))?;
    if let Some(dir) = req.dest.parent() {
        if let Ok(dir) = File::open(dir).await {
            let _ = dir.sync_all().await;
        }
    }
    Ok(req.dest.clone())
}

/// An I/O error on `path`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError {
    let path = path.to_path_buf();
    move |source| DownloadError::Io { path, source }
}

/// Downloads an HLS recording (`req.url` is its playlist) as one `.ts` file: its chunks in
/// playlist order, joined. A TS stream may be cut and joined at packet boundaries and every
/// chunk starts with its PAT/PMT, so the result plays like the recording; its size is the sum
/// of the chunks, the size the index gives an HLS recording. Resumes an existing `.part`: the
/// chunks it already holds are skipped by their sizes (HEAD), the one it was cut in is resumed
/// with a Range request.
pub async fn download_hls(
    client: &reqwest::Client,
    req: &DownloadRequest,
    mut progress: impl FnMut(Progress),
) -> Result<PathBuf, DownloadError> {
    let part = part_beside(&req.dest).await?;
    let chunks = playlist_chunks(client, req).await?;
    let mut have = match tokio::fs::metadata(&part).await {
        Ok(m) if m.len() <= req.expected_size => m.len(),
        _ => 0, // nothing, or more than the recording: not to be trusted
    };
    let out = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(have == 0)
        .open(&part)
        .await
        .map_err(io(&part))?;
    out.set_len(have).await.map_err(io(&part))?;
    let mut out = tokio::io::BufWriter::new(out);
    tokio::io::AsyncSeekExt::seek(&mut out, std::io::SeekFrom::Start(have))
        .await
        .map_err(io(&part))?;
    progress(Progress {
        bytes: have,
        total: req.expected_size,
    });
    let mut chunk_start = 0u64;
    for url in &chunks {
        // The token goes with a chunk only when it is on the playlist's own origin.
        let token = req
            .token
            .as_deref()
            .filter(|_| crate::http::same_origin(url, &req.url));
        if have > chunk_start {
            // Resuming: is this chunk already whole in the `.part`? Its first byte's answer
            // tells its length (a GET: a presigned link to a bucket opens for GET only).
            let probe = send_ok(client.get(url).header(RANGE, "bytes=0-0"), url, token).await?;
            let Some(len) = full_length(&probe) else {
                return Err(DownloadError::Status {
                    url: url.clone(),
                    status: probe.status(),
                });
            };
            if chunk_start + len <= have {
                chunk_start += len;
                continue;
            }
        }
        let skip = have - chunk_start;
        let mut request = client.get(url);
        if skip > 0 {
            request = request.header(RANGE, format!("bytes={skip}-"));
        }
        let mut response = send_ok(request, url, token).await?;
        // A server that ignores Range sends the whole chunk: drop what we already have.
        let mut drop_first = if response.status() == StatusCode::PARTIAL_CONTENT {
            0
        } else {
            skip
        };
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(source) => {
                    out.flush().await.map_err(io(&part))?;
                    return Err(DownloadError::Http {
                        url: url.clone(),
                        source,
                    });
                }
            };
            let chunk = chunk.slice((drop_first.min(chunk.len() as u64)) as usize..);
            drop_first = drop_first.saturating_sub(chunk.len() as u64);
            if have + chunk.len() as u64 > req.expected_size {
                out.flush().await.map_err(io(&part))?;
                return Err(DownloadError::SizeMismatch {
                    path: part.clone(),
                    expected: req.expected_size,
                    got: have + chunk.len() as u64,
                });
            }
            out.write_all(&chunk).await.map_err(io(&part))?;
            have += chunk.len() as u64;
            progress(Progress {
                bytes: have,
                total: req.expected_size,
            });
        }
        chunk_start = have;
    }
    out.flush().await.map_err(io(&part))?;
    out.get_ref().sync_all().await.map_err(io(&part))?;
    drop(out);
    into_place(part, have, req).await
}

/// The chunk URLs of the playlist at `req.url`, resolved against it. A playlist is small: one
/// over 4 MiB is not one.
async fn playlist_chunks(
    client: &reqwest::Client,
    req: &DownloadRequest,
) -> Result<Vec<String>, DownloadError> {
    const MAX_PLAYLIST: usize = 4 << 20;
    let bad = |why: String| DownloadError::Playlist {
        url: req.url.clone(),
        why,
    };
    let http = |source| DownloadError::Http {
        url: req.url.clone(),
        source,
    };
    let mut response = send_ok(client.get(&req.url), &req.url, req.token.as_deref()).await?;
    let mut text = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if text.len() + chunk.len() > MAX_PLAYLIST {
            return Err(bad("longer than 4 MiB".into()));
        }
        text.extend_from_slice(&chunk);
    }
    let playlist = m3u8_rs::parse_media_playlist_res(&text).map_err(|e| bad(e.to_string()))?;
    let base = reqwest::Url::parse(&req.url).map_err(|e| bad(e.to_string()))?;
    playlist
        .segments
        .iter()
        .map(|s| {
            base.join(&s.uri)
                .map(String::from)
                .map_err(|e| bad(format!("chunk {:?}: {e}", s.uri)))
        })
        .collect()
}

/// Sends `request` for `url`, with the bearer `token` when there is one; a failure to send is
/// `Http`, an answer other than 2xx is `Status`.
async fn send_ok(
    request: reqwest::RequestBuilder,
    url: &str,
    token: Option<&str>,
) -> Result<reqwest::Response, DownloadError> {
    let request = match token {
        Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
        None => request,
    };
    let response = request.send().await.map_err(|source| DownloadError::Http {
        url: url.to_owned(),
        source,
    })?;
    if !response.status().is_success() {
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status: response.status(),
        });
    }
    Ok(response)
}

/// The whole resource's length from an answer to a range request: the total of its
/// `Content-Range`, or its `Content-Length` when the server sent it whole.
fn full_length(response: &reqwest::Response) -> Option<u64> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    if response.status() == StatusCode::PARTIAL_CONTENT {
        header(reqwest::header::CONTENT_RANGE)?
            .rsplit_once('/')?
            .1
            .parse()
            .ok()
    } else {
        header(reqwest::header::CONTENT_LENGTH)?.parse().ok()
    }
}
