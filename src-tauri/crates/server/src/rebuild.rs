//! Rebuilding a lost index from the bucket. Every recording that went to the bucket went with
//! its manifest (uploaded last, after the recording's files), which holds all its row needs.
//! Local files are reconcile's (`reconcile.rs`); once they are uploaded only the bucket knows
//! of them, so an index lost or started afresh (a damaged SQLite file, a new PostgreSQL
//! database) would forget them without this.

use std::collections::HashSet;
use std::time::Duration;

use tally_media::SegmentClosed;

use crate::bucket::{Bucket, UploadError};
use crate::index::{IndexError, IndexedFile};
use crate::indexer::Indexer;
use crate::urls::CALLBACK_LINK_TTL_S;

/// Why a rebuild did not finish (it is tried again).
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Bucket(#[from] UploadError),
}

/// When the index holds no row that was ever in the bucket but the bucket holds manifests,
/// indexes each of those recordings as stored in the bucket and calls it back again, linking
/// there: its callback may have been lost with the index, and receivers deduplicate by
/// `file_id`. All rows go in one transaction, so a rebuild cut short leaves nothing half done
/// and runs again at the next start. Returns how many recordings it indexed.
pub async fn rebuild_from_bucket(
    indexer: &Indexer,
    bucket: &Bucket,
) -> Result<usize, RebuildError> {
    if indexer.index.any_in_bucket().await? {
        return Ok(0);
    }
    let keys = bucket
        .keys_ending("vod", tally_media::manifest::SUFFIX)
        .await?;
    if keys.is_empty() {
        return Ok(0);
    }
    let known: HashSet<String> = indexer.index.all_rel_paths().await?.into_iter().collect();
    let now = indexer.clock.now_ms();
    let mut files = Vec::new();
    for key in keys {
        let seg: SegmentClosed = match serde_json::from_str(&bucket.read_text(&key).await?) {
            Ok(seg) => seg,
            Err(err) => {
                tracing::warn!(%key, %err, "a manifest in the bucket is not readable; skipped");
                continue;
            }
        };
        // A manifest sits beside its own file: one naming another path is not this bucket's.
        if crate::storage::manifest_of(&seg.rel_path) != key {
            tracing::warn!(%key, rel_path = %seg.rel_path, "a manifest in the bucket names another file; skipped");
            continue;
        }
        if known.contains(&seg.rel_path) {
            continue;
        }
        tally_media::ids::raise_floor(seg.file_id);
        let mut file = indexer.row_of(&seg, now);
        file.upload = false;
        file.in_bucket = true;
        if let Some(body) = &mut file.callback_body {
            let stored = IndexedFile {
                recording: file.recording.clone(),
                rel_path: file.rel_path.clone(),
                poster: file.poster.clone(),
                in_bucket: true,
                home: None,
            };
            let links = indexer.urls.links_of(&stored, CALLBACK_LINK_TTL_S).await;
            crate::callback::set_links(body, links);
        }
        files.push(file);
    }
    let indexed = indexer.index.insert_files(&files, now).await?;
    if indexed > 0 {
        tracing::info!(indexed, "rebuilt the index from the bucket's manifests");
        indexer.outbox.wake();
    }
    Ok(indexed)
}

/// [`rebuild_from_bucket`], tried until it finishes (the bucket or the index may be out of
/// reach at start): 1 s doubling to 5 min between tries.
/// The same backoff as the upload queue's.
pub async fn rebuild_from_bucket_durably(indexer: Indexer, bucket: Bucket) {
    let mut failures = 0;
    while let Err(err) = rebuild_from_bucket(&indexer, &bucket).await {
        tracing::warn!(%err, "rebuilding the index from the bucket failed; trying again");
        failures += 1;
        let delay = crate::upload_queue::backoff_ms(failures);
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
}
