//! The Tally console's client side, with no Tauri dependency: the local recordings cache
//! (SQLite), and — as the console grows — the HTTP API client, sync and downloads.

pub mod bindings;
pub mod cache;
pub mod download;
pub mod http;
pub mod live;
pub mod settings;
pub mod sync;

pub use cache::{CacheError, CachedRecording, OpenReport, RecordingCache};
