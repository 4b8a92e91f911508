//! HLS segment writer: TS chunks cut at keyframes (target 10 s), each made durable before the
//! playlist that lists it is replaced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::disk::{durable_rename, with_suffix, write_atomic};
use crate::error::{EngineError, Result};
use crate::frame::{Codec, Frame, Kind};
use crate::hls::playlist::{render, Chunk};
use crate::hls::ts::TsMuxer;
use crate::segment::{SegmentSpec, SegmentWriter};

/// Target chunk length, ms.
pub const TARGET_CHUNK_MS: u64 = 10_000;

struct OpenChunk {
    uri: String,
    part: PathBuf,
    out: BufWriter<File>,
    start_rel_ms: u64,
    bytes: u64,
    /// Media time of the last hand-over to the kernel (a killed process loses ≤ 1 s).
    flushed_rel_ms: u64,
}

/// Counts bytes as they go to the buffered file.
struct Counting<'a>(&'a mut BufWriter<File>, &'a mut u64);
impl Write for Counting<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(b)?;
        *self.1 += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Writes one HLS segment: `<stem>.m3u8` plus `<stem>_<n>.ts` chunks.
pub struct HlsWriter {
    playlist: PathBuf,
    dir: PathBuf,
    stem: String,
    start_wall_ms: i64,
    has_video: bool,
    muxer: TsMuxer,
    chunk: Option<OpenChunk>,
    done: Vec<Chunk>,
    bytes: u64,
}

impl HlsWriter {
    /// Prepares the writer; the first chunk opens with the first frame.
    pub fn create(spec: &SegmentSpec) -> Result<Self> {
        let playlist = spec.path.clone();
        let dir = playlist.parent().unwrap_or(Path::new(".")).to_path_buf();
        let stem = playlist
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let video = spec.codecs.video.clone().filter(|_| spec.has_video());
        if let Some(v) = video.as_ref().filter(|v| v.codec == Codec::Av1) {
            return Err(EngineError::CodecNotInFormat {
                codec: v.codec.name(),
                format: "hls",
            });
        }
        Ok(HlsWriter {
            has_video: video.is_some(),
            // MPEG-TS carries the AAC only: an Opus stream's HLS is video only (docs/formats.md).
            muxer: TsMuxer::new(
                video,
                spec.codecs.audio.clone().filter(|a| a.codec == Codec::Aac),
            ),
            playlist,
            dir,
            stem,
            start_wall_ms: spec.start_wall_ms,
            chunk: None,
            done: Vec::new(),
            bytes: 0,
        })
    }

    fn open_chunk(&mut self, rel_ms: u64) -> Result<()> {
        let uri = format!("{}_{:05}.ts", self.stem, self.done.len());
        let part = with_suffix(&self.dir.join(&uri), ".part");
        let file = File::create(&part).map_err(|e| EngineError::io("create", &part, e))?;
        let mut chunk = OpenChunk {
            uri,
            part,
            out: BufWriter::with_capacity(32 * 1024, file),
            start_rel_ms: rel_ms,
            bytes: 0,
            flushed_rel_ms: rel_ms,
        };
        self.muxer
            .write_tables(&mut Counting(&mut chunk.out, &mut chunk.bytes))
            .map_err(|e| ts_err(&chunk.part, e))?;
        self.chunk = Some(chunk);
        Ok(())
    }

    /// Closes the open chunk durably, then republishes the playlist listing it.
    fn close_chunk(&mut self, end_rel_ms: u64, finished: bool) -> Result<()> {
        if let Some(c) = self.chunk.take() {
            let file = c
                .out
                .into_inner()
                .map_err(|e| EngineError::io("flush", &c.part, e.into_error()))?;
            file.sync_all()
                .map_err(|e| EngineError::io("fsync", &c.part, e))?;
            durable_rename(&c.part, &self.dir.join(&c.uri))?;
            self.bytes += c.bytes;
            self.done.push(Chunk {
                uri: c.uri,
                duration_ms: end_rel_ms.saturating_sub(c.start_rel_ms),
                start_wall_ms: self.start_wall_ms + c.start_rel_ms as i64,
                size: c.bytes,
            });
        }
        write_atomic(&self.playlist, &render(&self.done, finished))
    }
}

impl SegmentWriter for HlsWriter {
    fn write(&mut self, frame: &Frame, rel_ms: u64) -> Result<()> {
        let is_video = frame.kind == Kind::Video;
        if matches!(frame.kind, Kind::VideoConfig | Kind::AudioConfig)
            || (is_video && !self.has_video)
        {
            return Ok(());
        }
        let can_cut = if self.has_video {
            is_video && frame.keyframe
        } else {
            true
        };
        match &self.chunk {
            None if can_cut => self.open_chunk(rel_ms)?,
            None => return Ok(()),
            Some(c) if can_cut && rel_ms.saturating_sub(c.start_rel_ms) >= TARGET_CHUNK_MS => {
                self.close_chunk(rel_ms, false)?;
                self.open_chunk(rel_ms)?;
            }
            Some(_) => {}
        }
        let Some(c) = self.chunk.as_mut() else {
            return Ok(());
        };
        let mut out = Counting(&mut c.out, &mut c.bytes);
        let r = if is_video {
            self.muxer
                .write_video(&mut out, frame.payload(), rel_ms, frame.cts, frame.keyframe)
        } else {
            self.muxer.write_audio(&mut out, frame.payload(), rel_ms)
        };
        if r.is_ok() && rel_ms >= c.flushed_rel_ms + 1_000 {
            c.flushed_rel_ms = rel_ms;
            c.out
                .flush()
                .map_err(|e| EngineError::io("write", &c.part, e))?;
        }
        match r {
            Ok(()) => Ok(()),
            // A malformed access unit is dropped from the TS, not fatal to the recording.
            Err(crate::hls::ts::TsError::LyingNalLength { len, at, total }) => {
                tracing::warn!(playlist = %self.playlist.display(), len, at, total, "dropping malformed access unit");
                Ok(())
            }
            Err(e) => Err(ts_err(&c.part, e)),
        }
    }

    fn bytes(&self) -> u64 {
        self.bytes + self.chunk.as_ref().map_or(0, |c| c.bytes)
    }

    fn finish(mut self: Box<Self>, duration_ms: u64) -> Result<u64> {
        self.close_chunk(duration_ms, true)?;
        Ok(self.bytes)
    }
}

fn ts_err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Mux {
        format: "hls",
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}
