//! The console's own settings, kept as JSON in its data dir: which server it talks to.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the console remembers between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConsoleSettings {
    /// A remote Tally server; `None` uses the one embedded in the console.
    #[serde(default)]
    pub remote: Option<RemoteServer>,
}

/// A Tally server elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RemoteServer {
    /// `http(s)://host[:port]`
    pub url: String,
    /// The server's bearer token, if it has one.
    pub token: Option<String>,
}

/// What the window sees instead of a saved token: the token itself never goes back to the
/// webview. Sent back unchanged, it means "keep the saved token".
pub const SAVED_TOKEN: &str = "\u{2022}saved\u{2022}";

impl ConsoleSettings {
    /// The settings as the window may see them: a saved token shows as [`SAVED_TOKEN`].
    pub fn for_window(&self) -> ConsoleSettings {
        ConsoleSettings {
            remote: self.remote.as_ref().map(|r| RemoteServer {
                url: r.url.clone(),
                token: r.token.as_ref().map(|_| SAVED_TOKEN.to_owned()),
            }),
        }
    }
}

impl RemoteServer {
    /// `self` with [`SAVED_TOKEN`] replaced by the token saved in `saved` for the same URL
    /// (none for another URL: a token never follows a server change).
    pub fn with_saved_token(mut self, saved: &ConsoleSettings) -> RemoteServer {
        if self.token.as_deref() == Some(SAVED_TOKEN) {
            self.token = saved
                .remote
                .as_ref()
                .filter(|r| r.url == self.url)
                .and_then(|r| r.token.clone());
        }
        self
    }
}

/// Why settings could not be used or kept.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0:?} is not a server address: use http://host:port or https://host")]
    BadUrl(String),
    #[error("saving settings to {path}: {source}")]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RemoteServer {
    /// The server with its URL checked and tidied (no trailing slash) and an empty token
    /// taken as none.
    pub fn normalized(self) -> Result<RemoteServer, SettingsError> {
        let url = self.url.trim().trim_end_matches('/').to_owned();
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || host.contains(['/', ' ', '?', '#']) {
            return Err(SettingsError::BadUrl(self.url));
        }
        let token = self
            .token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        Ok(RemoteServer { url, token })
    }
}

impl ConsoleSettings {
    /// The settings in `path`; defaults when there are none. A file that cannot be read as
    /// settings is kept beside as `<name>.bad` (never silently dropped) and defaults are used.
    pub fn load(path: &Path) -> ConsoleSettings {
        let Ok(text) = std::fs::read_to_string(path) else {
            return ConsoleSettings::default();
        };
        match serde_json::from_str(&text) {
            Ok(settings) => settings,
            Err(err) => {
                let aside = path.with_extension("json.bad");
                tracing::warn!(%err, aside = %aside.display(), "unreadable settings moved aside; using defaults");
                let _ = std::fs::rename(path, &aside);
                ConsoleSettings::default()
            }
        }
    }

    /// Writes the settings durably: a temp file, fsync, then rename over the old one.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let save_err = |source| SettingsError::Save {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).expect("settings serialize");
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // It may hold a server's token: readable by this user only.
            let mut file = {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)?
            };
            std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            std::io::Write::write_all(&mut file, &json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(save_err)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_window_never_sees_a_saved_token_and_gets_it_kept_for_the_same_server() {
        let saved = ConsoleSettings {
            remote: Some(remote("http://h:1", Some("s3cret"))),
        };
        let shown = saved.for_window();
        assert_eq!(
            shown.remote.as_ref().unwrap().token.as_deref(),
            Some(SAVED_TOKEN)
        );
        assert!(!serde_json::to_string(&shown).unwrap().contains("s3cret"));
        let back = shown.remote.clone().unwrap().with_saved_token(&saved);
        assert_eq!(back.token.as_deref(), Some("s3cret"));
        let elsewhere = remote("http://other:1", Some(SAVED_TOKEN)).with_saved_token(&saved);
        assert_eq!(
            elsewhere.token, None,
            "a token never follows a server change"
        );
    }

    #[test]
    fn the_settings_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        ConsoleSettings {
            remote: Some(remote("http://h:1", Some("s3cret"))),
        }
        .save(&path)
        .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    use super::*;

    fn remote(url: &str, token: Option<&str>) -> RemoteServer {
        RemoteServer {
            url: url.into(),
            token: token.map(str::to_owned),
        }
    }

    #[test]
    fn urls_are_checked_and_tidied() {
        let ok = remote(" http://10.0.0.5:8080/ ", Some(" "))
            .normalized()
            .unwrap();
        assert_eq!(ok, remote("http://10.0.0.5:8080", None));
        assert!(remote("https://tally.example.com", Some("t"))
            .normalized()
            .is_ok());
        for bad in [
            "",
            "10.0.0.5:8080",
            "ftp://x",
            "http://",
            "http://a b",
            "http://h/v1",
        ] {
            assert!(remote(bad, None).normalized().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_survive_a_round_trip_and_a_corrupt_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        assert_eq!(ConsoleSettings::load(&path), ConsoleSettings::default());
        let settings = ConsoleSettings {
            remote: Some(remote("http://h:1", Some("t"))),
        };
        settings.save(&path).unwrap();
        assert_eq!(ConsoleSettings::load(&path), settings);

        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(ConsoleSettings::load(&path), ConsoleSettings::default());
        assert_eq!(
            std::fs::read(dir.path().join("settings.json.bad")).unwrap(),
            b"{ not json"
        );
    }
}
