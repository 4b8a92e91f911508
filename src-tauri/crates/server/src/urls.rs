//! The one place where a file's path becomes a URL (the storage seam of SPEC §10).

/// Builds public URLs of recorded files.
#[derive(Clone, Debug)]
pub struct Urls {
    base: String,
}

impl Urls {
    /// URLs under `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Urls {
        Urls {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The download URL of a file stored at `rel_path` below the data dir (`vod/...`).
    pub fn vod(&self, rel_path: &str) -> String {
        format!("{}/{}", self.base, rel_path.trim_start_matches('/'))
    }
}
