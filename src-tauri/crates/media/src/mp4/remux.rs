//! Fragmented `.part` → faststart MP4 (moov before mdat), by copying samples, never
//! re-encoding. Stops at the first incomplete fragment, so a `.part` cut by a crash loses only
//! its last fragment.

use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use shiguredo_mp4::boxes::SampleEntry;
use shiguredo_mp4::demux::{Fmp4FileDemuxer, Input};
use shiguredo_mp4::mux::{Mp4FileMuxer, Mp4FileMuxerOptions, MuxError, Sample};
use shiguredo_mp4::TrackKind;

use crate::disk::{durable_rename, fsync_dir, with_suffix};
use crate::error::{EngineError, Result};

/// Where the `mid_finalize` crash point sits: this far into the copy.
const MID_FINALIZE_AT: u64 = 64 * 1024;

/// What the finished MP4 holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemuxOutcome {
    /// Final file size.
    pub size: u64,
    /// Longest track duration, ms.
    pub duration_ms: u64,
    /// Samples copied per track (video, audio).
    pub video_samples: usize,
    /// Audio samples copied.
    pub audio_samples: usize,
    /// Video dimensions from the sample entry.
    pub width: Option<u32>,
    /// Video height.
    pub height: Option<u32>,
}

struct SampleMeta {
    kind: TrackKind,
    entry: Option<SampleEntry>,
    keyframe: bool,
    timescale: std::num::NonZeroU32,
    duration: u32,
    cto: Option<i64>,
    offset: u64,
    size: usize,
}

fn sample(s: &SampleMeta, data_offset: u64) -> Sample {
    Sample {
        track_kind: s.kind,
        sample_entry: s.entry.clone(),
        keyframe: s.keyframe,
        timescale: s.timescale,
        duration: s.duration,
        composition_time_offset: s.cto,
        data_offset,
        data_size: s.size,
    }
}

/// The exact size of the final moov, from a dry run of the muxer over the sample tables (no
/// I/O), so the reservation before mdat fits it and the file is always faststart.
fn moov_size(samples: &[SampleMeta]) -> Result<usize, MuxError> {
    let mut dry = Mp4FileMuxer::new()?;
    let mut position = dry.initial_boxes_bytes().len() as u64;
    for s in samples {
        dry.append_sample(&sample(s, position))?;
        position += s.size as u64;
    }
    // Chunk offsets may need 64 bits in the real layout: leave room for that.
    Ok(dry.finalize()?.moov_box_size() + 64)
}

fn err(path: &Path, detail: impl std::fmt::Display) -> EngineError {
    EngineError::Mux {
        format: "mp4",
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Reads every complete fragment of a fragmented MP4.
fn read_samples(part: &Path, file: &File, len: u64) -> Result<Vec<SampleMeta>> {
    let mut demuxer = Fmp4FileDemuxer::new();
    let mut samples = Vec::new();
    let mut buf = Vec::new();
    while let Some(req) = demuxer.required_input() {
        let size = req
            .size
            .map(|s| s as u64)
            .unwrap_or(len.saturating_sub(req.position));
        if size == 0 || req.position + size > len {
            break; // the rest of the file is an incomplete box: the crash cut it
        }
        buf.resize(size as usize, 0);
        file.read_exact_at(&mut buf, req.position)
            .map_err(|e| EngineError::io("read", part, e))?;
        demuxer.handle_input(Input {
            position: req.position,
            data: &buf,
        });
        loop {
            match demuxer.next_sample() {
                Ok(Some(s)) => samples.push(SampleMeta {
                    kind: s.track.kind,
                    entry: s.sample_entry.cloned(),
                    keyframe: s.keyframe,
                    timescale: s.track.timescale,
                    duration: s.duration,
                    cto: s.composition_time_offset,
                    offset: s.data_offset,
                    size: s.data_size,
                }),
                Ok(None) => return Ok(samples),
                Err(shiguredo_mp4::demux::DemuxError::InputRequired(_)) => break,
                // A corrupt box: keep what came before it.
                Err(e) => {
                    tracing::warn!(part = %part.display(), error = %e, "stopping at a damaged fragment");
                    return Ok(samples);
                }
            }
        }
    }
    Ok(samples)
}

/// A segment without a keyframe (cut from a stream that stopped sending them, or from one that
/// never does, such as intra refresh) is still kept: its first video sample is marked as the
/// sync sample, as an MP4 needs one, so players start there and the picture builds up from
/// the refresh. Without it the muxer refuses the file and the recording would be lost.
fn mark_a_sync_sample(samples: &mut [SampleMeta]) {
    let video = |s: &SampleMeta| s.kind == TrackKind::Video;
    if samples.iter().any(|s| video(s) && s.keyframe) {
        return;
    }
    if let Some(first) = samples.iter_mut().find(|s| video(s)) {
        first.keyframe = true;
    }
}

/// Turns `part` (fragmented) into `out` (faststart) with the durable order, then removes
/// `part`. Errors if the part holds no complete fragment.
pub fn finalize_part(part: &Path, out: &Path) -> Result<RemuxOutcome> {
    let file = File::open(part).map_err(|e| EngineError::io("open", part, e))?;
    let len = file
        .metadata()
        .map_err(|e| EngineError::io("stat", part, e))?
        .len();
    let mut samples = read_samples(part, &file, len)?;
    mark_a_sync_sample(&mut samples);
    let mut outcome = RemuxOutcome::default();
    let mut durations = [0u64; 2]; // per track, in ms
    for s in &samples {
        let i = usize::from(s.kind == TrackKind::Audio);
        durations[i] += u64::from(s.duration) * 1000 / u64::from(s.timescale.get());
        if let Some(SampleEntry::Avc1(avc1)) = &s.entry {
            outcome.width = Some(u32::from(avc1.visual.width));
            outcome.height = Some(u32::from(avc1.visual.height));
        }
    }
    outcome.video_samples = samples
        .iter()
        .filter(|s| s.kind == TrackKind::Video)
        .count();
    outcome.audio_samples = samples.len() - outcome.video_samples;
    outcome.duration_ms = durations[0].max(durations[1]);
    if samples.is_empty() {
        return Err(EngineError::NothingRecorded(part.to_path_buf()));
    }

    let mut muxer = Mp4FileMuxer::with_options(Mp4FileMuxerOptions {
        reserved_moov_box_size: moov_size(&samples).map_err(|e| err(out, e))?,
        ..Default::default()
    })
    .map_err(|e| err(out, e))?;
    let tmp = with_suffix(out, ".tmp");
    let dst = File::create(&tmp).map_err(|e| EngineError::io("create", &tmp, e))?;
    let mut w = BufWriter::with_capacity(256 * 1024, dst);
    let io = |e| EngineError::io("write", &tmp, e);
    let head = muxer.initial_boxes_bytes().to_vec();
    w.write_all(&head).map_err(io)?;
    let mut position = head.len() as u64;
    let mut data = Vec::new();
    for s in &samples {
        data.resize(s.size, 0);
        file.read_exact_at(&mut data, s.offset)
            .map_err(|e| EngineError::io("read", part, e))?;
        w.write_all(&data).map_err(io)?;
        muxer
            .append_sample(&sample(s, position))
            .map_err(|e| err(out, e))?;
        position += s.size as u64;
        if position >= MID_FINALIZE_AT && position - (s.size as u64) < MID_FINALIZE_AT {
            crate::crashpoint::here("mid_finalize");
        }
    }
    let finalized = muxer.finalize().map_err(|e| err(out, e))?;
    let mut dst = w.into_inner().map_err(|e| io(e.into_error()))?;
    for (offset, bytes) in finalized.offset_and_bytes_pairs() {
        dst.seek(SeekFrom::Start(offset))
            .and_then(|_| dst.write_all(bytes))
            .map_err(io)?;
    }
    dst.sync_all().map_err(io)?;
    outcome.size = dst.metadata().map_err(io)?.len();
    drop(dst);
    durable_rename(&tmp, out)?;
    fs::remove_file(part).map_err(|e| EngineError::io("remove", part, e))?;
    fsync_dir(out.parent().unwrap_or(Path::new(".")))?;
    Ok(outcome)
}
