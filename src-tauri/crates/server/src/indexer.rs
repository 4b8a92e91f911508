//! Turns the engine's events into index rows and queued callbacks.

use tally_api::recordings::Recording;
use tally_media::{EngineEvent, SegmentClosed};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::callback;
use crate::events::EventHub;
use crate::ids::{next_file_id, video_id};
use crate::index::{Index, NewFile};
use crate::now_ms;
use crate::outbox::CallbackOutbox;
use crate::record_task::TaskLabel;
use crate::urls::Urls;

/// What the indexer needs to build rows and callbacks.
#[derive(Clone)]
pub struct Indexer {
    pub index: Index,
    pub outbox: CallbackOutbox,
    pub urls: Urls,
    pub appid: u64,
    pub callbacks_on: bool,
    pub events: EventHub,
}

impl Indexer {
    /// Indexes one durable file and queues its callback.
    pub async fn file_closed(&self, seg: &SegmentClosed) {
        let now = now_ms();
        let stream_param =
            callback::stream_param_with_record_id(&seg.stream_param, seg.record_id.as_deref());
        let file_id = next_file_id(now);
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
            format: seg.format.as_str().to_owned(),
            url: self.urls.vod(&seg.rel_path),
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
            callback_state: if self.callbacks_on { "pending" } else { "none" }.to_owned(),
            recovered: seg.recovered,
            deleted: false,
        };
        let callback_body = self
            .callbacks_on
            .then(|| callback::file_closed(self.appid, &recording, &stream_param));
        let file_id = recording.file_id.clone();
        let file = NewFile {
            recording,
            app: seg.app.clone(),
            rel_path: seg.rel_path.clone(),
            stream_param,
            callback_body,
        };
        match self.index.insert_file(&file, now).await {
            Ok(inserted) => {
                if inserted {
                    self.events.file_indexed(seg, &file_id);
                }
                self.outbox.wake()
            }
            // The file stays on disk; it is indexed again by the next startup scan of .part-free files.
            Err(err) => {
                tracing::error!(%err, path = %seg.rel_path, "indexing a recorded file failed")
            }
        }
    }

    async fn stream_event(
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
        match self.index.enqueue(event_type, &body, now_ms()).await {
            Ok(()) => self.outbox.wake(),
            Err(err) => tracing::error!(%err, stream_code, "queueing a stream callback failed"),
        }
    }

    /// Consumes engine events in a task until the engine goes away or the handle stops it.
    pub fn spawn(self, events: broadcast::Receiver<EngineEvent>) -> IndexerHandle {
        // A channel rather than a oneshot so that a handle dropped without a stop (the
        // service dropped while its engine lives on) leaves the indexer running.
        let (stop, stop_rx) = mpsc::channel(1);
        IndexerHandle {
            stop,
            task: tokio::spawn(self.run(events, stop_rx)),
        }
    }

    async fn run(self, mut events: broadcast::Receiver<EngineEvent>, mut stop: mpsc::Receiver<()>) {
        loop {
            tokio::select! {
                biased;
                event = events.recv() => {
                    if !self.handle(event).await {
                        return;
                    }
                }
                Some(()) = stop.recv() => {
                    // Whoever stops us has seen the engine finish, so every event it will
                    // ever send is queued already: take them all, then stop.
                    loop {
                        match events.try_recv() {
                            Ok(event) => {
                                self.handle(Ok(event)).await;
                            }
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                tracing::error!(missed = n, "the indexer fell behind the engine's events")
                            }
                            Err(_) => return,
                        }
                    }
                }
            }
        }
    }

    /// Handles one received event; false once the engine's channel is closed.
    async fn handle(&self, event: Result<EngineEvent, broadcast::error::RecvError>) -> bool {
        match event {
            Ok(EngineEvent::SegmentClosed(seg)) => self.file_closed(&seg).await,
            Ok(EngineEvent::StreamStarted {
                stream_code,
                stream_param,
                at_ms,
                ..
            }) => {
                self.stream_event(1, &stream_code, &stream_param, at_ms)
                    .await
            }
            Ok(EngineEvent::StreamEnded {
                stream_code, at_ms, ..
            }) => self.stream_event(0, &stream_code, "", at_ms).await,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(missed = n, "the indexer fell behind the engine's events")
            }
            Err(broadcast::error::RecvError::Closed) => return false,
        }
        true
    }
}

/// The running indexer task.
pub struct IndexerHandle {
    stop: mpsc::Sender<()>,
    task: JoinHandle<()>,
}

impl IndexerHandle {
    /// Indexes every event already sent, then ends the task. Call it after the engine has
    /// shut down, so that "already sent" covers every file the engine closed. Gives up after
    /// `limit` (an index that stopped answering must not keep the process alive); files left
    /// unindexed then stay on disk.
    pub async fn drain_and_stop(self, limit: std::time::Duration) {
        let _ = self.stop.send(()).await;
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::error!("the indexer did not finish in time; some files may be unindexed");
        }
    }
}
