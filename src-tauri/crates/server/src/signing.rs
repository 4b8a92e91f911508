//! Signed, expiring download links: `/vod/<path>?expires=<unix s>&sig=<hex>` where `sig` is
//! HMAC-SHA256 over `<path>\n<expires>` with a key kept in the data dir. A link can be handed to
//! a player or a business server for a while without handing out the API token; it opens one
//! file (an HLS playlist's chunks are signed as the playlist is served).

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks `/vod` links.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(..)") // never the key
    }
}

impl UrlSigner {
    /// A signer with this key.
    pub fn new(key: [u8; 32]) -> UrlSigner {
        UrlSigner { key }
    }

    /// The data dir's signing key (`url-signing.key`, mode 0600), created on first use, so
    /// links stay valid across restarts.
    pub fn for_data_dir(data_dir: &Path) -> std::io::Result<UrlSigner> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = data_dir.join("url-signing.key");
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => {
                return Ok(UrlSigner::new(bytes.try_into().expect("32 bytes")))
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "replacing a malformed URL signing key")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let key = random_bytes::<32>()?;
        let tmp = data_dir.join("url-signing.key.tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(UrlSigner::new(key))
    }

    /// The key every node of the index signs with: this one's, unless another node stored its
    /// own first.
    pub async fn shared_through(
        self,
        index: &crate::index::Index,
    ) -> Result<UrlSigner, crate::index::IndexError> {
        let stored = index
            .shared_key("url_signing", &hex::encode(self.key))
            .await?;
        match hex::decode(&stored)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        {
            Some(key) => Ok(UrlSigner::new(key)),
            None => Err(crate::index::IndexError::Damaged(
                "the shared URL signing key is not 32 bytes of hex".into(),
            )),
        }
    }

    fn mac(&self, path: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The query that opens `path` (e.g. `/vod/live/a/1.mp4`) until `expires` (unix s).
    pub fn query(&self, path: &str, expires: i64) -> String {
        let sig = hex::encode(self.mac(path, expires).finalize().into_bytes());
        format!("expires={expires}&sig={sig}")
    }

    /// Whether `sig` opens `path` at `now_s` (constant-time comparison).
    pub fn verify(&self, path: &str, expires: i64, sig: &str, now_s: i64) -> Verdict {
        let Ok(tag) = hex::decode(sig) else {
            return Verdict::Bad;
        };
        if self.mac(path, expires).verify_slice(&tag).is_err() {
            return Verdict::Bad;
        }
        if now_s > expires {
            return Verdict::Expired;
        }
        Verdict::Good
    }
}

/// The outcome of checking a signed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Expired,
    Bad,
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(buf)
}

/// A fresh random token (64 hex characters), e.g. the console's per-launch API token.
pub fn random_token() -> std::io::Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_opens_its_path_until_it_expires_and_nothing_else() {
        let s = UrlSigner::new([7; 32]);
        let q = s.query("/vod/live/a/1.mp4", 1_000);
        let sig = q.split("sig=").nth(1).unwrap();
        assert_eq!(
            s.verify("/vod/live/a/1.mp4", 1_000, sig, 999),
            Verdict::Good
        );
        assert_eq!(
            s.verify("/vod/live/a/1.mp4", 1_000, sig, 1_001),
            Verdict::Expired
        );
        assert_eq!(s.verify("/vod/live/a/2.mp4", 1_000, sig, 999), Verdict::Bad);
        assert_eq!(
            s.verify("/vod/live/a/1.mp4", 9_000, sig, 999),
            Verdict::Bad,
            "a moved expiry"
        );
        assert_eq!(
            s.verify("/vod/live/a/1.mp4", 1_000, "zz", 999),
            Verdict::Bad
        );
        let other = UrlSigner::new([8; 32]);
        assert_eq!(
            other.verify("/vod/live/a/1.mp4", 1_000, sig, 999),
            Verdict::Bad
        );
    }

    #[test]
    fn the_data_dir_key_survives_a_restart_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = UrlSigner::for_data_dir(dir.path()).unwrap();
        let b = UrlSigner::for_data_dir(dir.path()).unwrap();
        assert_eq!(a.query("/vod/x", 5), b.query("/vod/x", 5));
        let mode = std::fs::metadata(dir.path().join("url-signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
