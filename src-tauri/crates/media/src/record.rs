//! `RecordTask`: one recording (a session from start to stop), cut into segment files.
//!
//! Each recording runs on one of the engine's recorder threads (`recorders.rs`), fed by its
//! stream's actor: file writes and fsyncs block, and must never stall the tokio workers that
//! read sockets. The task owns the splitter, the open segment's writers and the list of closed
//! segments.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::budget::{ByteBudget, Spent};
use crate::closer::{report, Closer, OpenFile};
use crate::codec::Codecs;
use crate::config::{Format, Formats};
use crate::disk::{self, with_suffix};
use crate::error::{codes, EngineError};
use crate::events::{EndReason, EngineEvent, Fact, RecordingId, SegmentClosed};
use crate::flv::FlvWriter;
use crate::frame::{Frame, Kind};
use crate::hls::HlsWriter;
use crate::ids;
use crate::mp4::Mp4Writer;
use crate::poster::PendingPoster;
use crate::recorders::Lane;
use crate::segment::{SegmentSpec, SegmentWriter};
use crate::splitter::{Decision, Splitter};
use crate::stream::Shared;

/// How often free space is re-checked while the disk is below the reserve (ms of media).
const DISK_RECHECK_MS: u64 = 2_000;
/// Progress events per open file, ms of media.
const PROGRESS_EVERY_MS: u64 = 1_000;

/// Everything that identifies a recording and how it records.
#[derive(Debug, Clone)]
pub struct RecordSpec {
    /// Its id.
    pub id: RecordingId,
    /// Started through the API (channel mode).
    pub manual: bool,
    /// Opaque label carried into events.
    pub label: String,
    /// RTMP app.
    pub app: String,
    /// Stream code.
    pub stream_code: String,
    /// Raw query of the push URL.
    pub stream_param: String,
    /// `recordId` of the push URL.
    pub record_id: Option<String>,
    /// Containers to write.
    pub formats: Formats,
    /// Segment length.
    pub interval: Duration,
    /// Leave video out.
    pub audio_only: bool,
    /// Make a poster for every segment with video.
    pub posters: bool,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Free-space reserve, bytes.
    pub free_space_reserve: u64,
}

/// Messages from the stream actor.
pub enum RecordMsg {
    /// The stream's decoder configurations changed (or are sent for the first time).
    Codecs(Box<Codecs>),
    /// Frames in order, each with its wall-clock time (unix ms). Batched (≈100 ms of media) so
    /// the recording thread wakes a few times a second rather than once per frame. Their
    /// bytes stay spent from the recording's budget until they are written.
    Frames(Vec<(Frame, i64)>, Spent),
    /// The publisher left: close the open segment, keep the session for a reconnect.
    Pause,
    /// End the recording; the reply gets every segment it produced.
    Close(EndReason, oneshot::Sender<Vec<SegmentClosed>>),
}

/// The stream actor's handle on a running recording. Dropped without [`RecordHandle::close`],
/// the recording still finishes its files.
pub struct RecordHandle {
    /// The recording's id.
    pub id: RecordingId,
    /// Started through the API.
    pub manual: bool,
    lane: Lane,
    /// Bytes queued for the recording's thread.
    budget: ByteBudget,
    closed: bool,
}

impl RecordHandle {
    /// Starts the recording on one of the engine's recorder threads.
    pub fn spawn(spec: RecordSpec, codecs: Codecs, shared: Arc<Shared>) -> std::io::Result<Self> {
        let (id, manual) = (spec.id, spec.manual);
        let budget = ByteBudget::new("recording", shared.config.recorder_buffer_bytes);
        let lane = shared
            .recorders
            .start(id, Box::new(RecordTask::new(spec, codecs, shared.clone())))?;
        Ok(RecordHandle {
            id,
            manual,
            lane,
            budget,
            closed: false,
        })
    }

    /// Sends a message. Frames wait on the budget (backpressure to the publisher); the other
    /// messages are few and small.
    pub async fn send(&self, msg: RecordMsg) {
        self.lane.send(self.id, msg);
    }

    /// Queues frames; waits while the recording has its budget's worth of bytes queued (their
    /// bookkeeping counts, so a flood of tiny frames is bounded too).
    pub async fn frames(&self, frames: Vec<(Frame, i64)>) {
        let bytes = frames
            .iter()
            .map(|(f, _)| f.body.len() + std::mem::size_of::<(Frame, i64)>())
            .sum();
        let spent = self.budget.take(bytes).await;
        self.send(RecordMsg::Frames(frames, spent)).await;
    }

    /// Ends the recording and returns all its segments.
    pub async fn close(mut self, reason: EndReason) -> Vec<SegmentClosed> {
        let (reply, rx) = oneshot::channel();
        self.closed = true;
        self.lane.send(self.id, RecordMsg::Close(reason, reply));
        rx.await.unwrap_or_default()
    }
}

impl Drop for RecordHandle {
    fn drop(&mut self) {
        if !self.closed {
            self.lane.abandon(self.id);
        }
    }
}

struct OpenSegment {
    files: Vec<OpenFile>,
    start_dts: u64,
    video_frames: u64,
    last_keyframe_rel: u64,
    next_progress_rel: u64,
}

pub(crate) struct RecordTask {
    spec: RecordSpec,
    codecs: Codecs,
    shared: Arc<Shared>,
    splitter: Splitter,
    segment: Option<OpenSegment>,
    closer: Closer,
    last_dts: u64,
    last_step: u64,
    /// While the disk is below the reserve: media time of the next free-space check.
    disk_blocked_until: Option<u64>,
    /// Start (unix ms) of the last segment opened; file names carry it, so each new segment
    /// starts at least 1 ms later (a quick reconnect or a clock step back must not reuse a name).
    last_open_wall: i64,
}

impl RecordTask {
    fn new(spec: RecordSpec, codecs: Codecs, shared: Arc<Shared>) -> Self {
        RecordTask {
            closer: Closer::new(shared.clone(), spec.id, spec.stream_code.clone()),
            splitter: Splitter::new(spec.interval.as_millis() as u64),
            spec,
            codecs,
            shared,
            segment: None,
            last_dts: 0,
            last_step: 0,
            disk_blocked_until: None,
            last_open_wall: i64::MIN,
        }
    }

    /// Handles one message; true when the recording has ended.
    pub(crate) fn handle(&mut self, msg: RecordMsg) -> bool {
        match msg {
            RecordMsg::Codecs(c) => self.codecs = *c,
            RecordMsg::Frames(frames, spent) => {
                for (f, wall) in frames {
                    self.on_frame(f, wall);
                }
                drop(spent);
            }
            RecordMsg::Pause => self.pause(),
            RecordMsg::Close(reason, reply) => {
                self.pause();
                // The recording ends after its files: every close has finished first.
                let closed = self.closer.wait();
                self.shared.fact(Fact::RecordingEnded {
                    recording: self.spec.id,
                    manual: self.spec.manual,
                    label: self.spec.label.clone(),
                    stream_code: self.spec.stream_code.clone(),
                    reason,
                });
                self.emit(EngineEvent::RecordingEnded {
                    recording: self.spec.id,
                    stream_code: self.spec.stream_code.clone(),
                    reason,
                });
                let _ = reply.send(closed);
                return true;
            }
        }
        false
    }

    /// The stream actor vanished (its handle dropped, the engine gone): still finish the files.
    pub(crate) fn abandon(&mut self) {
        self.pause();
    }

    fn emit(&self, e: EngineEvent) {
        let _ = self.shared.events.send(e);
    }

    fn error(&self, code: u32, detail: String) {
        report(
            &self.shared,
            self.spec.id,
            &self.spec.stream_code,
            code,
            detail,
        );
    }

    fn has_video_track(&self) -> bool {
        !self.spec.audio_only && self.codecs.video.is_some()
    }

    fn on_frame(&mut self, frame: Frame, wall: i64) {
        let video_track = self.has_video_track();
        let can_start = match frame.kind {
            Kind::Video => video_track && frame.keyframe,
            Kind::Audio => !video_track && self.codecs.audio.is_some(),
            Kind::VideoConfig | Kind::AudioConfig => false,
        };
        if frame.kind == Kind::Video && !video_track {
            return;
        }
        // The segment's end follows the track that defines it: video when there is video.
        let defining = if video_track {
            Kind::Video
        } else {
            Kind::Audio
        };
        if frame.kind == defining && self.segment.is_some() {
            if frame.dts > self.last_dts {
                self.last_step = (frame.dts - self.last_dts).min(1_000);
            }
            self.last_dts = self.last_dts.max(frame.dts);
        } else if frame.kind == defining {
            self.last_dts = frame.dts;
        }
        if let Some(next_check) = self.disk_blocked_until {
            if !can_start || frame.dts < next_check {
                return;
            }
        }
        match self.splitter.on_frame(frame.dts, can_start) {
            Decision::Skip => return,
            Decision::Write => {}
            Decision::Open => self.open(&frame, wall),
            Decision::Cut => {
                self.close_segment(frame.dts);
                self.open(&frame, wall);
            }
        }
        self.write(&frame);
    }

    /// Opens a segment starting with `frame`, unless the disk is below the reserve.
    fn open(&mut self, frame: &Frame, wall: i64) {
        if let Err(e) = disk::check_reserve(&self.spec.data_dir, self.spec.free_space_reserve) {
            if self.disk_blocked_until.is_none() {
                self.error(codes::DISK, e.to_string());
            }
            self.disk_blocked_until = Some(frame.dts + DISK_RECHECK_MS);
            self.splitter.reset();
            return;
        }
        self.disk_blocked_until = None;
        let wall = wall.max(self.last_open_wall.saturating_add(1));
        self.last_open_wall = wall;
        let local = chrono::DateTime::from_timestamp_millis(wall)
            .unwrap_or_default()
            .with_timezone(&chrono::Local);
        let rel_dir = format!(
            "vod/{}/{}/{}",
            self.spec.app,
            self.spec.stream_code,
            local.format("%Y%m%d")
        );
        let dir = self.spec.data_dir.join(&rel_dir);
        if let Err(e) = disk::create_dirs(&dir) {
            self.fail_open(frame, e);
            return;
        }
        let stem = format!(
            "{}_{}_{}",
            self.spec.stream_code,
            local.format("%Y%m%d-%H%M%S-%3f"),
            self.spec.id
        );
        let poster = self.start_poster(&dir.join(format!("{stem}.jpg")), frame);
        let mut seg = OpenSegment {
            files: Vec::new(),
            start_dts: frame.dts,
            video_frames: 0,
            last_keyframe_rel: 0,
            next_progress_rel: PROGRESS_EVERY_MS,
        };
        for format in self.spec.formats.iter() {
            let name = format!("{stem}.{}", format.extension());
            let path = dir.join(&name);
            let meta = SegmentClosed {
                file_id: ids::next_id(wall),
                recording: self.spec.id,
                manual: self.spec.manual,
                label: self.spec.label.clone(),
                app: self.spec.app.clone(),
                stream_code: self.spec.stream_code.clone(),
                stream_param: self.spec.stream_param.clone(),
                record_id: self.spec.record_id.clone(),
                format,
                path: path.clone(),
                rel_path: format!("{rel_dir}/{name}"),
                size: 0,
                start_ms: wall,
                end_ms: wall,
                duration_ms: 0,
                video_codec: self.codecs.video_name().filter(|_| !self.spec.audio_only),
                // MPEG-TS carries AAC only (an Opus stream's HLS is video only).
                audio_codec: self
                    .codecs
                    .audio_name()
                    .filter(|c| format != Format::Hls || c == "aac"),
                width: self
                    .codecs
                    .video
                    .as_ref()
                    .filter(|_| !self.spec.audio_only)
                    .map(|v| v.width),
                height: self
                    .codecs
                    .video
                    .as_ref()
                    .filter(|_| !self.spec.audio_only)
                    .map(|v| v.height),
                recovered: false,
                poster: None,
            };
            let segment_spec = SegmentSpec {
                path: path.clone(),
                codecs: self.codecs.clone(),
                audio_only: self.spec.audio_only,
                start_wall_ms: wall,
                max_duration_ms: self.spec.interval.as_millis() as u64
                    + crate::splitter::FORCED_CUT_AFTER_MS,
                syncer: self.shared.syncer.clone(),
            };
            // The sidecar is written first: recovery uses it to finalize and report the file.
            let sidecar = with_suffix(&path, ".part.json");
            let created = serde_json::to_vec(&meta)
                .map_err(|e| EngineError::Invalid(e.to_string()))
                .and_then(|json| disk::write_atomic(&sidecar, &json))
                .and_then(|_| -> crate::Result<Box<dyn SegmentWriter>> {
                    Ok(match format {
                        Format::Flv => Box::new(FlvWriter::create(&segment_spec)?),
                        Format::Hls => Box::new(HlsWriter::create(&segment_spec)?),
                        Format::Mp4 => Box::new(Mp4Writer::create(&segment_spec)?),
                    })
                });
            match created {
                Ok(writer) => {
                    self.emit(EngineEvent::SegmentOpened {
                        recording: self.spec.id,
                        app: self.spec.app.clone(),
                        stream_code: self.spec.stream_code.clone(),
                        format,
                        path,
                        start_ms: wall,
                    });
                    seg.files.push(OpenFile {
                        format,
                        writer,
                        meta,
                        sidecar,
                        poster: poster.clone(),
                    });
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&sidecar);
                    self.error(e.code(), e.to_string());
                }
            }
        }
        self.segment = Some(seg);
    }

    /// Queues the poster of a segment that opens on the keyframe `frame` (`poster.rs`: off the
    /// recorder thread, which serves other recordings).
    fn start_poster(&self, path: &std::path::Path, frame: &Frame) -> Option<PendingPoster> {
        // HEVC and AV1 have no decoder here: their segments have no poster (docs/formats.md).
        let video = self.codecs.video.as_ref().filter(|_| self.spec.posters);
        let video = video.filter(|v| crate::poster::can_decode(v))?;
        if !self.has_video_track() || frame.kind != Kind::Video || !frame.keyframe {
            return None;
        }
        Some(
            self.shared
                .posters
                .make(video.clone(), frame.clone(), path.to_owned()),
        )
    }

    fn fail_open(&mut self, frame: &Frame, e: EngineError) {
        self.error(e.code(), e.to_string());
        if e.is_disk_full() {
            self.disk_blocked_until = Some(frame.dts + DISK_RECHECK_MS);
        }
        self.splitter.reset();
    }

    fn write(&mut self, frame: &Frame) {
        let Some(seg) = self.segment.as_mut() else {
            return;
        };
        let rel = frame.dts.saturating_sub(seg.start_dts);
        if frame.kind == Kind::Video {
            seg.video_frames += 1;
            if frame.keyframe {
                seg.last_keyframe_rel = rel;
            }
        }
        let mut failed = None;
        for (i, f) in seg.files.iter_mut().enumerate() {
            if let Err(e) = f.writer.write(frame, rel) {
                failed = Some((i, e));
                break;
            }
        }
        if let Some((i, e)) = failed {
            self.on_write_error(i, e, frame.dts);
            return;
        }
        if rel >= seg.next_progress_rel {
            seg.next_progress_rel = rel + PROGRESS_EVERY_MS;
            let fps = if rel > 0 {
                seg.video_frames as f32 * 1000.0 / rel as f32
            } else {
                0.0
            };
            for f in &seg.files {
                let bytes = f.writer.bytes();
                let _ = self.shared.events.send(EngineEvent::SegmentProgress {
                    recording: self.spec.id,
                    stream_code: self.spec.stream_code.clone(),
                    format: f.format,
                    path: f.meta.path.clone(),
                    bytes,
                    duration_ms: rel,
                    bitrate_kbps: (bytes * 8 / rel.max(1)) as u32,
                    fps,
                    last_keyframe_ms: seg.last_keyframe_rel,
                    width: f.meta.width,
                    height: f.meta.height,
                });
            }
        }
    }

    /// A writer failed: on ENOSPC close the segment with what was written and wait for space;
    /// otherwise drop that one format and keep the others going.
    fn on_write_error(&mut self, i: usize, e: EngineError, dts: u64) {
        self.error(e.code(), e.to_string());
        if e.is_disk_full() {
            self.close_segment(dts);
            self.splitter.reset();
            self.disk_blocked_until = Some(dts + DISK_RECHECK_MS);
        } else if let Some(seg) = self.segment.as_mut() {
            let f = seg.files.remove(i);
            let duration = dts.saturating_sub(seg.start_dts);
            self.closer.close(f, duration);
        }
    }

    fn pause(&mut self) {
        let end = self.last_dts + self.last_step;
        self.close_segment(end);
        self.splitter.reset();
    }

    fn close_segment(&mut self, end_dts: u64) {
        let Some(seg) = self.segment.take() else {
            return;
        };
        let duration = end_dts.saturating_sub(seg.start_dts);
        for f in seg.files {
            self.closer.close(f, duration);
        }
    }
}
