//! Channel-mode recording: one task per member source, started and stopped over the API.
//! A task's files carry its id as their `record_id`, so stop can return every file of the
//! task, including those closed earlier by the 90-minute split or an idle close.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tally_api::events::{TaskPhase, TaskState};
use tally_api::rooms::{RecordType, Source};
use tally_api::ErrorCode;
use tally_media::{EndReason, Engine, EngineError, Formats, RecordRequest, RecordingId};
use tokio::sync::Mutex;

use crate::events::end_reason;
use crate::indexer::Indexer;

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
    /// `screen_shot`: a poster for every file.
    pub poster: bool,
}

type TaskKey = (String, String, Source);

/// A task's life: waiting for its stream → recording → ended (stopped, idle, disk full,
/// shutdown). An ended task frees its source for a new start; the first stop after it ended
/// on its own still answers with its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Recording,
    Ended(EndReason),
}

struct Task {
    id: String,
    recording: RecordingId,
    room_id: String,
    user_id: String,
    source: Source,
    stream_code: String,
    phase: Phase,
    /// A client's stop was taken (a second one gets 30000412).
    stop_taken: bool,
}

impl Task {
    fn state(&self, file_ids: Vec<String>) -> TaskState {
        let (phase, end_reason) = match self.phase {
            Phase::Waiting => (TaskPhase::Waiting, None),
            Phase::Recording => (TaskPhase::Recording, None),
            Phase::Ended(r) => (TaskPhase::Ended, Some(end_reason(r))),
        };
        TaskState {
            task_id: self.id.clone(),
            room_id: self.room_id.clone(),
            user_id: self.user_id.clone(),
            source: self.source,
            stream_code: self.stream_code.clone(),
            recording: phase != TaskPhase::Ended,
            phase,
            end_reason,
            file_ids,
        }
    }

    fn running(&self) -> bool {
        !matches!(self.phase, Phase::Ended(_)) && !self.stop_taken
    }
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

    fn is_live(&self, stream_code: &str) -> bool {
        self.engine
            .streams()
            .iter()
            .any(|s| s.live && s.stream_code == stream_code)
    }

    /// Starts recording a member source (waiting for its stream if it is not live yet).
    pub async fn start(&self, req: StartTask) -> Result<String, (ErrorCode, String)> {
        let key = (req.room_id.clone(), req.user_id.clone(), req.source);
        let mut tasks = self.tasks.lock().await;
        if tasks.get(&key).is_some_and(Task::running) {
            return Err((ErrorCode::AlreadyRecording, String::new()));
        }
        let task_id = format!(
            "t{}",
            tally_media::ids::next_id(self.indexer.clock.now_ms())
        );
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
            poster: req.poster,
        };
        let recording = self
            .engine
            .start_recording(request)
            .await
            .map_err(engine_error)?;
        let task = Task {
            id: task_id.clone(),
            recording,
            room_id: req.room_id,
            user_id: req.user_id,
            source: req.source,
            phase: if self.is_live(&req.stream_code) {
                Phase::Recording
            } else {
                Phase::Waiting
            },
            stream_code: req.stream_code,
            stop_taken: false,
        };
        self.indexer.events.task(task.state(Vec::new()));
        tasks.insert(key, task);
        Ok(task_id)
    }

    /// Stops a member source's task and returns every file id of the task. No lock is held
    /// while the engine closes the files, so other starts and stops go on meanwhile.
    pub async fn stop(
        &self,
        room_id: &str,
        user_id: &str,
        source: Source,
    ) -> Result<(String, Vec<String>), (ErrorCode, String)> {
        let key = (room_id.to_owned(), user_id.to_owned(), source);
        let (task_id, recording) = {
            let mut tasks = self.tasks.lock().await;
            let Some(task) = tasks.get_mut(&key) else {
                return Err((
                    ErrorCode::AlreadyStoppedAgain,
                    "no recording was started".into(),
                ));
            };
            if task.stop_taken {
                return Err((ErrorCode::AlreadyStopped, String::new()));
            }
            task.stop_taken = true;
            (task.id.clone(), task.recording)
        };
        let segments = match self.engine.stop_recording(recording).await {
            Ok(segments) => segments,
            // Its files were reported as they closed.
            Err(EngineError::AlreadyStopped(_)) | Err(EngineError::NoSuchRecording(_)) => {
                Vec::new()
            }
            Err(e) => {
                if let Some(task) = self.tasks.lock().await.get_mut(&key) {
                    task.stop_taken = false;
                }
                return Err(engine_error(e));
            }
        };
        // Index them now (one try: the facts path retries) so the answer's ids resolve at once.
        let mut files: Vec<String> = Vec::new();
        for seg in &segments {
            match self.indexer.file_closed(seg).await {
                Ok(id) => files.push(id),
                Err(_) => files.push(seg.file_id.to_string()),
            }
        }
        if let Ok(indexed) = self.indexer.index.files_of_task(&task_id).await {
            files.extend(indexed);
        }
        files.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
        files.dedup();
        let mut tasks = self.tasks.lock().await;
        if let Some(task) = tasks.get_mut(&key).filter(|t| t.id == task_id) {
            if !matches!(task.phase, Phase::Ended(_)) {
                task.phase = Phase::Ended(EndReason::Stopped);
            }
            self.indexer.events.task(task.state(files.clone()));
        }
        Ok((task_id, files))
    }

    /// A recording ended in the engine (every file of it already indexed): its task, if it is
    /// one, ends with the same reason and frees its source.
    pub async fn recording_ended(&self, recording: RecordingId, reason: EndReason) {
        let mut tasks = self.tasks.lock().await;
        let Some(task) = tasks.values_mut().find(|t| t.recording == recording) else {
            return;
        };
        if matches!(task.phase, Phase::Ended(_)) {
            return;
        }
        task.phase = Phase::Ended(reason);
        let files = self
            .indexer
            .index
            .files_of_task(&task.id)
            .await
            .unwrap_or_default();
        tracing::info!(task = %task.id, reason = %end_reason(reason), files = files.len(), "recording task ended");
        self.indexer.events.task(task.state(files));
    }

    /// A stream went live: tasks waiting for it are recording now.
    pub async fn stream_started(&self, stream_code: &str) {
        let mut tasks = self.tasks.lock().await;
        for task in tasks.values_mut() {
            if task.phase == Phase::Waiting && task.stream_code == stream_code {
                task.phase = Phase::Recording;
                self.indexer.events.task(task.state(Vec::new()));
            }
        }
    }

    /// Tasks started and not ended (what billing counts).
    pub async fn active(&self) -> usize {
        self.tasks
            .lock()
            .await
            .values()
            .filter(|t| !matches!(t.phase, Phase::Ended(_)))
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
        EngineError::Stopped | EngineError::TooManyRecordings(_) => ErrorCode::NoRecorder,
        _ => ErrorCode::Internal,
    };
    (code, e.to_string())
}
