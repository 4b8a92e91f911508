//! The engine's public face (`docs/engine-api.md`): start, events, manual recording, shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{EngineConfig, Formats, MAX_INTERVAL, MIN_INTERVAL};
use crate::disk;
use crate::error::{EngineError, Result};
use crate::events::{EngineEvent, Fact, RecordingId, SegmentClosed, StreamStatus};
use crate::params::is_safe_name;
use crate::poster;
use crate::record::RecordSpec;
use crate::recovery;
use crate::stream::{ManualState, Shared, StreamCmd};
use crate::{rtmp, srt};

/// How often files whose close hit a full disk are tried again.
const DEFERRED_RETRY: Duration = Duration::from_secs(5);

/// A manual (channel-mode) recording request.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// RTMP app, usually "live".
    pub app: String,
    /// The stream to record.
    pub stream_code: String,
    /// Containers (channel mode: MP4 only).
    pub formats: Formats,
    /// Segment length (channel mode: 90 min).
    pub interval: Duration,
    /// `record_type` audio: M4A-compatible MP4 without video.
    pub audio_only: bool,
    /// Opaque, carried into every event of the recording (the service puts `file_name` here).
    pub label: String,
    /// Make a poster (thumbnail JPEG) for every segment (channel mode's `screen_shot`).
    pub poster: bool,
}

/// The running media engine. Dropping it stops accepting connections; call
/// [`Engine::shutdown`] first to finalize open files.
pub struct Engine {
    shared: Arc<Shared>,
    rtmp_addr: SocketAddr,
    srt_addr: Option<SocketAddr>,
    recovered: Vec<SegmentClosed>,
    facts: Mutex<Option<mpsc::UnboundedReceiver<Fact>>>,
    accept: JoinHandle<()>,
    srt_accept: Option<JoinHandle<()>>,
    deferred: JoinHandle<()>,
    /// The last preview of each stream and the keyframe (its DTS) it shows: a keyframe is
    /// decoded once however often its preview is asked for.
    previews: Mutex<HashMap<(String, String), (u64, Bytes)>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

impl Engine {
    /// Runs startup recovery of leftover `.part` files, then binds RTMP.
    pub async fn start(config: EngineConfig) -> Result<Engine> {
        disk::create_dirs(&config.data_dir)?;
        let data_dir = config.data_dir.clone();
        let recovered = tokio::task::spawn_blocking(move || recovery::recover(&data_dir))
            .await
            .map_err(|e| EngineError::Invalid(format!("recovery task failed: {e}")))?;
        let listener = TcpListener::bind(config.rtmp_addr)
            .await
            .map_err(|source| EngineError::Bind {
                addr: config.rtmp_addr,
                source,
            })?;
        let rtmp_addr = listener.local_addr().map_err(|source| EngineError::Bind {
            addr: config.rtmp_addr,
            source,
        })?;
        let srt = match config.srt_addr {
            Some(addr) => Some(
                srt::bind(addr)
                    .await
                    .map_err(|source| EngineError::Bind { addr, source })?,
            ),
            None => None,
        };
        let srt_addr = srt.as_ref().map(|l| l.addr);
        let (shared, facts) = Shared::new(config);
        for sidecar in recovered.deferred {
            shared.defer(sidecar);
        }
        let recovered = recovered.segments;
        let accept = tokio::spawn(rtmp::accept_loop(listener, shared.clone()));
        let srt_accept = srt.map(|l| tokio::spawn(srt::accept_loop(l, shared.clone())));
        let deferred = tokio::spawn(retry_deferred(shared.clone()));
        tracing::info!(%rtmp_addr, srt_addr = ?srt_addr, recovered = recovered.len(), "media engine started");
        Ok(Engine {
            shared,
            rtmp_addr,
            srt_addr,
            recovered,
            facts: Mutex::new(Some(facts)),
            accept,
            srt_accept,
            deferred,
            previews: Mutex::default(),
        })
    }

    /// The bound RTMP address (the real port when 0 was asked for).
    pub fn rtmp_addr(&self) -> SocketAddr {
        self.rtmp_addr
    }

    /// The bound SRT address, when SRT ingest is on.
    pub fn srt_addr(&self) -> Option<SocketAddr> {
        self.srt_addr
    }

    /// Stops taking new publishers (RTMP and SRT) and retrying deferred work.
    fn stop_accepting(&self) {
        self.accept.abort();
        if let Some(srt) = &self.srt_accept {
            srt.abort();
        }
        self.deferred.abort();
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Segments finalized by startup recovery (the service indexes them and queues callbacks).
    pub fn recovered_segments(&self) -> Vec<SegmentClosed> {
        self.recovered.clone()
    }

    /// The facts channel (files closed, recordings ended, streams started and ended), for the
    /// one consumer that must act on every fact; `None` once taken. Facts wait in the channel
    /// until they are taken, however long that is.
    pub fn take_facts(&self) -> Option<mpsc::UnboundedReceiver<Fact>> {
        self.facts.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// A receiver of every telemetry event from now on (lossy: a slow receiver misses some).
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.shared.events.subscribe()
    }

    /// Every stream code with a publisher or a recording.
    pub fn streams(&self) -> Vec<StreamStatus> {
        let streams = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<StreamStatus> = streams
            .values()
            .map(|e| e.status.borrow().clone())
            .collect();
        v.sort_by(|a, b| (&a.app, &a.stream_code).cmp(&(&b.app, &b.stream_code)));
        v
    }

    /// A JPEG of the live stream's latest keyframe; `None` when the stream is not live, has
    /// no video, or keeps no GOP ([`EngineConfig::instant_start`]: room members' streams do).
    pub async fn preview(&self, app: &str, stream_code: &str) -> Result<Option<Bytes>> {
        let (reply, answer) = oneshot::channel();
        let asked = StreamCmd::LatestKeyframe { reply };
        if !self.shared.send_if_running(app, stream_code, asked) {
            return Ok(None);
        }
        let Ok(Some((video, keyframe))) = answer.await else {
            return Ok(None);
        };
        let key = (app.to_owned(), stream_code.to_owned());
        let cached = self
            .previews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some((_, jpeg)) = cached.filter(|(dts, _)| *dts == keyframe.dts) {
            return Ok(Some(jpeg));
        }
        let dts = keyframe.dts;
        let jpeg = tokio::task::spawn_blocking(move || poster::jpeg(&video, keyframe.payload()))
            .await
            .map_err(|e| EngineError::Invalid(format!("preview task failed: {e}")))?
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let jpeg = Bytes::from(jpeg);
        let live = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut previews = self.previews.lock().unwrap_or_else(|p| p.into_inner());
        previews.retain(|k, _| live.contains_key(k));
        previews.insert(key, (dts, jpeg.clone()));
        Ok(Some(jpeg))
    }

    /// Starts a manual recording; if the stream is not live yet the recording waits for it.
    pub async fn start_recording(&self, req: RecordRequest) -> Result<RecordingId> {
        if !is_safe_name(&req.app) || !is_safe_name(&req.stream_code) {
            return Err(EngineError::Invalid(format!(
                "bad app or stream code: {}/{}",
                req.app, req.stream_code
            )));
        }
        if req.formats.is_empty() {
            return Err(EngineError::Invalid("no format to record".into()));
        }
        let cfg = &self.shared.config;
        disk::check_reserve(&cfg.data_dir, cfg.free_space_reserve)?;
        let id = RecordingId::next(cfg.clock.now_ms());
        {
            let mut manual = self.shared.manual.lock().unwrap_or_else(|p| p.into_inner());
            let busy = manual.values().any(|s| matches!(s, ManualState::Running(a, c) if *a == req.app && *c == req.stream_code));
            if busy {
                return Err(EngineError::AlreadyRecording(req.stream_code));
            }
            // Each waits on a thread of its own: starts for streams that never come must not
            // pile up without bound.
            let running = manual
                .values()
                .filter(|s| matches!(s, ManualState::Running(..)))
                .count();
            if running >= cfg.max_manual_recordings {
                return Err(EngineError::TooManyRecordings(running));
            }
            manual.insert(
                id,
                ManualState::Running(req.app.clone(), req.stream_code.clone()),
            );
        }
        let spec = RecordSpec {
            id,
            manual: true,
            label: req.label,
            app: req.app.clone(),
            stream_code: req.stream_code.clone(),
            stream_param: String::new(),
            record_id: None,
            formats: req.formats,
            interval: req.interval.clamp(MIN_INTERVAL, MAX_INTERVAL),
            audio_only: req.audio_only,
            posters: req.poster,
            data_dir: cfg.data_dir.clone(),
            free_space_reserve: cfg.free_space_reserve,
        };
        let (reply, answer) = oneshot::channel();
        self.shared.send(
            &req.app,
            &req.stream_code,
            StreamCmd::StartManual { spec, reply },
        );
        let started = answer
            .await
            .map_err(|_| EngineError::Stopped)
            .and_then(|r| r);
        if let Err(e) = started {
            self.shared
                .manual
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    /// Stops a manual recording: closes its open files and returns every segment it produced.
    pub async fn stop_recording(&self, id: RecordingId) -> Result<Vec<SegmentClosed>> {
        let state = self
            .shared
            .manual
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        match state {
            None => Err(EngineError::NoSuchRecording(id.0)),
            Some(ManualState::Stopped) => Err(EngineError::AlreadyStopped(id.0)),
            Some(ManualState::Ended(segments)) => {
                self.set_manual(id, ManualState::Stopped);
                Ok(segments)
            }
            Some(ManualState::Running(app, code)) => {
                let (reply, answer) = oneshot::channel();
                self.shared
                    .send(&app, &code, StreamCmd::StopManual { id, reply });
                let r = answer.await.map_err(|_| EngineError::Stopped)?;
                if r.is_ok() {
                    self.set_manual(id, ManualState::Stopped);
                } else if let Some(ManualState::Ended(segments)) = self
                    .shared
                    .manual
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&id)
                    .cloned()
                {
                    // It ended on its own while the stop was on its way.
                    self.set_manual(id, ManualState::Stopped);
                    return Ok(segments);
                }
                r
            }
        }
    }

    fn set_manual(&self, id: RecordingId, s: ManualState) {
        self.shared
            .manual
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, s);
    }

    /// Finalizes every open file and stops every stream (the SIGTERM path).
    pub async fn shutdown(&self) {
        self.stop_accepting();
        let txs: Vec<_> = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|e| e.tx.clone())
            .collect();
        let mut waits = Vec::new();
        for tx in txs {
            let (reply, done) = oneshot::channel();
            if tx.send(StreamCmd::Shutdown { reply }).is_ok() {
                waits.push(done);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }
}

/// Finalizes, every few seconds, the files whose close hit a full disk; each one done is
/// reported like any closed file. Those still without space wait for the next round.
async fn retry_deferred(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(DEFERRED_RETRY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pending =
            std::mem::take(&mut *shared.deferred.lock().unwrap_or_else(|p| p.into_inner()));
        if pending.is_empty() {
            continue;
        }
        let done = tokio::task::spawn_blocking(move || {
            pending
                .into_iter()
                .map(|sidecar| {
                    let r = recovery::finalize(&sidecar, false);
                    (sidecar, r)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for (sidecar, result) in done {
            match result {
                Ok(seg) => {
                    tracing::info!(path = %seg.path.display(), "finalized a file kept while the disk was full");
                    shared.fact(Fact::FileClosed(Box::new(seg.clone())));
                    let _ = shared.events.send(EngineEvent::SegmentClosed(seg));
                }
                Err(e) if e.is_disk_full() => shared.defer(sidecar),
                Err(e) => {
                    tracing::error!(sidecar = %sidecar.display(), error = %e, "a kept file could not be finalized; its data is set aside")
                }
            }
        }
    }
}
