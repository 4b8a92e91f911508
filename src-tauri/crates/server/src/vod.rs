//! `/vod/<path>`: finished recordings only, to the API token or a signed link, with Range, and
//! with CORS so a business's own web page can play them (hls.js, `<video>`). In-progress files
//! (`.part`, `.tmp`, sidecars) and manifests are never served: only a file whose manifest says
//! it is finished, or a TS chunk of such a playlist. A file moved to the bucket is answered
//! with a redirect to a link there (its playlist with a link to each chunk there).

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tally_api::ErrorCode;
use tally_media::SharedClock;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::access::{check_host, AccessPolicy};
use crate::bucket::Bucket;
use crate::http::HttpError;
use crate::signing::{UrlSigner, Verdict};

/// What `/vod` needs.
#[derive(Clone)]
pub struct VodState {
    pub policy: AccessPolicy,
    pub signer: UrlSigner,
    pub clock: SharedClock,
    /// `<data>/vod`.
    pub root: PathBuf,
    /// Origins allowed to read recordings from a web page (`*`: any; access is by token or
    /// signed link anyway).
    pub cors_origins: Vec<String>,
    /// Where finished files move to, when configured.
    pub bucket: Option<Bucket>,
}

/// The container types players expect.
fn content_type(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "mp4" => "video/mp4",
        "flv" => "video/x-flv",
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "jpg" => "image/jpeg",
        _ => return None,
    })
}

/// The finished file `rel` (below `vod/`) names, if it is one.
fn finished(root: &Path, rel: &str) -> Option<PathBuf> {
    let relp = Path::new(rel);
    if !relp.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let path = root.join(relp);
    content_type(&path)?;
    let name = path.file_name()?.to_str()?;
    // A chunk belongs to the playlist `<stem>.m3u8` of its name `<stem>_<n>.ts`; a poster
    // `<stem>.jpg` to any finished file of its segment.
    let owners = match (name.strip_suffix(".ts"), name.strip_suffix(".jpg")) {
        (Some(chunk), _) => {
            vec![path.with_file_name(format!("{}.m3u8", chunk.rsplit_once('_')?.0))]
        }
        (_, Some(_)) => ["mp4", "flv", "m3u8"]
            .map(|ext| path.with_extension(ext))
            .to_vec(),
        _ => vec![path.clone()],
    };
    let done = owners
        .iter()
        .any(|owner| tally_media::manifest::path_of(owner).is_file())
        && path.is_file();
    done.then_some(path)
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// How the request proved it may read: the token, or a link signed until `expires`.
enum Access {
    Token,
    Signed(i64),
}

fn authorize(state: &VodState, path: &str, req: &Request) -> Result<Access, HttpError> {
    let headers = req.headers();
    if state.policy.token.is_some() && state.policy.token_ok(headers) {
        return Ok(Access::Token);
    }
    let query = req.uri().query().unwrap_or_default();
    let (Some(expires), Some(sig)) = (query_param(query, "expires"), query_param(query, "sig"))
    else {
        return Err(HttpError::new(ErrorCode::Unauthorized, headers, ""));
    };
    let expires: i64 = expires
        .parse()
        .map_err(|_| HttpError::new(ErrorCode::BadLink, headers, "expires"))?;
    match state
        .signer
        .verify(path, expires, sig, state.clock.now_ms() / 1000)
    {
        Verdict::Good => Ok(Access::Signed(expires)),
        Verdict::Expired => Err(HttpError::new(ErrorCode::BadLink, headers, "expired")),
        Verdict::Bad => Err(HttpError::new(ErrorCode::BadLink, headers, "signature")),
    }
}

fn cors(state: &VodState, request: &HeaderMap, response: &mut HeaderMap) {
    let origin = request.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let allow = if state.cors_origins.iter().any(|o| o == "*") {
        Some("*".to_owned())
    } else {
        origin
            .filter(|o| state.cors_origins.iter().any(|allowed| allowed == o))
            .map(str::to_owned)
    };
    if let Some(allow) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        response.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Content-Range, Content-Length, Accept-Ranges"),
        );
        response.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Serves `/vod/<path>`.
pub async fn serve(State(state): State<VodState>, req: Request) -> Response {
    if let Err(e) = check_host(&state.policy, &req) {
        return e.into_response();
    }
    let request_headers = req.headers().clone();
    let mut response = answer(&state, req).await;
    cors(&state, &request_headers, response.headers_mut());
    response
}

async fn answer(state: &VodState, req: Request) -> Response {
    if req.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let h = preflight.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Range"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return preflight;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let url_path = req.uri().path().to_owned();
    let rel = percent_decode(url_path.strip_prefix("/vod/").unwrap_or_default());
    let head = req.method() == Method::HEAD;
    let Some(file) = rel.as_deref().and_then(|rel| finished(&state.root, rel)) else {
        return match (&state.bucket, rel.as_deref().and_then(bucket_key)) {
            (Some(bucket), Some(key)) => match authorize(state, &url_path, &req) {
                Ok(access) => from_bucket(state, bucket, &key, access, head).await,
                Err(e) => e.into_response(),
            },
            _ => HttpError::new(ErrorCode::RecordingNotFound, req.headers(), "").into_response(),
        };
    };
    let access = match authorize(state, &url_path, &req) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let kind = content_type(&file).unwrap_or("application/octet-stream");
    if kind == "application/vnd.apple.mpegurl" {
        let Ok(text) = tokio::fs::read_to_string(&file).await else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let body = match access {
            Access::Token => text,
            Access::Signed(expires) => {
                let dir = url_path.rsplit_once('/').map_or("", |(d, _)| d);
                let mut links = Vec::new();
                for chunk in crate::storage::chunk_names(&text) {
                    let query = state.signer.query(&format!("{dir}/{chunk}"), expires);
                    links.push(format!("{chunk}?{query}"));
                }
                with_chunk_links(&text, links)
            }
        };
        return playlist(body, head);
    }
    let mut response = match ServeFile::new(&file).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// The object key of a `/vod` path whose file may have moved to the bucket: a recording's
/// file, chunk or poster (never a manifest or a partial file).
fn bucket_key(rel: &str) -> Option<String> {
    let relp = Path::new(rel);
    (relp.components().all(|c| matches!(c, Component::Normal(_))) && content_type(relp).is_some())
        .then(|| format!("vod/{rel}"))
}

/// A file in the bucket: a redirect to a link there, valid as long as the request's own
/// access; a playlist is answered here, each chunk linked there.
async fn from_bucket(
    state: &VodState,
    bucket: &Bucket,
    key: &str,
    access: Access,
    head: bool,
) -> Response {
    let now_s = state.clock.now_ms() / 1000;
    let ttl = match access {
        Access::Token => crate::urls::API_LINK_TTL_S,
        Access::Signed(expires) => expires - now_s,
    };
    let ttl = std::time::Duration::from_secs(ttl.max(1) as u64);
    let unavailable = |err: crate::bucket::UploadError| {
        tracing::warn!(%err, key, "the bucket did not answer for a recording");
        match err {
            crate::bucket::UploadError::Store(object_store::Error::NotFound { .. }) => {
                StatusCode::NOT_FOUND.into_response()
            }
            _ => StatusCode::BAD_GATEWAY.into_response(),
        }
    };
    if head && !key.ends_with(".m3u8") {
        // A presigned link opens for GET only: a HEAD is answered here.
        return match bucket.size_of(key).await {
            Ok(size) => {
                let mut response = StatusCode::OK.into_response();
                let h = response.headers_mut();
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
                if let Some(kind) = content_type(Path::new(key)) {
                    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
                }
                h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                response
            }
            Err(err) => unavailable(err),
        };
    }
    if !key.ends_with(".m3u8") {
        return match bucket.link(key, ttl).await {
            Ok(link) => match HeaderValue::from_str(&link) {
                Ok(location) => {
                    let mut response = StatusCode::FOUND.into_response();
                    response.headers_mut().insert(header::LOCATION, location);
                    response
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            },
            Err(err) => unavailable(err),
        };
    }
    let text = match bucket.read_text(key).await {
        Ok(text) => text,
        Err(err) => return unavailable(err),
    };
    let mut links = Vec::new();
    for chunk in crate::storage::chunk_paths(key, &text) {
        match bucket.link(&chunk, ttl).await {
            Ok(link) => links.push(link),
            Err(err) => return unavailable(err),
        }
    }
    playlist(with_chunk_links(&text, links), head)
}

/// `text` with its chunk lines (in [`crate::storage::chunk_names`] order) replaced by `links`.
fn with_chunk_links(text: &str, links: Vec<String>) -> String {
    let mut links = links.into_iter();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let link = if crate::storage::chunk_names(line).next().is_some() {
            links.next()
        } else {
            None
        };
        out.push_str(link.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// An HLS playlist answer. Opened by a signed link, each chunk it lists carries a link signed
/// until the same time, so a player follows it without the token.
fn playlist(body: String, head: bool) -> Response {
    let mut response = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body.clone()))
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `%XX` escapes decoded; `None` when the result is not UTF-8 or holds a NUL.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0')).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_recordings_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let day = root.join("live/s/20261201");
        std::fs::create_dir_all(&day).unwrap();
        for f in [
            "a.mp4",
            "a.mp4.meta.json",
            "b.mp4.part",
            "b.mp4.part.json",
            "c.m3u8",
            "c.m3u8.meta.json",
            "c_00000.ts",
            "d.m3u8",
            "d_00000.ts",
            "d_00001.ts.part",
            "e.flv",
            "a.jpg",
            "b.jpg",
            "e.jpg",
        ] {
            std::fs::write(day.join(f), b"x").unwrap();
        }
        let served = |rel: &str| finished(root, &format!("live/s/20261201/{rel}")).is_some();
        assert!(served("a.mp4"));
        assert!(served("c.m3u8"));
        assert!(served("c_00000.ts"));
        assert!(served("a.jpg"), "the poster of a finished file");
        for hidden in [
            "a.mp4.meta.json",
            "b.mp4.part",
            "b.mp4.part.json",
            "d.m3u8",
            "d_00000.ts",
            "d_00001.ts.part",
            "e.flv",
            "missing.mp4",
            "b.jpg",
            "e.jpg",
            "missing.jpg",
        ] {
            assert!(!served(hidden), "{hidden} is not finished");
        }
        assert!(finished(root, "../x.mp4").is_none());
        assert!(finished(root, "/etc/passwd").is_none());
    }

    #[test]
    fn escapes_decode_and_nul_is_refused() {
        assert_eq!(percent_decode("a%20b.mp4").as_deref(), Some("a b.mp4"));
        assert_eq!(percent_decode("%2e%2e/x").as_deref(), Some("../x"));
        assert_eq!(percent_decode("a%00"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
    }
}
