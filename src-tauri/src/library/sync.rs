//! The background sync of the current server into the cache: started once the console knows
//! its server, re-run on demand, and announced to the UI as a `library-sync` event on every
//! status change (the UI refreshes its rows when `changes` moves, instead of polling).

use std::time::Duration;

use tally_client::sync_loop::{SyncLoop, SyncStatus};
use tauri::{AppHandle, Emitter, Manager};

use super::Library;
use crate::live::Console;

/// How often the library syncs on its own.
const SYNC_PERIOD: Duration = Duration::from_secs(10);

/// The event carrying each new [`SyncStatus`].
const SYNC_EVENT: &str = "library-sync";

/// The running sync, as app state.
pub struct LibrarySync(SyncLoop);

impl LibrarySync {
    /// Syncs as soon as possible (the server changed, or the user asked).
    pub fn sync_now(&self) {
        self.0.sync_now();
    }
}

/// Starts syncing whichever server the console is connected to. Call after [`Console`] and
/// [`Library`] are managed.
pub fn start(app: &AppHandle) {
    let cache = app.state::<Library>().cache.clone();
    let handle = app.clone();
    let current_server = move || handle.state::<Console>().client().server_ref();
    let sync_loop = tauri::async_runtime::block_on(async move {
        SyncLoop::spawn(cache, current_server, SYNC_PERIOD)
    });
    let mut changes = sync_loop.subscribe();
    let emitter = app.clone();
    tauri::async_runtime::spawn(async move {
        while changes.changed().await.is_ok() {
            let status = changes.borrow_and_update().clone();
            if let Err(err) = emitter.emit(SYNC_EVENT, status) {
                tracing::warn!(%err, "library sync event not delivered");
            }
        }
    });
    app.manage(LibrarySync(sync_loop));
}

/// The sync's current status.
#[tauri::command]
pub fn sync_status(sync: tauri::State<'_, LibrarySync>) -> SyncStatus {
    sync.0.status()
}

/// Syncs as soon as possible; the outcome arrives as a `library-sync` event.
#[tauri::command]
pub fn sync_now(sync: tauri::State<'_, LibrarySync>) {
    sync.sync_now();
}
