//! Deleting recordings, by request (`DELETE /v1/recordings/{id}`) or by retention: recordings
//! that started more than `retention_days` ago, and the oldest ones beyond `retention_max_gb`
//! of recorded bytes. A deleted recording's files leave the disk and the bucket; its row stays
//! as a tombstone, which syncing consoles take to drop it from their caches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tally_media::SharedClock;

use crate::bucket::Bucket;
use crate::index::{Index, IndexError};

/// How often retention looks for recordings to delete.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// What retention keeps; `None`: no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    pub max_age_ms: Option<i64>,
    pub max_bytes: Option<i64>,
}

impl Policy {
    /// Whether any limit is set.
    pub fn is_on(&self) -> bool {
        self.max_age_ms.is_some() || self.max_bytes.is_some()
    }
}

/// Deletes a recording everywhere. Returns false when there is no such recording or it was
/// deleted already. Files that cannot be removed are logged (the row is a tombstone already).
pub async fn delete(
    index: &Index,
    bucket: Option<&Bucket>,
    data_dir: &Path,
    file_id: &str,
    now_ms: i64,
) -> Result<bool, IndexError> {
    let Some((rel_path, in_bucket)) = index.mark_deleted(file_id, now_ms).await? else {
        return Ok(false);
    };
    if let (true, Some(bucket)) = (in_bucket, bucket) {
        let poster = index.unshared_poster(file_id, false).await?;
        let removed =
            crate::upload_queue::remove_from_bucket(bucket, &rel_path, poster.as_deref()).await;
        if let Err(err) = removed {
            // The upload queue removes them once the bucket answers again.
            tracing::warn!(%err, file_id, "removing a deleted recording from the bucket failed; retrying later");
            index.retry_upload(file_id, now_ms).await?;
        }
    }
    let poster = index.unshared_poster(file_id, true).await?;
    let removed = crate::storage::remove_recording_off_thread(data_dir, &rel_path, poster).await;
    if let Err(err) = removed {
        tracing::error!(%err, file_id, "removing a deleted recording's files failed");
    }
    Ok(true)
}

/// Deletes every recording `policy` no longer keeps at `now_ms`; returns how many.
pub async fn sweep(
    index: &Index,
    bucket: Option<&Bucket>,
    data_dir: &Path,
    policy: Policy,
    now_ms: i64,
) -> Result<usize, IndexError> {
    let mut doomed = Vec::new();
    if let Some(age) = policy.max_age_ms {
        doomed.extend(index.started_before(now_ms - age).await?);
    }
    if let Some(cap) = policy.max_bytes {
        doomed.extend(index.oldest_beyond(cap).await?);
    }
    doomed.sort();
    doomed.dedup();
    let mut deleted = 0;
    for file_id in &doomed {
        deleted += usize::from(delete(index, bucket, data_dir, file_id, now_ms).await?);
    }
    if deleted > 0 {
        tracing::info!(
            deleted,
            "retention deleted recordings past the age or size limit"
        );
    }
    Ok(deleted)
}

/// Sweeps now and every [`SWEEP_EVERY`] until the process ends (nothing when no limit is set).
pub fn start(
    index: Index,
    bucket: Option<Bucket>,
    data_dir: PathBuf,
    policy: Policy,
    clock: SharedClock,
) {
    if !policy.is_on() {
        return;
    }
    tokio::spawn(async move {
        loop {
            let now = clock.now_ms();
            if let Err(err) = sweep(&index, bucket.as_ref(), &data_dir, policy, now).await {
                tracing::warn!(%err, "retention could not read or write the index; trying again");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}
