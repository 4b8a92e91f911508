//! The samples of a fragmented MP4 as its `moof` boxes list them (no sample data is read), and
//! what the finished file will say about them.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use shiguredo_mp4::boxes::SampleEntry;
use shiguredo_mp4::demux::{Fmp4FileDemuxer, Input};
use shiguredo_mp4::mux::Sample;
use shiguredo_mp4::TrackKind;

use crate::error::{EngineError, Result};

/// Media segments up to this size are read whole; of bigger ones only the headers.
const SEGMENT_READ_WHOLE: u64 = 64 * 1024;

/// What the finished MP4 holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mp4Outcome {
    /// Final file size.
    pub size: u64,
    /// Longest track duration, ms.
    pub duration_ms: u64,
    /// Samples per track (video, audio).
    pub video_samples: usize,
    /// Audio samples.
    pub audio_samples: usize,
    /// Video dimensions from the sample entry.
    pub width: Option<u32>,
    /// Video height.
    pub height: Option<u32>,
}

/// One sample: where its data is in the file and how it plays.
pub(crate) struct SampleMeta {
    pub kind: TrackKind,
    pub entry: Option<SampleEntry>,
    pub keyframe: bool,
    pub timescale: std::num::NonZeroU32,
    pub duration: u32,
    pub cto: Option<i64>,
    /// Absolute offset of the data in the file.
    pub offset: u64,
    pub size: usize,
}

impl SampleMeta {
    /// The sample as the file muxer takes it, its data at `data_offset`.
    pub fn to_sample(&self, data_offset: u64) -> Sample {
        Sample {
            track_kind: self.kind,
            sample_entry: self.entry.clone(),
            keyframe: self.keyframe,
            timescale: self.timescale,
            duration: self.duration,
            composition_time_offset: self.cto,
            data_offset,
            data_size: self.size,
        }
    }
}

/// Every sample of the complete fragments of the fragmented MP4 that starts at `base` in
/// `file` (`len` bytes long), in file order. Stops at the first incomplete or damaged box: a
/// `.part` cut by a crash loses only its last fragment.
pub(crate) fn read_samples(
    part: &Path,
    file: &File,
    base: u64,
    len: u64,
) -> Result<Vec<SampleMeta>> {
    let mut demuxer = Fmp4FileDemuxer::new();
    let mut samples = Vec::new();
    let mut buf = Vec::new();
    let len = len.saturating_sub(base);
    'input: while let Some(req) = demuxer.required_input() {
        let size = req
            .size
            .map(|s| s as u64)
            .unwrap_or(len.saturating_sub(req.position));
        if size == 0 || req.position + size > len {
            break; // the rest of the file is an incomplete box: the crash cut it
        }
        // Grown, never shrunk: requests alternate between box headers and whole segments.
        if buf.len() < size as usize {
            buf.resize(size as usize, 0);
        }
        let buf = &mut buf[..size as usize];
        let read = |buf: &mut [u8], at: u64| {
            file.read_exact_at(buf, base + at)
                .map_err(|e| EngineError::io("read", part, e))
        };
        // A media segment is asked for whole, but only its `moof` and the `mdat` header say
        // where the samples are: the sample data (stale bytes here) is never looked at, so a
        // close reads kilobytes, not the file.
        let moof = match size > SEGMENT_READ_WHOLE {
            true => {
                read(&mut buf[..8], req.position)?;
                (&buf[4..8] == b"moof")
                    .then(|| u64::from(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])))
            }
            false => None,
        };
        match moof {
            Some(moof) if moof + 16 <= size => {
                read(&mut buf[..(moof + 16) as usize], req.position)?
            }
            _ => read(buf, req.position)?,
        }
        demuxer.handle_input(Input {
            position: req.position,
            data: buf,
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
                    offset: base + s.data_offset,
                    size: s.data_size,
                }),
                Ok(None) => break 'input,
                Err(shiguredo_mp4::demux::DemuxError::InputRequired(_)) => break,
                // A corrupt box: keep what came before it.
                Err(e) => {
                    tracing::warn!(part = %part.display(), error = %e, "stopping at a damaged fragment");
                    break 'input;
                }
            }
        }
    }
    // The demuxer hands samples out by time across tracks; the file muxer wants file order.
    samples.sort_by_key(|s| s.offset);
    Ok(samples)
}

/// A segment without a keyframe (cut from a stream that stopped sending them, or from one that
/// never does, such as intra refresh) is still kept: its first video sample is marked as the
/// sync sample, as an MP4 needs one, so players start there and the picture builds up from
/// the refresh. Without it the muxer refuses the file and the recording would be lost.
pub(crate) fn mark_a_sync_sample(samples: &mut [SampleMeta]) {
    let video = |s: &SampleMeta| s.kind == TrackKind::Video;
    if samples.iter().any(|s| video(s) && s.keyframe) {
        return;
    }
    if let Some(first) = samples.iter_mut().find(|s| video(s)) {
        first.keyframe = true;
    }
}

/// Durations, sample counts and dimensions of `samples` (the size is filled in later).
pub(crate) fn outcome(samples: &[SampleMeta]) -> Mp4Outcome {
    let mut outcome = Mp4Outcome::default();
    // Per track, in its timescale's ticks: converted once at the end, not truncated per sample.
    let mut ticks = [(0u64, 1u64); 2];
    for s in samples {
        let i = usize::from(s.kind == TrackKind::Audio);
        ticks[i].0 += u64::from(s.duration);
        ticks[i].1 = u64::from(s.timescale.get());
        if let Some((width, height)) = s.entry.as_ref().and_then(crate::codec::dimensions) {
            outcome.width = Some(width);
            outcome.height = Some(height);
        }
    }
    outcome.video_samples = samples
        .iter()
        .filter(|s| s.kind == TrackKind::Video)
        .count();
    outcome.audio_samples = samples.len() - outcome.video_samples;
    let ms = |(ticks, timescale): (u64, u64)| ticks.saturating_mul(1000) / timescale;
    outcome.duration_ms = ms(ticks[0]).max(ms(ticks[1]));
    outcome
}
