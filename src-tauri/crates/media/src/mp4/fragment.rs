//! Fragmented MP4 writer: after the head of the hybrid layout (`finalize.rs`), `ftyp`+`moov`
//! once, then `moof`+`mdat` per fragment (at each video keyframe, and at least every 500 ms),
//! fsynced per fragment (`syncer.rs`), never per sample. A crash loses at most the open
//! fragment: ≤ 500 ms. The open fragment's samples are held in memory, by reference: half a
//! second of media is most of what a recording costs in memory.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use shiguredo_mp4::boxes::SampleEntry;
use shiguredo_mp4::mux::{Fmp4SegmentMuxer, Sample};
use shiguredo_mp4::TrackKind;

use crate::codec::AudioConfig;
use crate::disk::with_suffix;
use crate::error::{EngineError, Result};
use crate::frame::{Frame, Kind};
use crate::gather::Gather;
use crate::mp4::finalize::{finalize_part, hybrid_muxer, moov_reservation};
use crate::segment::{SegmentSpec, SegmentWriter};
use crate::syncer::Syncer;

/// Video timescale: 90 kHz, the common choice (RTMP gives ms, so durations are exact).
const VIDEO_TIMESCALE: u32 = 90_000;
/// Longest fragment, ms.
const MAX_FRAGMENT_MS: u64 = 500;

struct Held {
    rel_ms: u64,
    cts_ms: i32,
    keyframe: bool,
    data: Bytes,
}

struct Track {
    kind: TrackKind,
    timescale: NonZeroU32,
    entry: Option<SampleEntry>,
    held: Option<Held>,
    last_duration: u32,
    /// An audio track's configuration: each frame's duration in samples comes from it.
    audio: Option<AudioConfig>,
    /// Samples of the open fragment: (metadata without offset, payload).
    pending: Vec<(u32, bool, Option<i64>, Bytes)>,
    in_init: bool,
}

impl Track {
    fn new(kind: TrackKind, timescale: u32, entry: SampleEntry, default_duration: u32) -> Self {
        Track {
            kind,
            timescale: NonZeroU32::new(timescale).unwrap_or(NonZeroU32::MIN),
            entry: Some(entry),
            held: None,
            last_duration: default_duration,
            audio: None,
            pending: Vec::new(),
            in_init: false,
        }
    }

    /// Completes the held sample now that its successor's time is known.
    fn release(&mut self, next_rel_ms: Option<u64>) {
        let Some(h) = self.held.take() else { return };
        let duration = match (self.kind, next_rel_ms) {
            (TrackKind::Audio, _) => self
                .audio
                .as_ref()
                .map_or(self.last_duration, |a| a.frame_samples(&h.data)),
            (_, Some(next)) => (next.saturating_sub(h.rel_ms) * 90).min(u64::from(u32::MAX)) as u32,
            (_, None) => self.last_duration,
        };
        self.last_duration = duration;
        let cto = (self.kind == TrackKind::Video).then_some(i64::from(h.cts_ms) * 90);
        self.pending.push((duration, h.keyframe, cto, h.data));
    }
}

/// Writes one `.mp4` segment through a fragmented `.mp4.part` file.
pub struct Mp4Writer {
    part: PathBuf,
    path: PathBuf,
    file: Arc<File>,
    syncer: Syncer,
    queue: Gather,
    written: u64,
    muxer: Fmp4SegmentMuxer,
    video: Option<Track>,
    audio: Option<Track>,
    init_written: bool,
    fragment_start_ms: Option<u64>,
}

impl Mp4Writer {
    /// Creates `<path>.part` with the head of the hybrid layout; media follows with the first
    /// fragment.
    pub fn create(spec: &SegmentSpec) -> Result<Self> {
        let path = spec.path.clone();
        let part = with_suffix(&path, ".part");
        let mut file = File::create(&part).map_err(|e| EngineError::io("create", &part, e))?;
        // ftyp and the free box's header; its payload, the moov's room, stays a hole.
        let head = hybrid_muxer(moov_reservation(spec))?
            .initial_boxes_bytes()
            .to_vec();
        let mdat_header = head.len() - 16;
        let ftyp = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        file.write_all(&head[..ftyp + 8])
            .and_then(|_| file.write_all_at(&head[mdat_header..], mdat_header as u64))
            .and_then(|_| file.seek(SeekFrom::Start(head.len() as u64)).map(|_| ()))
            .map_err(|e| EngineError::io("write", &part, e))?;
        let muxer = Fmp4SegmentMuxer::new().map_err(|e| mux_err(&path, e))?;
        let video = spec
            .codecs
            .video
            .as_ref()
            .filter(|_| spec.has_video())
            .map(|v| {
                Track::new(
                    TrackKind::Video,
                    VIDEO_TIMESCALE,
                    v.sample_entry.clone(),
                    3000,
                )
            });
        let audio = spec.codecs.audio.as_ref().map(|a| {
            let mut track = Track::new(
                TrackKind::Audio,
                a.sample_rate,
                a.sample_entry.clone(),
                a.frame_samples(&[]),
            );
            track.audio = Some(a.clone());
            track
        });
        Ok(Mp4Writer {
            file: Arc::new(file),
            syncer: spec.syncer.clone(),
            queue: Gather::default(),
            part,
            path,
            // The moov's room is a hole, and mostly given back at close: not counted.
            written: (ftyp + 8 + 16) as u64,
            muxer,
            video,
            audio,
            init_written: false,
            fragment_start_ms: None,
        })
    }

    fn head(&mut self, b: &[u8]) {
        self.queue.head(b);
        self.written += b.len() as u64;
    }

    /// Whether the open fragment, which has run for `span_ms`, is due. The first one is due as
    /// soon as every track has a sample in it (the `moov` written with it must know them all),
    /// so a new file has bytes on disk at once (record start latency, SPEC §8).
    fn fragment_due(&self, span_ms: u64) -> bool {
        let every_track_started = || {
            [self.video.as_ref(), self.audio.as_ref()]
                .into_iter()
                .flatten()
                .all(|t| !t.pending.is_empty())
        };
        span_ms >= MAX_FRAGMENT_MS || (!self.init_written && every_track_started())
    }

    /// Writes the pending samples as one `moof`+`mdat` and fsyncs.
    fn flush_fragment(&mut self) -> Result<()> {
        self.fragment_start_ms = None;
        let mut samples = Vec::new();
        let mut payloads = Vec::new();
        let mut offset = 0u64;
        // Each track's payload must be contiguous in the mdat: all video, then all audio.
        for track in [self.video.as_mut(), self.audio.as_mut()]
            .into_iter()
            .flatten()
        {
            if self.init_written && !track.in_init {
                track.pending.clear(); // the moov is already on disk without this track
                continue;
            }
            for (duration, keyframe, cto, data) in track.pending.drain(..) {
                samples.push(Sample {
                    track_kind: track.kind,
                    sample_entry: track.entry.take(),
                    keyframe,
                    timescale: track.timescale,
                    duration,
                    composition_time_offset: cto,
                    data_offset: offset,
                    data_size: data.len(),
                });
                offset += data.len() as u64;
                payloads.push(data);
            }
        }
        if samples.is_empty() {
            return Ok(());
        }
        let moof = self
            .muxer
            .create_media_segment_metadata(&samples)
            .map_err(|e| mux_err(&self.path, e))?;
        if !self.init_written {
            let init = self
                .muxer
                .init_segment_bytes()
                .map_err(|e| mux_err(&self.path, e))?;
            self.head(&init);
            self.init_written = true;
            for t in [self.video.as_mut(), self.audio.as_mut()]
                .into_iter()
                .flatten()
            {
                t.in_init = t.entry.is_none();
            }
        }
        self.head(&moof);
        for p in payloads {
            self.written += p.len() as u64;
            self.queue.body(p);
        }
        self.queue
            .write_to(&self.file)
            .map_err(|e| EngineError::io("write", &self.part, e))?;
        self.syncer
            .sync(&self.file)
            .map_err(|e| EngineError::io("fsync", &self.part, e))?;
        Ok(())
    }
}

impl SegmentWriter for Mp4Writer {
    fn write(&mut self, frame: &Frame, rel_ms: u64) -> Result<()> {
        let held = Held {
            rel_ms,
            cts_ms: frame.cts,
            keyframe: frame.keyframe,
            data: frame.payload_bytes(),
        };
        match frame.kind {
            Kind::Video => {
                let Some(v) = self.video.as_mut() else {
                    return Ok(());
                };
                v.release(Some(rel_ms));
                let has_pending = !v.pending.is_empty();
                v.held = Some(held);
                let start = *self.fragment_start_ms.get_or_insert(rel_ms);
                if has_pending
                    && (frame.keyframe || self.fragment_due(rel_ms.saturating_sub(start)))
                {
                    // This frame is held back (its duration is not known yet), so it starts
                    // the next fragment.
                    let v = self.video.as_mut().map(|v| v.held.take());
                    self.flush_fragment()?;
                    self.fragment_start_ms = Some(rel_ms);
                    if let (Some(t), Some(h)) = (self.video.as_mut(), v) {
                        t.held = h;
                    }
                }
            }
            Kind::Audio => {
                let Some(a) = self.audio.as_mut() else {
                    return Ok(());
                };
                a.release(Some(rel_ms));
                a.held = Some(held);
                let start = *self.fragment_start_ms.get_or_insert(rel_ms);
                if self.video.is_none() && self.fragment_due(rel_ms.saturating_sub(start)) {
                    self.flush_fragment()?;
                }
            }
            // Mid-stream configuration changes are not supported by one sample entry per track.
            Kind::VideoConfig | Kind::AudioConfig => {}
        }
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.written
    }

    fn finish(mut self: Box<Self>, _duration_ms: u64) -> Result<u64> {
        for t in [self.video.as_mut(), self.audio.as_mut()]
            .into_iter()
            .flatten()
        {
            t.release(None);
        }
        self.flush_fragment()?;
        drop(self.file);
        Ok(finalize_part(&self.part, &self.path)?.size)
    }
}

fn mux_err(path: &std::path::Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Mux {
        format: "mp4",
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}
