//! Turns the engine's facts into index rows and queued callbacks. A row and its callback are
//! written in one transaction; a write that fails (the index busy or locked by another
//! process) is retried with backoff until it lands, so a finished file is never dropped.

use std::time::Duration;

use tally_api::recordings::{CallbackState, Recording};
use tally_media::{SegmentClosed, SharedClock};

use crate::callback;
use crate::events::EventHub;
use crate::ids::video_id;
use crate::index::{Index, IndexError, NewFile};
use crate::outbox::CallbackOutbox;
use crate::record_task::TaskLabel;
use crate::upload_queue::UploadQueue;
use crate::urls::Urls;

/// Retry delays of an index write that failed: 100 ms doubling to 5 s.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the indexer needs to build rows and callbacks.
#[derive(Clone)]
pub struct Indexer {
    pub index: Index,
    pub outbox: CallbackOutbox,
    pub uploads: UploadQueue,
    pub urls: Urls,
    pub appid: u64,
    pub callbacks_on: bool,
    pub events: EventHub,
    pub clock: SharedClock,
}

impl Indexer {
    /// The row of a closed file (its id given by the engine when the file opened).
    pub fn row_of(&self, seg: &SegmentClosed, now: i64) -> NewFile {
        let stream_param =
            callback::stream_param_with_record_id(&seg.stream_param, seg.record_id.as_deref());
        let file_id = if seg.file_id == 0 {
            tally_media::ids::next_id(now)
        } else {
            seg.file_id
        }
        .to_string();
        let task = TaskLabel::parse(&seg.label).unwrap_or_default();
        let recording = Recording {
            file_id: file_id.clone(),
            video_id: video_id(self.appid, &seg.rel_path),
            record_file_id: file_id,
            stream_code: seg.stream_code.clone(),
            channel_id: seg.stream_code.clone(),
            room_id: task.room_id,
            user_id: task.user_id,
            record_id: if task.task_id.is_empty() {
                seg.record_id.clone().unwrap_or_default()
            } else {
                task.task_id
            },
            file_name: task.file_name,
            tags: task.tags,
            format: crate::events::file_format(seg.format),
            url: self.urls.vod_for_callback(&seg.rel_path),
            thumbnail_url: seg.poster.as_deref().map(|p| self.urls.vod_for_callback(p)),
            size: seg.size as i64,
            start_ms: seg.start_ms,
            end_ms: seg.end_ms,
            duration_ms: seg.duration_ms as i64,
            video_codec: seg.video_codec.clone(),
            audio_codec: seg.audio_codec.clone(),
            width: seg.width.map(i64::from),
            height: seg.height.map(i64::from),
            created_ms: now,
            updated_ms: now,
            callback_state: if self.callbacks_on {
                CallbackState::Pending
            } else {
                CallbackState::None
            },
            recovered: seg.recovered,
            deleted: false,
            missing: false,
        };
        let callback_body = self
            .callbacks_on
            .then(|| callback::file_closed(self.appid, &recording, &stream_param));
        NewFile {
            recording,
            app: seg.app.clone(),
            rel_path: seg.rel_path.clone(),
            poster: seg.poster.clone(),
            stream_param,
            callback_body,
            upload: self.uploads.is_on(),
            in_bucket: false,
        }
    }

    /// Indexes one durable file and queues its callback, once: a file already indexed is left
    /// alone. Returns its file id.
    pub async fn file_closed(&self, seg: &SegmentClosed) -> Result<String, IndexError> {
        let now = self.clock.now_ms();
        let mut file = self.row_of(seg, now);
        let mut inserted = self.index.insert_file(&file, now).await?;
        if !inserted {
            match self.index.file_id_at(&seg.rel_path).await? {
                Some(existing) => return Ok(existing),
                // Its id is another file's (a clock stepped back past a lost index): a new one.
                None => {
                    let id = tally_media::ids::next_id(now).to_string();
                    file.recording.file_id.clone_from(&id);
                    file.recording.record_file_id = id;
                    if let Some(body) = &mut file.callback_body {
                        body["file_id"] = file.recording.file_id.clone().into();
                        body["record_file_id"] = file.recording.file_id.clone().into();
                    }
                    inserted = self.index.insert_file(&file, now).await?;
                }
            }
        }
        tally_media::crashpoint::here("after_row_commit");
        if inserted {
            self.events.file_indexed(seg, &file.recording.file_id);
            self.outbox.wake();
            self.uploads.wake();
        }
        Ok(file.recording.file_id)
    }

    /// [`Indexer::file_closed`], retried with backoff until the index takes it.
    pub async fn file_closed_durably(&self, seg: &SegmentClosed) -> String {
        retry(&format!("indexing {}", seg.rel_path), || {
            self.file_closed(seg)
        })
        .await
    }

    /// Queues a stream start (1) or end (0) callback, retried until the index takes it.
    pub async fn stream_event(
        &self,
        event_type: i64,
        stream_code: &str,
        stream_param: &str,
        at_ms: i64,
    ) {
        if !self.callbacks_on {
            return;
        }
        let body = callback::stream_event(self.appid, event_type, stream_code, stream_param, at_ms);
        retry(
            &format!("queueing the stream callback of {stream_code}"),
            || self.index.enqueue(event_type, &body, self.clock.now_ms()),
        )
        .await;
        self.outbox.wake();
    }
}

/// Runs `op` until it succeeds, backing off and logging the first failure and the recovery.
async fn retry<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, IndexError>>,
{
    let mut delay = RETRY_FIRST;
    let mut failures = 0u32;
    loop {
        match op().await {
            Ok(v) => {
                if failures > 0 {
                    tracing::info!(
                        failures,
                        "{what}: done after the index became writable again"
                    );
                }
                return v;
            }
            Err(err) => {
                if failures == 0 {
                    tracing::warn!(%err, "{what} failed; retrying until the index takes it");
                }
                failures += 1;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
        }
    }
}
