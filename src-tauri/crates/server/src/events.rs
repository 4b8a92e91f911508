//! The live event hub behind `GET /v1/events`: numbers every event, keeps the last ones so a
//! client that reconnects with `Last-Event-ID` misses nothing, and knows the current streams
//! and open files so a new client starts from the present state.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tally_api::events::{LiveEvent, SegmentStatus, StreamState, TaskState};
use tally_api::{ErrorCode, Lang};
use tally_media::{EndReason, EngineEvent, SegmentClosed};
use tokio::sync::broadcast;

/// Events kept for clients that resume.
const BACKLOG: usize = 2048;

/// An event as the hub keeps it: errors are localized per client, so they keep their code.
#[derive(Clone, Debug)]
pub enum HubEvent {
    Ready(LiveEvent),
    Error {
        stream_code: String,
        recording_id: Option<String>,
        code: ErrorCode,
        detail: String,
    },
}

impl HubEvent {
    /// The event as a client reading `lang` receives it.
    pub fn localized(&self, lang: Lang) -> LiveEvent {
        match self {
            HubEvent::Ready(event) => event.clone(),
            HubEvent::Error {
                stream_code,
                recording_id,
                code,
                detail,
            } => LiveEvent::Error {
                stream_code: stream_code.clone(),
                recording_id: recording_id.clone(),
                error: tally_api::ApiError::with_detail(*code, lang, detail),
            },
        }
    }
}

/// An event and its position: `<epoch>-<seq>`, where the epoch is the hub's start time so
/// that ids from before a restart are recognized as such.
#[derive(Clone, Debug)]
pub struct Numbered {
    pub seq: u64,
    pub event: Arc<HubEvent>,
}

/// What a new subscriber gets: where to start, then live events.
pub struct Subscription {
    /// The client's last id was unknown or too old: it must reload state.
    pub resync: bool,
    /// Events to send first, in order.
    pub backlog: Vec<Numbered>,
    /// Live events after the backlog, without a gap.
    pub live: broadcast::Receiver<Numbered>,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    backlog: VecDeque<Numbered>,
    streams: BTreeMap<String, StreamState>,
    /// Open files by path relative to the data dir.
    segments: BTreeMap<String, SegmentStatus>,
}

/// The hub; cheap to clone.
#[derive(Clone)]
pub struct EventHub {
    epoch: u64,
    data_dir: Arc<Path>,
    state: Arc<Mutex<State>>,
    sender: broadcast::Sender<Numbered>,
    /// Set when the service stops: open event streams end so connections can close.
    closing: tokio::sync::watch::Sender<bool>,
}

impl EventHub {
    /// A hub whose file paths are reported relative to `data_dir`.
    pub fn new(data_dir: &Path) -> EventHub {
        EventHub {
            epoch: crate::now_ms() as u64,
            data_dir: data_dir.into(),
            state: Arc::new(Mutex::new(State {
                next_seq: 1,
                ..State::default()
            })),
            sender: broadcast::channel(BACKLOG).0,
            closing: tokio::sync::watch::channel(false).0,
        }
    }

    /// Ends every open event stream (the service is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`EventHub::close`] was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The SSE id of `seq`.
    pub fn id_of(&self, seq: u64) -> String {
        format!("{}-{seq}", self.epoch)
    }

    fn publish_locked(&self, state: &mut State, event: HubEvent) {
        let numbered = Numbered {
            seq: state.next_seq,
            event: Arc::new(event),
        };
        state.next_seq += 1;
        if state.backlog.len() == BACKLOG {
            state.backlog.pop_front();
        }
        state.backlog.push_back(numbered.clone());
        // No receivers is fine: nobody is listening.
        let _ = self.sender.send(numbered);
    }

    /// Numbers and sends an event.
    pub fn publish(&self, event: HubEvent) {
        let mut state = self.lock();
        self.publish_locked(&mut state, event);
    }

    /// Subscribes, resuming after `last_event_id` when the hub still holds what followed it.
    /// Without an id, the backlog is the present: every live stream and every open file.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let state = self.lock();
        // Subscribed under the lock, so nothing published falls between backlog and live.
        let live = self.sender.subscribe();
        let Some(last) = last_event_id else {
            return Subscription {
                resync: false,
                backlog: self.present(&state),
                live,
            };
        };
        let oldest = state.backlog.front().map_or(state.next_seq, |n| n.seq);
        match self.parse_id(last) {
            Some(seq) if seq + 1 >= oldest && seq < state.next_seq => Subscription {
                resync: false,
                backlog: state
                    .backlog
                    .iter()
                    .filter(|n| n.seq > seq)
                    .cloned()
                    .collect(),
                live,
            },
            _ => Subscription {
                resync: true,
                backlog: self.present(&state),
                live,
            },
        }
    }

    /// The current streams and open files as unnumbered events (`seq` 0).
    fn present(&self, state: &State) -> Vec<Numbered> {
        let streams = state
            .streams
            .values()
            .map(|s| LiveEvent::StreamState(s.clone()));
        let segments = state
            .segments
            .values()
            .map(|s| LiveEvent::SegmentProgress(s.clone()));
        streams
            .chain(segments)
            .map(|e| Numbered {
                seq: 0,
                event: Arc::new(HubEvent::Ready(e)),
            })
            .collect()
    }

    fn parse_id(&self, id: &str) -> Option<u64> {
        let (epoch, seq) = id.trim().split_once('-')?;
        (epoch.parse::<u64>().ok()? == self.epoch)
            .then(|| seq.parse().ok())
            .flatten()
    }

    fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&*self.data_dir).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// Takes in an engine event. Closed files are published by [`EventHub::file_indexed`]
    /// instead, once they have an id.
    pub fn engine_event(&self, event: &EngineEvent) {
        let mut state = self.lock();
        let event = match event {
            EngineEvent::StreamStarted { stream_code, .. } => {
                let stream = state.streams.entry(stream_code.clone()).or_default();
                *stream = StreamState {
                    stream_code: stream_code.clone(),
                    live: true,
                    ..StreamState::default()
                };
                HubEvent::Ready(LiveEvent::StreamState(stream.clone()))
            }
            EngineEvent::StreamEnded {
                stream_code,
                reason,
                ..
            } => {
                let mut stream = state.streams.remove(stream_code).unwrap_or_default();
                stream.stream_code = stream_code.clone();
                stream.live = false;
                stream.reason = Some(reason.clone());
                HubEvent::Ready(LiveEvent::StreamState(stream))
            }
            EngineEvent::SegmentOpened {
                recording,
                stream_code,
                format,
                path,
                start_ms,
                ..
            } => {
                let segment = SegmentStatus::opened(
                    recording.to_string(),
                    stream_code.clone(),
                    file_format(*format),
                    self.relative(path),
                    *start_ms,
                );
                state.segments.insert(segment.file.clone(), segment.clone());
                if let Some(stream) = state.streams.get_mut(stream_code) {
                    let id = recording.to_string();
                    if !stream.recordings.contains(&id) {
                        stream.recordings.push(id);
                    }
                }
                HubEvent::Ready(LiveEvent::SegmentOpened(segment))
            }
            EngineEvent::SegmentProgress {
                path,
                bytes,
                duration_ms,
                bitrate_kbps,
                fps,
                last_keyframe_ms,
                width,
                height,
                ..
            } => {
                let file = self.relative(path);
                let Some(segment) = state.segments.get_mut(&file) else {
                    return;
                };
                segment.bytes = *bytes as i64;
                segment.duration_ms = *duration_ms as i64;
                segment.bitrate_kbps = *bitrate_kbps;
                segment.fps = *fps;
                segment.last_keyframe_ms = *last_keyframe_ms as i64;
                segment.width = width.map(i64::from);
                segment.height = height.map(i64::from);
                let segment = segment.clone();
                if let Some(stream) = state.streams.get_mut(&segment.stream_code) {
                    stream.width = segment.width;
                    stream.height = segment.height;
                }
                HubEvent::Ready(LiveEvent::SegmentProgress(segment))
            }
            EngineEvent::RecordingEnded {
                recording,
                stream_code,
                reason,
            } => {
                let id = recording.to_string();
                if let Some(stream) = state.streams.get_mut(stream_code) {
                    stream.recordings.retain(|r| *r != id);
                }
                HubEvent::Ready(LiveEvent::RecordingEnded {
                    recording_id: id,
                    stream_code: stream_code.clone(),
                    reason: end_reason(*reason),
                })
            }
            EngineEvent::RecorderError {
                recording,
                stream_code,
                code,
                detail,
            } => HubEvent::Error {
                stream_code: stream_code.clone(),
                recording_id: recording.map(|r| r.to_string()),
                code: ErrorCode::from_u32(*code).unwrap_or(ErrorCode::Internal),
                detail: detail.clone(),
            },
            EngineEvent::StreamStats {
                stream_code,
                stats,
                video_codec,
                audio_codec,
                width,
                height,
                ..
            } => {
                let Some(stream) = state.streams.get_mut(stream_code) else {
                    return;
                };
                stream.bitrate_kbps = stats.bitrate_kbps;
                stream.fps = stats.fps;
                stream.keyframe_interval_ms = stats.keyframe_interval_ms as i64;
                stream.video_codec = video_codec.clone();
                stream.audio_codec = audio_codec.clone();
                stream.width = width.map(i64::from);
                stream.height = height.map(i64::from);
                HubEvent::Ready(LiveEvent::StreamState(stream.clone()))
            }
            EngineEvent::SegmentClosed(_) => return,
        };
        self.publish_locked(&mut state, event);
    }

    /// A closed file was indexed under `file_id`.
    pub fn file_indexed(&self, seg: &SegmentClosed, file_id: &str) {
        let mut state = self.lock();
        let file = self.relative(&seg.path);
        let open = state.segments.remove(&file);
        let segment = SegmentStatus {
            recording_id: seg.recording.to_string(),
            stream_code: seg.stream_code.clone(),
            format: file_format(seg.format),
            file,
            start_ms: seg.start_ms,
            bytes: seg.size as i64,
            duration_ms: seg.duration_ms as i64,
            bitrate_kbps: open.as_ref().map_or(0, |s| s.bitrate_kbps),
            fps: open.as_ref().map_or(0.0, |s| s.fps),
            last_keyframe_ms: open.as_ref().map_or(0, |s| s.last_keyframe_ms),
            width: seg.width.map(i64::from),
            height: seg.height.map(i64::from),
        };
        let event = LiveEvent::SegmentClosed {
            segment,
            file_id: file_id.to_owned(),
        };
        self.publish_locked(&mut state, HubEvent::Ready(event));
    }

    /// A channel-mode task changed.
    pub fn task(&self, task: TaskState) {
        self.publish(HubEvent::Ready(LiveEvent::TaskState(task)));
    }

    /// Forwards the engine's events until its channel closes.
    pub fn follow(&self, mut events: broadcast::Receiver<EngineEvent>) {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => hub.engine_event(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "live events fell behind the engine");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// The API's name for why the engine ended a recording.
pub(crate) fn end_reason(reason: EndReason) -> tally_api::events::EndReason {
    use tally_api::events::EndReason as Api;
    match reason {
        EndReason::Stopped => Api::Stopped,
        EndReason::IdleTimeout => Api::IdleTimeout,
        EndReason::DiskFull => Api::DiskFull,
        EndReason::Shutdown => Api::Shutdown,
    }
}

/// The API's name for one of the engine's containers.
pub(crate) fn file_format(format: tally_media::Format) -> tally_api::recordings::FileFormat {
    use tally_api::recordings::FileFormat as Api;
    match format {
        tally_media::Format::Flv => Api::Flv,
        tally_media::Format::Hls => Api::Hls,
        tally_media::Format::Mp4 => Api::Mp4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(code: &str) -> EngineEvent {
        EngineEvent::StreamStarted {
            app: "live".into(),
            stream_code: code.into(),
            stream_param: String::new(),
            at_ms: 1,
        }
    }

    fn seqs(sub: &Subscription) -> Vec<u64> {
        sub.backlog.iter().map(|n| n.seq).collect()
    }

    #[test]
    fn a_new_client_gets_the_present_state_then_live_events() {
        let hub = EventHub::new(Path::new("/data"));
        hub.engine_event(&started("a"));
        hub.engine_event(&started("b"));
        hub.engine_event(&EngineEvent::StreamEnded {
            app: "live".into(),
            stream_code: "a".into(),
            at_ms: 2,
            reason: "unpublished".into(),
        });
        let mut sub = hub.subscribe(None);
        assert!(!sub.resync);
        let present: Vec<LiveEvent> = sub
            .backlog
            .iter()
            .map(|n| n.event.localized(Lang::En))
            .collect();
        assert_eq!(present.len(), 1, "only b is live: {present:?}");
        assert!(matches!(&present[0], LiveEvent::StreamState(s) if s.stream_code == "b" && s.live));
        hub.engine_event(&started("c"));
        assert_eq!(sub.live.try_recv().unwrap().seq, 4);
    }

    #[test]
    fn resuming_replays_exactly_what_followed_the_last_id() {
        let hub = EventHub::new(Path::new("/data"));
        for code in ["a", "b", "c", "d"] {
            hub.engine_event(&started(code));
        }
        let sub = hub.subscribe(Some(&hub.id_of(2)));
        assert!(!sub.resync);
        assert_eq!(seqs(&sub), vec![3, 4]);
        let caught_up = hub.subscribe(Some(&hub.id_of(4)));
        assert!(!caught_up.resync);
        assert!(caught_up.backlog.is_empty());
    }

    #[test]
    fn an_id_from_another_run_or_too_old_asks_for_a_resync() {
        let hub = EventHub::new(Path::new("/data"));
        for i in 0..(BACKLOG + 10) {
            hub.engine_event(&started(&format!("s{i}")));
        }
        assert!(
            hub.subscribe(Some(&hub.id_of(3))).resync,
            "dropped from the backlog"
        );
        assert!(hub.subscribe(Some("1-5")).resync, "another epoch");
        assert!(hub.subscribe(Some("garbage")).resync);
        let newest = (BACKLOG + 10) as u64;
        assert!(!hub.subscribe(Some(&hub.id_of(newest - 1))).resync);
    }

    #[test]
    fn errors_are_localized_per_client() {
        let hub = EventHub::new(Path::new("/data"));
        hub.engine_event(&EngineEvent::RecorderError {
            recording: None,
            stream_code: "a".into(),
            code: 2,
            detail: "disk".into(),
        });
        let sub = hub.subscribe(Some(&format!("{}-0", hub.epoch)));
        let en = sub.backlog[0].event.localized(Lang::En);
        let zh = sub.backlog[0].event.localized(Lang::ZhCn);
        let (LiveEvent::Error { error: en, .. }, LiveEvent::Error { error: zh, .. }) = (en, zh)
        else {
            panic!("an error event");
        };
        assert_eq!((en.code, zh.code), (2, 2));
        assert_ne!(en.advice, zh.advice);
    }

    #[test]
    fn progress_updates_the_open_file_and_closing_removes_it() {
        let hub = EventHub::new(Path::new("/data"));
        hub.engine_event(&started("a"));
        let path = Path::new("/data/vod/a/1.mp4").to_path_buf();
        hub.engine_event(&EngineEvent::SegmentOpened {
            recording: tally_media::RecordingId(7),
            app: "live".into(),
            stream_code: "a".into(),
            format: tally_media::Format::Mp4,
            path: path.clone(),
            start_ms: 10,
        });
        hub.engine_event(&EngineEvent::SegmentProgress {
            recording: tally_media::RecordingId(7),
            stream_code: "a".into(),
            format: tally_media::Format::Mp4,
            path: path.clone(),
            bytes: 1000,
            duration_ms: 2000,
            bitrate_kbps: 4,
            fps: 25.0,
            last_keyframe_ms: 1000,
            width: Some(320),
            height: Some(240),
        });
        let present = hub.subscribe(None).backlog;
        let open = present
            .iter()
            .find_map(|n| match n.event.localized(Lang::En) {
                LiveEvent::SegmentProgress(s) => Some(s),
                _ => None,
            })
            .expect("the open file is part of the present state");
        assert_eq!((open.file.as_str(), open.bytes), ("vod/a/1.mp4", 1000));
        assert!(matches!(
            present[0].event.localized(Lang::En),
            LiveEvent::StreamState(s) if s.recordings == vec!["7".to_owned()] && s.width == Some(320)
        ));
    }
}
