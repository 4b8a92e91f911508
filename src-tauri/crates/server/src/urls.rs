//! The one place where a file's path becomes a URL (the storage seam of SPEC §10). Every
//! download URL handed out is a signed link (`signing.rs`): the API's answers are valid for a
//! day from the moment they are read, a callback's `video_url` for a week from the file's close
//! (callbacks are retried for 25 h; a business server that fetches later asks
//! `GET /v1/recordings/{file_id}` for a fresh link). A file moved to the bucket is linked
//! there: under the bucket's public URL, or presigned for the same time.

use std::time::Duration;

use tally_media::SharedClock;

use crate::bucket::Bucket;
use crate::index::IndexedFile;
use crate::signing::UrlSigner;

/// How long a link in an API answer opens its file.
pub const API_LINK_TTL_S: i64 = 24 * 60 * 60;
/// How long a callback's `video_url` opens its file.
pub const CALLBACK_LINK_TTL_S: i64 = 7 * 24 * 60 * 60;

/// Builds public URLs of recorded files.
#[derive(Clone, Debug)]
pub struct Urls {
    base: String,
    signer: UrlSigner,
    clock: SharedClock,
    bucket: Option<Bucket>,
}

impl Urls {
    /// URLs under `base` (e.g. `http://127.0.0.1:8080`), signed by `signer`.
    pub fn new(base: &str, signer: UrlSigner, clock: SharedClock) -> Urls {
        Urls {
            base: base.trim_end_matches('/').to_owned(),
            signer,
            clock,
            bucket: None,
        }
    }

    /// Links files stored in `bucket` there.
    pub fn with_bucket(self, bucket: Option<Bucket>) -> Urls {
        Urls { bucket, ..self }
    }

    /// The link to a file stored at `rel_path` below the data dir (`vod/...`), valid `ttl_s`.
    pub fn vod_for(&self, rel_path: &str, ttl_s: i64) -> String {
        self.vod_at(&self.base, rel_path, ttl_s)
    }

    /// [`Urls::vod_for`] on the node answering at `base` (nodes share the signing key).
    fn vod_at(&self, base: &str, rel_path: &str, ttl_s: i64) -> String {
        let path = format!("/{}", rel_path.trim_start_matches('/'));
        let expires = self.clock.now_ms() / 1000 + ttl_s;
        format!("{base}{path}?{}", self.signer.query(&path, expires))
    }

    /// The link an API answer carries.
    pub fn vod(&self, rel_path: &str) -> String {
        self.vod_for(rel_path, API_LINK_TTL_S)
    }

    /// The link a callback carries.
    pub fn vod_for_callback(&self, rel_path: &str) -> String {
        self.vod_for(rel_path, CALLBACK_LINK_TTL_S)
    }

    /// The link to a file at `rel_path`, valid `ttl_s`, wherever it is stored. A presigned
    /// HLS playlist would list its chunks unsigned, so such a playlist is linked through
    /// `/vod`, which lists each chunk presigned.
    pub async fn file_for(&self, rel_path: &str, in_bucket: bool, ttl_s: i64) -> String {
        match &self.bucket {
            Some(bucket)
                if in_bucket && (bucket.public_links() || !rel_path.ends_with(".m3u8")) =>
            {
                match bucket
                    .link(rel_path, Duration::from_secs(ttl_s.max(1) as u64))
                    .await
                {
                    Ok(link) => link,
                    Err(err) => {
                        // `/vod` sends the reader on to the bucket all the same.
                        tracing::warn!(%err, rel_path, "no bucket link; linking through /vod");
                        self.vod_for(rel_path, ttl_s)
                    }
                }
            }
            _ => self.vod_for(rel_path, ttl_s),
        }
    }

    /// A recording's file and poster links, valid `ttl_s`: in the bucket, or on the node
    /// whose disk holds them.
    pub async fn links_of(&self, file: &IndexedFile, ttl_s: i64) -> (String, Option<String>) {
        let link = |rel_path: String| async move {
            match &file.home {
                Some((_, base)) if !file.in_bucket => self.vod_at(base, &rel_path, ttl_s),
                _ => self.file_for(&rel_path, file.in_bucket, ttl_s).await,
            }
        };
        let url = link(file.rel_path.clone()).await;
        let poster = match &file.poster {
            Some(p) => Some(link(p.clone()).await),
            None => None,
        };
        (url, poster)
    }
}
