//! `StreamActor`: the one owner of a stream code's state — its publisher, timeline, decoder
//! configurations and recordings. Control messages come through an unbounded inbox; media from
//! the current publisher through a bounded channel (backpressure reaches the TCP socket).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::codec::{AudioConfig, Codecs, VideoConfig};
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::events::{EndReason, EngineEvent, Fact, RecordingId, SegmentClosed, StreamStatus};
use crate::frame::{Frame, Kind};
use crate::gop::GopCache;
use crate::meter::{Meter, StreamStats};
use crate::params::PushParams;
use crate::record::{RecordHandle, RecordMsg, RecordSpec};
use crate::timeline::{Timeline, Track};

/// A media message from a publishing connection.
#[derive(Debug)]
pub struct MediaMsg {
    /// RTMP timestamp as received.
    pub raw_ts: u32,
    /// The frame (its `dts` is filled in by the actor).
    pub frame: Frame,
    /// Its bytes in the publisher's budget, given back once the actor has handled it.
    pub spent: crate::budget::Spent,
}

/// Control messages to a stream actor.
pub enum StreamCmd {
    /// A connection wants to publish; `media` carries its frames until it is dropped.
    Publish {
        /// Connection id (for logs).
        conn_id: u64,
        /// Parsed push URL.
        params: PushParams,
        /// Frames from the connection.
        media: mpsc::Receiver<MediaMsg>,
        /// The stream code's lease, held while this publisher is the stream's.
        lease: Option<crate::StreamLease>,
        /// Ok, or the reason for refusal.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Start a manual recording.
    StartManual {
        /// The recording (stream_param and record_id are filled from the publisher).
        spec: RecordSpec,
        /// Result.
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Stop a manual recording.
    StopManual {
        /// Which.
        id: RecordingId,
        /// Its segments.
        reply: oneshot::Sender<Result<Vec<SegmentClosed>, EngineError>>,
    },
    /// The stream's decoder configuration and latest keyframe (streams with a GOP cache).
    LatestKeyframe {
        /// Answered with them, if the stream has both.
        reply: oneshot::Sender<Option<(VideoConfig, Frame)>>,
    },
    /// Finalize everything and exit.
    Shutdown {
        /// Answered when done.
        reply: oneshot::Sender<()>,
    },
}

/// What the engine knows about a manual recording (for `stop_recording`).
#[derive(Debug, Clone)]
pub enum ManualState {
    /// Running on the stream `(app, stream_code)`.
    Running(String, String),
    /// Ended by itself (idle, disk); `stop_recording` returns these segments once.
    Ended(Vec<SegmentClosed>),
    /// Already returned by `stop_recording`.
    Stopped,
}

/// Registry entry of a stream actor.
pub struct StreamEntry {
    /// Its control inbox.
    pub tx: mpsc::UnboundedSender<StreamCmd>,
    /// Its status.
    pub status: watch::Receiver<StreamStatus>,
}

/// State shared by the engine and its actors. Locks are only taken on control paths
/// (publish, start/stop, actor exit), never per frame.
pub struct Shared {
    /// Configuration.
    pub config: EngineConfig,
    /// Telemetry (lossy).
    pub events: broadcast::Sender<EngineEvent>,
    /// Facts (reliable, in order) for the one consumer that took the receiver.
    pub facts: mpsc::UnboundedSender<Fact>,
    /// Live stream actors by (app, stream code).
    pub streams: Mutex<HashMap<(String, String), StreamEntry>>,
    /// Manual recordings by id.
    pub manual: Mutex<HashMap<RecordingId, ManualState>>,
    /// Sidecars of files that could not be finalized yet (a full disk): retried until they are.
    pub deferred: Mutex<Vec<std::path::PathBuf>>,
    /// Open RTMP connections (at most `config.max_connections`).
    pub connections: std::sync::atomic::AtomicUsize,
    /// The threads recordings run on.
    pub recorders: crate::recorders::RecorderThreads,
    /// Where MP4 fragments are fsynced.
    pub syncer: crate::syncer::Syncer,
    /// The threads files are closed on.
    pub(crate) closers: crate::closer::CloseThreads,
    /// The thread segments' posters are made on.
    pub(crate) posters: crate::poster::PosterThread,
}

impl Shared {
    /// Shared state for `config`, and the receiver of its facts.
    pub fn new(config: EngineConfig) -> (Arc<Shared>, mpsc::UnboundedReceiver<Fact>) {
        let (events, _) = broadcast::channel(4096);
        let (facts, facts_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            events,
            facts,
            streams: Mutex::new(HashMap::new()),
            manual: Mutex::new(HashMap::new()),
            deferred: Mutex::new(Vec::new()),
            connections: std::sync::atomic::AtomicUsize::new(0),
            recorders: crate::recorders::RecorderThreads::per_core(),
            syncer: crate::syncer::Syncer::spawn(),
            closers: crate::closer::CloseThreads::new(CLOSE_THREADS),
            posters: crate::poster::PosterThread::default(),
        });
        (shared, facts_rx)
    }

    /// Reports a fact; it is kept in the channel until the consumer takes it.
    pub fn fact(&self, fact: Fact) {
        let _ = self.facts.send(fact);
    }

    /// Remembers a file to finalize once the disk has room again.
    pub fn defer(&self, sidecar: std::path::PathBuf) {
        let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
        if !deferred.contains(&sidecar) {
            deferred.push(sidecar);
        }
    }

    /// Sends `cmd` to the actor of (app, code), starting one if needed. The send happens under
    /// the registry lock, which is also what an exiting actor takes, so no message is lost.
    pub fn send(self: &Arc<Self>, app: &str, code: &str, cmd: StreamCmd) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let key = (app.to_string(), code.to_string());
        let cmd = match streams.get(&key) {
            Some(e) => match e.tx.send(cmd) {
                Ok(()) => return,
                Err(mpsc::error::SendError(cmd)) => cmd,
            },
            None => cmd,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(StreamStatus {
            app: app.into(),
            stream_code: code.into(),
            ..Default::default()
        });
        let _ = tx.send(cmd);
        streams.insert(key, StreamEntry { tx, status });
        let actor = StreamActor::new(self.clone(), app.into(), code.into(), status_tx);
        tokio::spawn(actor.run(rx));
    }

    /// Sends `cmd` to the actor of (app, code) if there is one; false when there is none.
    pub fn send_if_running(&self, app: &str, code: &str, cmd: StreamCmd) -> bool {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams
            .get(&(app.to_string(), code.to_string()))
            .is_some_and(|e| e.tx.send(cmd).is_ok())
    }

    /// Wall-clock time from the configured clock.
    pub fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }
}

struct Publisher {
    conn_id: u64,
    params: PushParams,
    media: mpsc::Receiver<MediaMsg>,
    /// Dropped with the publisher: the code is free for another server then.
    _lease: Option<crate::StreamLease>,
    timeline: Timeline,
    /// Wall clock (unix ms) at timeline 0, set by the first frame.
    anchor_ms: Option<i64>,
}

struct StreamActor {
    shared: Arc<Shared>,
    app: String,
    code: String,
    status: watch::Sender<StreamStatus>,
    publisher: Option<Publisher>,
    codecs: Codecs,
    auto: Option<RecordHandle>,
    manual: Vec<RecordHandle>,
    /// Time of the last media frame; `None` until media flows (no idle close before that).
    last_media: Option<Instant>,
    /// Last publisher's params, kept for a reconnect within the idle window.
    last_params: Option<PushParams>,
    /// Frames not yet handed to the recordings.
    batch: Vec<(Frame, i64)>,
    /// Payload bytes in `batch`.
    batch_bytes: usize,
    /// Frames since the last keyframe, for recordings started mid-GOP.
    gop: GopCache,
    /// Whether this stream keeps `gop` (`EngineConfig::instant_start`, asked at keyframes).
    keep_gop: bool,
    /// Bitrate, frame rate and keyframe interval of the current publish.
    meter: Meter,
}

/// Files closing at the same time at most (`closer.rs`).
const CLOSE_THREADS: usize = 4;
/// Media time a batch of frames may span before it goes to the recordings.
const BATCH_MS: u64 = 100;
/// Frames a batch may hold.
const BATCH_MAX_FRAMES: usize = 64;
/// Payload bytes a batch may hold (past this it goes at once, whatever its length).
const BATCH_MAX_BYTES: usize = 1 << 20;

async fn recv_media(p: &mut Option<Publisher>) -> Option<MediaMsg> {
    match p {
        Some(p) => p.media.recv().await,
        None => std::future::pending().await,
    }
}

impl StreamActor {
    fn new(
        shared: Arc<Shared>,
        app: String,
        code: String,
        status: watch::Sender<StreamStatus>,
    ) -> Self {
        StreamActor {
            shared,
            app,
            code,
            status,
            publisher: None,
            codecs: Codecs::default(),
            auto: None,
            manual: Vec::new(),
            last_media: None,
            last_params: None,
            batch: Vec::new(),
            batch_bytes: 0,
            gop: GopCache::default(),
            keep_gop: false,
            meter: Meter::default(),
        }
    }

    fn emit(&self, e: EngineEvent) {
        let _ = self.shared.events.send(e);
    }

    fn idle_timeout(&self) -> Duration {
        self.shared.config.idle_timeout
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<StreamCmd>) {
        // One timer for the actor's life. It is not moved on every frame (that would re-arm a
        // timer per packet): when it fires early it is pushed to last media + timeout.
        let idle = tokio::time::sleep(self.idle_timeout());
        tokio::pin!(idle);
        let mut armed = false;
        loop {
            let has_recordings = self.auto.is_some() || !self.manual.is_empty();
            if !armed && has_recordings {
                if let Some(t) = self.last_media {
                    idle.as_mut().reset(t + self.idle_timeout());
                    armed = true;
                }
            }
            let mut changed = true;
            tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(cmd) => { if self.on_cmd(cmd).await { return; } }
                    None => { self.close_all(EndReason::Shutdown).await; return; }
                },
                msg = recv_media(&mut self.publisher) => match msg {
                    Some(m) => changed = self.on_media(m).await,
                    None => self.unpublished("connection closed").await,
                },
                _ = &mut idle, if armed => {
                    armed = false;
                    let due = self.last_media.map(|t| t + self.idle_timeout());
                    if has_recordings && due.is_some_and(|d| d <= Instant::now()) {
                        self.on_idle().await;
                    }
                    changed = false;
                }
            }
            if changed {
                self.publish_status();
            }
            if self.publisher.is_none() && self.auto.is_none() && self.manual.is_empty() {
                let mut streams = self
                    .shared
                    .streams
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                match inbox.try_recv() {
                    Ok(cmd) => {
                        drop(streams);
                        if self.on_cmd(cmd).await {
                            return;
                        }
                    }
                    Err(_) => {
                        streams.remove(&(self.app.clone(), self.code.clone()));
                        return;
                    }
                }
            }
        }
    }

    fn emit_stats(&self, stats: StreamStats) {
        let v = self.codecs.video.as_ref();
        self.emit(EngineEvent::StreamStats {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            stats,
            video_codec: self.codecs.video_name(),
            audio_codec: self.codecs.audio_name(),
            width: v.map(|v| v.width),
            height: v.map(|v| v.height),
        });
    }

    fn publish_status(&self) {
        let mut recordings: Vec<RecordingId> = self.manual.iter().map(|r| r.id).collect();
        recordings.extend(self.auto.as_ref().map(|r| r.id));
        let v = self.codecs.video.as_ref();
        self.status.send_replace(StreamStatus {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            live: self.publisher.is_some(),
            stream_param: self
                .publisher
                .as_ref()
                .map(|p| p.params.raw_query.clone())
                .unwrap_or_default(),
            recordings,
            video_codec: self.codecs.video_name(),
            audio_codec: self.codecs.audio_name(),
            width: v.map(|v| v.width),
            height: v.map(|v| v.height),
        });
    }

    /// Returns true when the actor must exit.
    async fn on_cmd(&mut self, cmd: StreamCmd) -> bool {
        match cmd {
            StreamCmd::Publish {
                conn_id,
                params,
                media,
                lease,
                reply,
            } => {
                if self.publisher.as_ref().is_some_and(|p| p.media.is_closed()) {
                    // The previous publisher is gone but its last frames are still queued:
                    // finish them first, so a quick reconnect is not taken for a duplicate.
                    while let Some(m) = self
                        .publisher
                        .as_mut()
                        .and_then(|p| p.media.try_recv().ok())
                    {
                        self.on_media(m).await;
                    }
                    self.unpublished("connection closed").await;
                }
                if let Some(old) = &self.publisher {
                    if !self.shared.config.replace_duplicate_publisher {
                        let why = format!(
                            "stream {} is already published by connection {}",
                            self.code, old.conn_id
                        );
                        let _ = reply.send(Err(why));
                        return false;
                    }
                    self.unpublished("replaced by a new publisher").await;
                }
                self.start_publish(conn_id, params, media, lease).await;
                let _ = reply.send(Ok(()));
            }
            StreamCmd::StartManual { mut spec, reply } => {
                self.flush_batch().await;
                if let Some(p) = self
                    .publisher
                    .as_ref()
                    .map(|p| &p.params)
                    .or(self.last_params.as_ref())
                {
                    spec.stream_param = p.raw_query.clone();
                    spec.record_id = p.record_id.clone();
                }
                let r = match RecordHandle::spawn(spec, self.codecs.clone(), self.shared.clone()) {
                    Ok(h) => {
                        // Start from the last keyframe rather than wait for the next one.
                        let cached = self.gop.frames();
                        if !cached.is_empty() {
                            h.frames(cached).await;
                        }
                        self.manual.push(h);
                        Ok(())
                    }
                    Err(e) => Err(EngineError::io(
                        "spawn recorder",
                        &self.shared.config.data_dir,
                        e,
                    )),
                };
                let _ = reply.send(r);
            }
            StreamCmd::StopManual { id, reply } => {
                self.flush_batch().await;
                let r = match self.manual.iter().position(|h| h.id == id) {
                    Some(i) => Ok(self.manual.remove(i).close(EndReason::Stopped).await),
                    None => Err(EngineError::NoSuchRecording(id.0)),
                };
                let _ = reply.send(r);
            }
            StreamCmd::LatestKeyframe { reply } => {
                let video = self
                    .codecs
                    .video
                    .clone()
                    .filter(|_| self.publisher.is_some());
                let _ = reply.send(video.zip(self.gop.keyframe().cloned()));
            }
            StreamCmd::Shutdown { reply } => {
                self.close_all(EndReason::Shutdown).await;
                self.shared
                    .streams
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&(self.app.clone(), self.code.clone()));
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    async fn start_publish(
        &mut self,
        conn_id: u64,
        params: PushParams,
        media: mpsc::Receiver<MediaMsg>,
        lease: Option<crate::StreamLease>,
    ) {
        tracing::info!(conn_id, app = %self.app, stream = %self.code, "publish started");
        let at_ms = self.shared.now_ms();
        self.shared.fact(Fact::StreamStarted {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            stream_param: params.raw_query.clone(),
            at_ms,
        });
        self.emit(EngineEvent::StreamStarted {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            stream_param: params.raw_query.clone(),
            at_ms,
        });
        // A new publish may bring new codecs and a new timeline; nothing old may leak into it.
        self.codecs = Codecs::default();
        self.gop.clear();
        self.meter = Meter::default();
        self.start_auto(&params);
        self.publisher = Some(Publisher {
            conn_id,
            params,
            media,
            _lease: lease,
            timeline: Timeline::new(),
            anchor_ms: None,
        });
    }

    /// Starts the push URL's automatic recording unless one is already running.
    fn start_auto(&mut self, params: &PushParams) {
        let cfg = &self.shared.config;
        let formats = params.formats.unwrap_or(cfg.default_formats);
        if self.auto.is_none() && !formats.is_empty() {
            let spec = RecordSpec {
                id: RecordingId::next(cfg.clock.now_ms()),
                manual: false,
                label: String::new(),
                app: self.app.clone(),
                stream_code: self.code.clone(),
                stream_param: params.raw_query.clone(),
                record_id: params.record_id.clone(),
                formats,
                interval: params.interval.unwrap_or(cfg.default_interval),
                audio_only: false,
                posters: cfg.posters,
                data_dir: cfg.data_dir.clone(),
                free_space_reserve: cfg.free_space_reserve,
            };
            match RecordHandle::spawn(spec, self.codecs.clone(), self.shared.clone()) {
                Ok(h) => self.auto = Some(h),
                Err(e) => {
                    tracing::error!(stream = %self.code, error = %e, "cannot start recorder thread")
                }
            }
        }
    }

    async fn unpublished(&mut self, reason: &str) {
        self.flush_batch().await;
        let Some(p) = self.publisher.take() else {
            return;
        };
        tracing::info!(conn_id = p.conn_id, stream = %self.code, reason, "publish ended");
        self.gop.clear();
        self.last_params = Some(p.params);
        let at_ms = self.shared.now_ms();
        self.shared.fact(Fact::StreamEnded {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            at_ms,
        });
        self.emit(EngineEvent::StreamEnded {
            app: self.app.clone(),
            stream_code: self.code.clone(),
            at_ms,
            reason: reason.to_string(),
        });
        for r in self.auto.iter().chain(&self.manual) {
            r.send(RecordMsg::Pause).await;
        }
        if self.last_media.is_none() {
            // Never got media: nothing to keep a window open for (manual ones keep waiting).
            if let Some(a) = self.auto.take() {
                a.close(EndReason::IdleTimeout).await;
            }
        }
    }

    /// Handles a frame; returns true when the stream's status changed (codecs, recordings).
    async fn on_media(&mut self, m: MediaMsg) -> bool {
        let Some(p) = self.publisher.as_mut() else {
            return false;
        };
        let mut frame = m.frame;
        let track = if frame.is_audio() {
            Track::Audio
        } else {
            Track::Video
        };
        frame.dts = p.timeline.map(m.raw_ts, track).ms;
        let anchor = *p
            .anchor_ms
            .get_or_insert_with(|| self.shared.now_ms() - frame.dts as i64);
        let wall = anchor + frame.dts as i64;
        let resumed = self.last_media.is_none() && frame.dts > 0;
        self.last_media = Some(Instant::now());
        if resumed && self.auto.is_none() {
            // Media came back after an idle close on the same connection: a new session.
            let params = p.params.clone();
            self.start_auto(&params);
        }
        match frame.kind {
            Kind::VideoConfig => match VideoConfig::from_frame(&frame) {
                Ok(v) => self.codecs.video = Some(v),
                Err(e) => {
                    tracing::warn!(stream = %self.code, error = %e, "ignoring bad video configuration");
                    return false;
                }
            },
            Kind::AudioConfig => match AudioConfig::from_frame(&frame) {
                Ok(a) => self.codecs.audio = Some(a),
                Err(e) => {
                    tracing::warn!(stream = %self.code, error = %e, "ignoring bad audio configuration");
                    return false;
                }
            },
            // Frames of a codec other than the configured one (a codec switch without a new
            // sequence header, audio whose configuration was refused) are not recorded.
            Kind::Video | Kind::Audio
                if self
                    .codecs
                    .configured(frame.kind)
                    .is_some_and(|c| c != frame.codec) =>
            {
                return false
            }
            _ => {}
        }
        let config_changed = matches!(frame.kind, Kind::VideoConfig | Kind::AudioConfig);
        if config_changed {
            // Frames before the change must reach the recordings with the old configuration.
            self.flush_batch().await;
            for r in self.auto.iter().chain(&self.manual) {
                r.send(RecordMsg::Codecs(Box::new(self.codecs.clone())))
                    .await;
            }
        }
        if self.codecs.video.is_some() {
            if frame.kind == Kind::Video && frame.keyframe {
                self.keep_gop = self.shared.config.instant_start.wants(&self.code);
                if !self.keep_gop {
                    self.gop.clear();
                }
            }
            if self.keep_gop {
                self.gop.push(&frame, wall);
            }
        }
        if matches!(frame.kind, Kind::Video | Kind::Audio) {
            let video = frame.kind == Kind::Video;
            let size = frame.payload().len();
            if let Some(stats) = self.meter.on_frame(frame.dts, size, video, frame.keyframe) {
                self.emit_stats(stats);
            }
        }
        let first = self.batch.first().map(|(f, _)| f.dts);
        let dts = frame.dts;
        self.batch_bytes += frame.body.len();
        self.batch.push((frame, wall));
        if config_changed
            || self.batch.len() >= BATCH_MAX_FRAMES
            || self.batch_bytes >= BATCH_MAX_BYTES
            || first.is_some_and(|d| dts.saturating_sub(d) >= BATCH_MS)
        {
            self.flush_batch().await;
        }
        config_changed || resumed
    }

    /// Hands the batched frames to every recording.
    async fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        for r in self.auto.iter().chain(&self.manual) {
            r.frames(batch.clone()).await;
        }
    }

    /// No media for the idle timeout: end every recording, keeping all files.
    async fn on_idle(&mut self) {
        tracing::info!(stream = %self.code, timeout_s = self.idle_timeout().as_secs_f32(), "idle: closing recordings");
        self.close_all(EndReason::IdleTimeout).await;
        self.last_media = None;
    }

    async fn close_all(&mut self, reason: EndReason) {
        self.flush_batch().await;
        if let Some(a) = self.auto.take() {
            a.close(reason).await;
        }
        for m in std::mem::take(&mut self.manual) {
            let id = m.id;
            let segments = m.close(reason).await;
            let mut manual = self.shared.manual.lock().unwrap_or_else(|p| p.into_inner());
            if matches!(manual.get(&id), Some(ManualState::Running(..))) {
                manual.insert(id, ManualState::Ended(segments));
            }
        }
    }
}
