//! Channel-mode recording: one task per member source, started and stopped over the API.
//! A task's files carry its id as their `record_id`, so stop can return every file of the
//! task, including those closed earlier by the 90-minute split or an idle close.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tally_api::events::TaskState;
use tally_api::rooms::{RecordType, Source};
use tally_api::ErrorCode;
use tally_media::{Engine, EngineError, Formats, RecordRequest, RecordingId};
use tokio::sync::Mutex;

use crate::indexer::Indexer;
use crate::now_ms;

/// Channel mode writes one MP4 per 90 minutes.
pub const CHANNEL_INTERVAL: Duration = Duration::from_secs(90 * 60);

/// What the service puts in the engine's opaque label, read back by the indexer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskLabel {
    pub task_id: String,
    pub room_id: String,
    pub user_id: String,
    pub file_name: String,
    pub tags: Vec<String>,
}

impl TaskLabel {
    /// The label of a manual recording, if `label` is one.
    pub fn parse(label: &str) -> Option<TaskLabel> {
        label
            .starts_with('{')
            .then(|| serde_json::from_str(label).ok())
            .flatten()
    }
}

/// What to start.
pub struct StartTask {
    pub room_id: String,
    pub user_id: String,
    pub source: Source,
    pub record_type: RecordType,
    pub stream_code: String,
    pub file_name: String,
    pub tags: Vec<String>,
}

type TaskKey = (String, String, Source);

struct Task {
    id: String,
    recording: RecordingId,
    stream_code: String,
    active: bool,
}

/// Every task, by member source.
#[derive(Clone)]
pub struct RecordTasks {
    engine: Arc<Engine>,
    indexer: Indexer,
    tasks: Arc<Mutex<HashMap<TaskKey, Task>>>,
}

impl RecordTasks {
    /// Tasks recorded by `engine`, indexed by `indexer`.
    pub fn new(engine: Arc<Engine>, indexer: Indexer) -> RecordTasks {
        RecordTasks {
            engine,
            indexer,
            tasks: Arc::default(),
        }
    }

    /// Starts recording a member source (waiting for its stream if it is not live yet).
    pub async fn start(&self, req: StartTask) -> Result<String, (ErrorCode, String)> {
        let key = (req.room_id.clone(), req.user_id.clone(), req.source);
        let mut tasks = self.tasks.lock().await;
        if tasks.get(&key).is_some_and(|t| t.active) {
            return Err((ErrorCode::AlreadyRecording, String::new()));
        }
        let task_id = format!("t{}", crate::ids::next_file_id(now_ms()));
        let label = TaskLabel {
            task_id: task_id.clone(),
            room_id: req.room_id.clone(),
            user_id: req.user_id.clone(),
            file_name: req.file_name,
            tags: req.tags,
        };
        let request = RecordRequest {
            app: "live".into(),
            stream_code: req.stream_code.clone(),
            formats: Formats::MP4,
            interval: CHANNEL_INTERVAL,
            audio_only: req.record_type == RecordType::Audio,
            label: serde_json::to_string(&label).expect("label serializes"),
        };
        let recording = self
            .engine
            .start_recording(request)
            .await
            .map_err(engine_error)?;
        self.indexer.events.task(TaskState {
            task_id: task_id.clone(),
            room_id: req.room_id,
            user_id: req.user_id,
            source: req.source,
            stream_code: req.stream_code.clone(),
            recording: true,
            file_ids: Vec::new(),
        });
        tasks.insert(
            key,
            Task {
                id: task_id.clone(),
                recording,
                stream_code: req.stream_code,
                active: true,
            },
        );
        Ok(task_id)
    }

    /// Stops a member source's task and returns every file id of the task.
    pub async fn stop(
        &self,
        room_id: &str,
        user_id: &str,
        source: Source,
    ) -> Result<(String, Vec<String>), (ErrorCode, String)> {
        let key = (room_id.to_owned(), user_id.to_owned(), source);
        let mut tasks = self.tasks.lock().await;
        let Some(task) = tasks.get_mut(&key) else {
            return Err((
                ErrorCode::AlreadyStoppedAgain,
                "no recording was started".into(),
            ));
        };
        if !task.active {
            return Err((ErrorCode::AlreadyStopped, String::new()));
        }
        task.active = false;
        let task_id = task.id.clone();
        let stream_code = task.stream_code.clone();
        match self.engine.stop_recording(task.recording).await {
            // Index them now rather than wait for the events, so the answer lists them all.
            Ok(segments) => {
                for seg in &segments {
                    self.indexer.file_closed(seg).await;
                }
            }
            // Closed already (idle timeout, disk full): its files were indexed as they closed.
            Err(EngineError::AlreadyStopped(_)) | Err(EngineError::NoSuchRecording(_)) => {}
            Err(e) => return Err(engine_error(e)),
        }
        drop(tasks);
        let files = self
            .indexer
            .index
            .files_of_task(&task_id)
            .await
            .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
        self.indexer.events.task(TaskState {
            task_id: task_id.clone(),
            room_id: room_id.to_owned(),
            user_id: user_id.to_owned(),
            source,
            stream_code,
            recording: false,
            file_ids: files.clone(),
        });
        Ok((task_id, files))
    }

    /// Tasks started and not stopped.
    pub async fn active(&self) -> usize {
        self.tasks
            .lock()
            .await
            .values()
            .filter(|t| t.active)
            .count()
    }

    /// The engine's streams, for status and metrics.
    pub fn streams(&self) -> Vec<tally_media::StreamStatus> {
        self.engine.streams()
    }

    /// Stops every task of a member who left the room.
    pub async fn stop_member(&self, room_id: &str, user_id: &str) {
        for source in [Source::Camera, Source::Screen] {
            let _ = self.stop(room_id, user_id, source).await;
        }
    }
}

fn engine_error(e: EngineError) -> (ErrorCode, String) {
    let code = match &e {
        EngineError::DiskBelowReserve { .. } => ErrorCode::StorageFull,
        EngineError::AlreadyRecording(_) => ErrorCode::AlreadyRecording,
        EngineError::Stopped => ErrorCode::NoRecorder,
        _ => ErrorCode::Internal,
    };
    (code, e.to_string())
}
