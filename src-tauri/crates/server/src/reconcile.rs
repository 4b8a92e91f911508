//! Startup reconcile: the disk is the truth for which files exist. Every finished file with a
//! manifest and no row gets its row and its callback (a crash between the file and its row, a
//! lost or rebuilt index); every row whose file is gone is marked `missing`, not dropped; the
//! files of a row deleted through another node go.

use std::collections::HashSet;
use std::path::Path;

use crate::index::IndexError;
use crate::indexer::Indexer;
use crate::storage;

/// What reconcile changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Files indexed now.
    pub indexed: usize,
    /// Rows newly marked missing.
    pub missing: usize,
    /// Rows whose file came back.
    pub found: usize,
    /// Files of deleted rows (deleted through another node) removed now.
    pub removed: usize,
}

/// Brings the index in line with `<data>/vod`.
pub async fn reconcile(indexer: &Indexer, data_dir: &Path) -> Result<Reconciled, IndexError> {
    let dir = data_dir.to_path_buf();
    let manifests = tokio::task::spawn_blocking(move || tally_media::manifest::collect(&dir))
        .await
        .unwrap_or_default();
    if let Some(max) = manifests.iter().map(|m| m.file_id).max() {
        tally_media::ids::raise_floor(max);
    }
    let known: HashSet<String> = indexer.index.rel_paths().await?.into_iter().collect();
    let mut done = Reconciled::default();
    for seg in manifests.iter().filter(|m| !known.contains(&m.rel_path)) {
        indexer.file_closed(seg).await?;
        done.indexed += 1;
    }
    for (file_id, rel_path) in indexer.index.deleted_local_files().await? {
        let on_disk = storage::path_of(data_dir, &rel_path).is_some_and(|p| p.exists());
        if on_disk {
            let poster = indexer.index.unshared_poster(&file_id, true).await?;
            match storage::remove_recording_off_thread(data_dir, &rel_path, poster).await {
                Ok(()) => done.removed += 1,
                Err(err) => {
                    tracing::error!(%err, %file_id, "removing a deleted recording's files failed")
                }
            }
        }
    }
    let now = indexer.clock.now_ms();
    for (file_id, rel_path, was_missing) in indexer.index.live_files().await? {
        let exists = storage::path_of(data_dir, &rel_path).is_some_and(|p| p.exists());
        if exists == was_missing {
            indexer.index.set_missing(&file_id, !exists, now).await?;
            if exists {
                done.found += 1;
            } else {
                done.missing += 1;
                tracing::warn!(%file_id, %rel_path, "an indexed file is missing from disk; its row is marked missing");
            }
        }
    }
    if done != Reconciled::default() {
        tracing::info!(
            indexed = done.indexed,
            missing = done.missing,
            found = done.found,
            removed = done.removed,
            "reconciled the index with the files on disk"
        );
    }
    Ok(done)
}
