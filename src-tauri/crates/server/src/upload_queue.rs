//! Moves finished recordings to the bucket without ever losing one. The queue is a table of
//! the index written in the same transaction as the file's row (like the callback outbox), so
//! a crash at any point leaves either the local copy or a verified bucket copy, never neither:
//!
//! 1. every file of the recording (HLS chunks, poster, the file, its manifest) is uploaded and
//!    verified in the bucket (size and MD5; `bucket.rs`);
//! 2. one transaction marks the row as stored in the bucket and releases its held callback
//!    with links to the bucket;
//! 3. only then are the local copies removed.
//!
//! A failed step is tried again with backoff (1 s doubling to 5 min) for as long as it takes:
//! a bucket that is down for a day delays the uploads and callbacks, it loses nothing.

use std::path::PathBuf;
use std::sync::Arc;

use tally_media::SharedClock;
use tokio::sync::Notify;

use crate::bucket::{Bucket, UploadError};
use crate::index::{DueUpload, Index, IndexError, UploadState};
use crate::outbox::CallbackOutbox;
use crate::storage;
use crate::urls::{Urls, CALLBACK_LINK_TTL_S};

/// Recordings uploaded side by side.
const BATCH: i64 = 4;
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// Delay after `n` failed attempts: 1 s, 2 s, 4 s, ... capped at 5 min.
pub fn backoff_ms(failed_attempts: i64) -> i64 {
    crate::queue_loop::doubling_backoff_ms(failed_attempts, MAX_BACKOFF_MS)
}

/// The upload worker's handle: `wake` after queueing so the upload starts at once.
#[derive(Clone, Default)]
pub struct UploadQueue {
    notify: Arc<Notify>,
    on: bool,
    worker: crate::queue_loop::Worker,
}

impl UploadQueue {
    /// Starts uploading to `bucket`; with none, nothing is queued and this does nothing.
    pub fn start(
        bucket: Option<Bucket>,
        index: Index,
        urls: Urls,
        outbox: CallbackOutbox,
        data_dir: PathBuf,
        clock: SharedClock,
    ) -> UploadQueue {
        let mut queue = UploadQueue::default();
        if let Some(bucket) = bucket {
            queue.on = true;
            let uploader = Uploader {
                bucket,
                index,
                urls,
                outbox,
                data_dir,
                clock,
            };
            queue.worker = crate::queue_loop::Worker::spawn(run(uploader, queue.notify.clone()));
        }
        queue
    }

    /// Stops uploading, and waits until nothing is in flight (a node handing its work back).
    /// Any moment is safe: every step is durable before the next (see above), and the next
    /// worker takes it up again.
    pub async fn stop(&self) {
        self.worker.stop().await;
    }

    /// Whether finished files go to a bucket.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// A recording was queued.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

#[derive(Clone)]
struct Uploader {
    bucket: Bucket,
    index: Index,
    urls: Urls,
    outbox: CallbackOutbox,
    data_dir: PathBuf,
    clock: SharedClock,
}

impl Uploader {
    /// Takes every due upload one step further; returns how many were due.
    async fn advance_due(&self) -> Result<usize, IndexError> {
        let due = self.index.due_uploads(self.clock.now_ms(), BATCH).await?;
        let mut result = Ok(due.len());
        let mut running = tokio::task::JoinSet::new();
        for job in due {
            let uploader = self.clone();
            running.spawn(async move { uploader.advance(&job).await });
        }
        while let Some(done) = running.join_next().await {
            if let Ok(Err(err)) = done {
                result = Err(err);
            }
        }
        result
    }

    async fn advance(&self, job: &DueUpload) -> Result<(), IndexError> {
        if job.deleted {
            return self.drop_deleted(job).await;
        }
        if job.state == UploadState::Pending {
            if self.lost(job).await {
                // Nothing to wait for: the row says so, and its callback goes out.
                tracing::error!(file_id = %job.file_id, rel_path = %job.rel_path, "a recording waiting for the bucket is gone from the disk and is not in the bucket; its row is marked missing");
                let now = self.clock.now_ms();
                self.index.set_missing(&job.file_id, true, now).await?;
                return self.end_dropped(job).await;
            }
            if let Err(err) = self.upload(job).await {
                return self.failed(job, &err.to_string()).await;
            }
            tally_media::crashpoint::here("after_upload");
            let file = self.index.get(&job.file_id).await?;
            let links = match file {
                Some(mut file) => {
                    file.in_bucket = true;
                    self.urls.links_of(&file, CALLBACK_LINK_TTL_S).await
                }
                None => return Ok(()),
            };
            let kept = self
                .index
                .upload_verified(&job.file_id, links, self.clock.now_ms())
                .await?;
            if !kept {
                return self.drop_deleted(job).await;
            }
            tally_media::crashpoint::here("after_upload_commit");
            self.outbox.wake();
            tracing::info!(file_id = %job.file_id, rel_path = %job.rel_path, "uploaded to the bucket and verified");
        }
        let poster = self.index.unshared_poster(&job.file_id, true).await?;
        let removed =
            storage::remove_recording_off_thread(&self.data_dir, &job.rel_path, poster).await;
        match removed {
            Ok(()) => {
                self.index
                    .upload_ended(&job.file_id, false, self.clock.now_ms())
                    .await
            }
            Err(err) => {
                self.failed(job, &format!("removing the local copy: {err}"))
                    .await
            }
        }
    }

    /// The recording was deleted before its upload was over. Deleting removed the local files;
    /// whatever of them went up (a copy verified after the delete, parts of an attempt) goes
    /// too, then the upload ends.
    async fn drop_deleted(&self, job: &DueUpload) -> Result<(), IndexError> {
        let poster = self.index.unshared_poster(&job.file_id, false).await?;
        let removed = remove_from_bucket(&self.bucket, &job.rel_path, poster.as_deref()).await;
        if let Err(err) = removed {
            return self.failed(job, &err.to_string()).await;
        }
        // Deleted through another node, the local copy is still here.
        let poster = self.index.unshared_poster(&job.file_id, true).await?;
        let local = storage::remove_recording_off_thread(&self.data_dir, &job.rel_path, poster);
        if let Err(err) = local.await {
            tracing::error!(%err, file_id = %job.file_id, "removing a deleted recording's files failed");
        }
        self.end_dropped(job).await
    }

    /// Ends an upload that will not happen; its held callback goes out now.
    async fn end_dropped(&self, job: &DueUpload) -> Result<(), IndexError> {
        self.index
            .upload_ended(&job.file_id, true, self.clock.now_ms())
            .await?;
        self.outbox.wake();
        Ok(())
    }

    async fn failed(&self, job: &DueUpload, error: &str) -> Result<(), IndexError> {
        let attempts = job.attempts + 1;
        let delay = backoff_ms(attempts);
        tracing::warn!(file_id = %job.file_id, rel_path = %job.rel_path, attempts, retry_in_ms = delay, error, "upload to the bucket failed; the local copy is kept and the upload retried");
        self.index
            .upload_failed(&job.file_id, attempts, self.clock.now_ms() + delay, error)
            .await
    }

    /// The recording's file is neither on disk (removed by hand) nor in the bucket. Any doubt
    /// (the bucket not answering) is not a loss: the upload is tried again.
    async fn lost(&self, job: &DueUpload) -> bool {
        let Some(local) = storage::path_of(&self.data_dir, &job.rel_path) else {
            return false;
        };
        let gone = matches!(tokio::fs::metadata(&local).await,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        gone && matches!(self.bucket.exists(&job.rel_path).await, Ok(false))
    }

    /// Uploads and verifies every file of the recording. A file no longer on disk counts
    /// when the bucket has it (a poster shared with a format uploaded before).
    async fn upload(&self, job: &DueUpload) -> Result<(), UploadError> {
        for key in self.keys_of(job).await? {
            let local =
                storage::path_of(&self.data_dir, &key).ok_or_else(|| UploadError::Mismatch {
                    key: key.clone(),
                    what: "leaves the data dir".into(),
                })?;
            match tokio::fs::metadata(&local).await {
                Ok(_) => {
                    self.bucket.upload(&local, &key).await?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !self.bucket.exists(&key).await? {
                        return Err(UploadError::Local(local, e));
                    }
                }
                Err(e) => return Err(UploadError::Local(local, e)),
            }
        }
        Ok(())
    }

    /// The recording's files, its manifest last: the file itself (a playlist first, so that
    /// a recording deleted half way finds its chunks from it), chunks, poster, manifest.
    async fn keys_of(&self, job: &DueUpload) -> Result<Vec<String>, UploadError> {
        let mut keys = vec![job.rel_path.clone()];
        if job.rel_path.ends_with(".m3u8") {
            let local = storage::path_of(&self.data_dir, &job.rel_path);
            let text = match local {
                Some(path) => tokio::fs::read_to_string(&path)
                    .await
                    .map_err(|e| UploadError::Local(path, e))?,
                None => String::new(),
            };
            keys.extend(storage::chunk_paths(&job.rel_path, &text));
        }
        keys.extend(job.poster.clone());
        keys.push(storage::manifest_of(&job.rel_path));
        Ok(keys)
    }
}

/// Removes a recording's objects (an HLS playlist's chunks too) from the bucket, and `poster`
/// (when no other recording shows it: [`Index::unshared_poster`]).
pub async fn remove_from_bucket(
    bucket: &Bucket,
    rel_path: &str,
    poster: Option<&str>,
) -> Result<(), UploadError> {
    if rel_path.ends_with(".m3u8") {
        let text = match bucket.read_text(rel_path).await {
            Ok(text) => text,
            Err(UploadError::Store(object_store::Error::NotFound { .. })) => String::new(),
            Err(e) => return Err(e),
        };
        for chunk in storage::chunk_paths(rel_path, &text) {
            bucket.delete(&chunk).await?;
        }
    }
    bucket.delete(rel_path).await?;
    bucket.delete(&storage::manifest_of(rel_path)).await?;
    match poster {
        Some(poster) => bucket.delete(poster).await,
        None => Ok(()),
    }
}

/// Uploads until the process ends.
async fn run(uploader: Uploader, notify: Arc<Notify>) {
    let clock = uploader.clock.clone();
    crate::queue_loop::run(
        "the upload queue",
        clock,
        notify,
        backoff_ms,
        || uploader.advance_due(),
        || uploader.index.next_upload_due_ms(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let delays: Vec<i64> = (1..=12).map(backoff_ms).collect();
        assert_eq!(&delays[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(backoff_ms(10), 300_000);
        assert_eq!(backoff_ms(1_000), 300_000);
    }
}
