//! Keeps the cache in step with the current server in the background: a task that syncs at
//! start, then every `period`, and whenever asked. Its state (last sync, offline or not, how
//! many syncs brought changes) is published on a `watch`, so the UI refreshes on news instead
//! of polling.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use ts_rs::TS;

use crate::cache::RecordingCache;
use crate::sync::{sync, ServerRef};

/// Rows asked for per request.
const PAGE_SIZE: u32 = 500;

/// What the library shows about syncing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    /// The server synced from (the last attempt's).
    pub server_url: String,
    /// When that server was last synced completely (unix ms).
    pub last_synced_ms: Option<i64>,
    /// Why the last attempt failed (the server is unreachable, say); `None` when it worked.
    pub offline: Option<String>,
    /// A sync is running now.
    pub syncing: bool,
    /// Counts the syncs that brought rows: a change means the visible rows may be stale.
    pub changes: u64,
}

/// The running sync task: ask it to sync now, or watch its status. Dropping every handle
/// stops the task.
#[derive(Clone, Debug)]
pub struct SyncLoop {
    wake: mpsc::Sender<()>,
    status: watch::Receiver<SyncStatus>,
}

impl SyncLoop {
    /// Starts syncing `server()` (asked before every sync, so a switch of server is followed)
    /// into `cache`, now and then every `period`. Call it inside a Tokio runtime.
    pub fn spawn(
        cache: RecordingCache,
        server: impl Fn() -> ServerRef + Send + 'static,
        period: Duration,
    ) -> SyncLoop {
        // One pending wake is enough: requests made while a sync runs fold into the next one.
        let (wake, mut woken) = mpsc::channel(1);
        let (publish, status) = watch::channel(SyncStatus::default());
        let http = crate::http::http_client();
        tokio::spawn(async move {
            loop {
                run_once(&http, &cache, &server(), &publish).await;
                // Woken early by `sync_now`, or on time; a closed inbox means every handle is gone.
                if let Ok(None) = tokio::time::timeout(period, woken.recv()).await {
                    return;
                }
            }
        });
        SyncLoop { wake, status }
    }

    /// Asks for a sync as soon as the current one (if any) ends.
    pub fn sync_now(&self) {
        // Full means a sync is already queued, which is what was asked.
        let _ = self.wake.try_send(());
    }

    /// The latest status.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }
}

async fn run_once(
    http: &reqwest::Client,
    cache: &RecordingCache,
    server: &ServerRef,
    publish: &watch::Sender<SyncStatus>,
) {
    publish.send_modify(|s| {
        s.syncing = true;
        s.server_url = server.base_url.clone();
    });
    let result = sync(http, cache, server, PAGE_SIZE, None).await;
    let last_synced_ms = match cache.server_id(&server.base_url).await {
        Ok(id) => cache.last_synced(id).await.ok().flatten(),
        Err(_) => None,
    };
    publish.send_modify(|s| {
        s.syncing = false;
        s.last_synced_ms = last_synced_ms;
        match &result {
            Ok(report) => {
                s.offline = None;
                if report.rows > 0 {
                    s.changes += 1;
                }
            }
            Err(err) => {
                tracing::debug!(%err, server = %server.base_url, "sync failed");
                s.offline = Some(err.to_string());
            }
        }
    });
}
