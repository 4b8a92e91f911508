//! This crate's wire types for the UI (the recordings library), added to `ui/src/bindings`.

use tally_api::bindings::Bindings;
use ts_rs::ExportError;

use crate::cache::{CachedRecording, LibraryStatus, Page, SearchQuery, Sort};
use crate::http::ConsoleInfo;
use crate::live::FeedEvent;
use crate::recording_download::DownloadProgress;
use crate::settings::{ConsoleSettings, RemoteServer};
use crate::sync_loop::SyncStatus;

/// The library's types.
pub fn generate() -> Result<Bindings, ExportError> {
    let mut b = Bindings::new();
    b.add::<CachedRecording>()?
        .add::<SearchQuery>()?
        .add::<Sort>()?
        .add::<Page>()?
        .add::<LibraryStatus>()?
        .add::<ConsoleInfo>()?
        .add::<FeedEvent>()?
        .add::<ConsoleSettings>()?
        .add::<RemoteServer>()?
        .add::<SyncStatus>()?
        .add::<DownloadProgress>()?;
    Ok(b)
}
