//! The bucket finished recordings move to (SPEC §10): an S3-compatible object store (AWS S3,
//! MinIO, Ceph RGW, ...) through `object_store`. An object's key is its file's path below the
//! data dir (`vod/live/...`), so an HLS playlist's bare chunk names resolve beside it. An upload
//! counts only once the store's copy is verified: its size, and its MD5 (the ETag S3 gives a
//! plain or multipart upload, or the bytes read back where the ETag is not an MD5).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use md5::{Digest, Md5};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::signer::Signer;
use object_store::{ClientOptions, MultipartUpload, ObjectStore, RetryConfig};
use tokio::io::AsyncReadExt;

/// Files up to this size go up in one PUT; larger ones in parts of [`PART_BYTES`].
const SINGLE_PUT_MAX: u64 = 16 << 20;
const PART_BYTES: u64 = 8 << 20;
/// One request's limit, its body included (a part of [`PART_BYTES`] or a single PUT of
/// [`SINGLE_PUT_MAX`] fits in it above 0.3 Mbit/s): a store that stops answering fails the
/// attempt, and the upload queue tries again later, instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketConfig {
    pub bucket: String,
    /// `http(s)://host:port` of an S3-compatible service; `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// Credentials; `None`: the `AWS_*` environment or the instance's role.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Base of public links to objects (a public bucket or a CDN in front of it), e.g.
    /// `https://cdn.example.com`; `None`: links are presigned.
    pub public_url: Option<String>,
}

/// Why an upload did not count.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("reading {0}: {1}")]
    Local(std::path::PathBuf, #[source] std::io::Error),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("the stored copy of {key} differs from the file: {what}")]
    Mismatch { key: String, what: String },
}

/// An S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    public_url: Option<String>,
}

impl Bucket {
    /// A client of the bucket `config` names (nothing is sent until it is used).
    pub fn open(config: &BucketConfig) -> Result<Bucket, object_store::Error> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(Duration::from_secs(5)),
            )
            // The upload queue retries with its own backoff, durably: one quick retry here.
            .with_retry(RetryConfig {
                max_retries: 1,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(Bucket {
            store: Arc::new(builder.build()?),
            public_url: config
                .public_url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    /// Whether links are public (`public_url`) rather than presigned.
    pub fn public_links(&self) -> bool {
        self.public_url.is_some()
    }

    /// Uploads `local` as `key` and verifies the stored copy; returns its size.
    pub async fn upload(&self, local: &Path, key: &str) -> Result<u64, UploadError> {
        let read_err = |e| UploadError::Local(local.to_owned(), e);
        let mut file = tokio::fs::File::open(local).await.map_err(read_err)?;
        let size = file.metadata().await.map_err(read_err)?.len();
        let location = key_of(key)?;
        let mut whole = Md5::new();
        let expected_etag = if size <= SINGLE_PUT_MAX {
            let body = read_part(&mut file, size).await.map_err(read_err)?;
            whole.update(&body);
            self.store.put(&location, body.into()).await?;
            hex::encode(whole.clone().finalize())
        } else {
            let mut upload = self.store.put_multipart(&location).await?;
            let parts = upload_parts(&mut file, upload.as_mut(), &mut whole).await;
            let parts = match parts {
                Ok(parts) => parts,
                Err(e) => {
                    // Parts left behind cost storage until the bucket's lifecycle rule.
                    let _ = upload.abort().await;
                    return Err(e.into_upload_error(local));
                }
            };
            upload.complete().await?;
            format!("{}-{}", hex::encode(parts.finalize()), parts_count(size))
        };
        let sent = whole.finalize();
        self.verify(&location, size, &expected_etag, &sent).await?;
        Ok(size)
    }

    /// Checks the stored object against `size` bytes with MD5 `md5`.
    async fn verify(
        &self,
        location: &Key,
        size: u64,
        expected_etag: &str,
        md5: &[u8],
    ) -> Result<(), UploadError> {
        let mismatch = |what: String| UploadError::Mismatch {
            key: location.to_string(),
            what,
        };
        let meta = self.store.head(location).await?;
        if meta.size != size {
            return Err(mismatch(format!("{} bytes stored, {size} sent", meta.size)));
        }
        let etag = meta
            .e_tag
            .unwrap_or_default()
            .trim_matches('"')
            .to_ascii_lowercase();
        if etag == expected_etag {
            return Ok(());
        }
        // Another ETag: the bytes differ, or the store's ETag is no MD5 (SSE-KMS and SSE-C
        // give 32 hex digits of something else; some gateways other forms). Read the copy back.
        let mut stream = self.store.get(location).await?.into_stream();
        let mut stored = Md5::new();
        while let Some(chunk) = stream.next().await {
            stored.update(chunk?);
        }
        if stored.finalize().as_slice() == md5 {
            Ok(())
        } else {
            Err(mismatch("its bytes read back differ".into()))
        }
    }

    /// Whether `key` is in the bucket.
    pub async fn exists(&self, key: &str) -> Result<bool, UploadError> {
        match self.store.head(&key_of(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `key`; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), UploadError> {
        match self.store.delete(&key_of(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The size of `key`.
    pub async fn size_of(&self, key: &str) -> Result<u64, UploadError> {
        Ok(self.store.head(&key_of(key)?).await?.size)
    }

    /// Every key below `prefix` that ends with `suffix` (the manifests, to rebuild a lost
    /// index from).
    pub async fn keys_ending(
        &self,
        prefix: &str,
        suffix: &str,
    ) -> Result<Vec<String>, UploadError> {
        let mut listing = self.store.list(Some(&key_of(prefix)?));
        let mut keys = Vec::new();
        while let Some(object) = listing.next().await {
            let key = object?.location.to_string();
            if key.ends_with(suffix) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The text of `key` (an HLS playlist, a manifest).
    pub async fn read_text(&self, key: &str) -> Result<String, UploadError> {
        let bytes = self.store.get(&key_of(key)?).await?.bytes().await?;
        String::from_utf8(bytes.to_vec()).map_err(|_| UploadError::Mismatch {
            key: key.to_owned(),
            what: "not UTF-8 text".into(),
        })
    }

    /// A link that opens `key` for `ttl`: under `public_url`, or presigned (at most 7 days, the
    /// longest S3 signs for).
    pub async fn link(&self, key: &str, ttl: Duration) -> Result<String, UploadError> {
        if let Some(base) = &self.public_url {
            return public_link(base, &key_of(key)?);
        }
        let ttl = ttl.min(Duration::from_secs(7 * 24 * 60 * 60));
        Ok(self
            .store
            .signed_url(reqwest::Method::GET, &key_of(key)?, ttl)
            .await?
            .to_string())
    }
}

/// The object key of a path below the data dir.
fn key_of(key: &str) -> Result<Key, UploadError> {
    Key::parse(key).map_err(|e| UploadError::Mismatch {
        key: key.to_owned(),
        what: format!("not a valid object key: {e}"),
    })
}

/// `key` below `base`, each segment percent-encoded.
fn public_link(base: &str, key: &Key) -> Result<String, UploadError> {
    let bad = |what: String| UploadError::Mismatch {
        key: key.to_string(),
        what,
    };
    let mut url = reqwest::Url::parse(base).map_err(|e| bad(format!("s3_public_url: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| bad("s3_public_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(key.parts().map(|p| p.as_ref().to_owned()));
    Ok(url.to_string())
}

fn parts_count(size: u64) -> u64 {
    size.div_ceil(PART_BYTES)
}

/// Reads up to `limit` bytes.
async fn read_part(file: &mut tokio::fs::File, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(PART_BYTES.max(SINGLE_PUT_MAX)) as usize);
    file.take(limit).read_to_end(&mut buf).await?;
    Ok(buf)
}

enum PartError {
    Local(std::io::Error),
    Store(object_store::Error),
}

impl PartError {
    fn into_upload_error(self, local: &Path) -> UploadError {
        match self {
            PartError::Local(e) => UploadError::Local(local.to_owned(), e),
            PartError::Store(e) => UploadError::Store(e),
        }
    }
}

/// Sends the file in parts, one at a time (bounded memory); returns the MD5 of the parts'
/// MD5s, from which S3 derives a multipart ETag.
async fn upload_parts(
    file: &mut tokio::fs::File,
    upload: &mut dyn MultipartUpload,
    whole: &mut Md5,
) -> Result<Md5, PartError> {
    let mut of_parts = Md5::new();
    loop {
        let part = read_part(file, PART_BYTES)
            .await
            .map_err(PartError::Local)?;
        if part.is_empty() {
            return Ok(of_parts);
        }
        whole.update(&part);
        of_parts.update(Md5::digest(&part));
        upload
            .put_part(part.into())
            .await
            .map_err(PartError::Store)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn public_links_sit_under_the_public_url_and_others_are_presigned() {
        let config = BucketConfig {
            bucket: "rec".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret".into()),
            public_url: Some("https://cdn.example.com/".into()),
        };
        let public = Bucket::open(&config).unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            public.link("vod/live/a b.mp4", day).await.unwrap(),
            "https://cdn.example.com/vod/live/a%20b.mp4"
        );
        let private = Bucket::open(&BucketConfig {
            public_url: None,
            ..config
        })
        .unwrap();
        let link = private
            .link("vod/live/a.mp4", Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        assert!(
            link.starts_with("http://127.0.0.1:9/rec/vod/live/a.mp4?"),
            "{link}"
        );
        assert!(
            link.contains("X-Amz-Expires=604800"),
            "7 days at most: {link}"
        );
        assert!(link.contains("X-Amz-Signature="), "{link}");
    }

    #[test]
    fn parts_cover_the_file() {
        assert_eq!(parts_count(PART_BYTES), 1);
        assert_eq!(parts_count(PART_BYTES + 1), 2);
        assert_eq!(parts_count(3 * PART_BYTES), 3);
    }
}
