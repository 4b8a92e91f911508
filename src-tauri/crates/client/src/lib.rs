//! The Tally console's client side, with no Tauri dependency: the HTTP API client, the local
//! recordings cache (SQLite), background sync into it, downloads and CSV export.

pub mod bindings;
pub mod cache;
pub mod download;
pub mod export;
pub mod http;
pub mod live;
pub mod recording_download;
pub mod settings;
pub mod sync;
pub mod sync_loop;

pub use cache::{CacheError, CachedRecording, OpenReport, RecordingCache};
