//! FLV segment writer: tags copied as received, timestamps rewritten to start at 0, and an
//! onMetaData whose `duration` and `filesize` are patched in place at close.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use bytes::Bytes;
use std::path::PathBuf;

use crate::disk::{durable_rename, with_suffix};
use crate::error::{EngineError, Result};
use crate::frame::{Frame, TAG_SCRIPT};
use crate::gather::Gather;
use crate::recovery::recover_flv;
use crate::segment::{SegmentSpec, SegmentWriter};

/// Hand queued tags to the kernel at least this often (ms of media): a killed process then
/// loses at most this much. The fsync itself happens once, at close (FLV is streamable, and
/// recovery cuts a torn tail), which keeps the FLV path as cheap as nginx-rtmp's.
const FLUSH_EVERY_MS: u64 = 1_000;
/// ... or once this many bytes are queued (they are held by reference, not copied).
const FLUSH_AT_BYTES: usize = 64 * 1024;

/// Writes one `.flv` segment through a `.flv.part` file.
pub struct FlvWriter {
    part: PathBuf,
    path: PathBuf,
    file: File,
    queue: Gather,
    written: u64,
    /// Byte offsets of the f64 values of `duration` and `filesize` in onMetaData.
    duration_at: u64,
    filesize_at: u64,
    has_video: bool,
    last_flush_ms: u64,
    /// A write failed: the file on disk may end inside a tag.
    torn: bool,
}

impl FlvWriter {
    /// Creates `<path>.part` and writes the header, onMetaData and the decoder configurations.
    pub fn create(spec: &SegmentSpec) -> Result<Self> {
        let path = spec.path.clone();
        let part = with_suffix(&path, ".part");
        let file = File::create(&part).map_err(|e| EngineError::io("create", &part, e))?;
        let mut w = FlvWriter {
            file,
            queue: Gather::default(),
            part,
            path,
            written: 0,
            duration_at: 0,
            filesize_at: 0,
            has_video: spec.has_video(),
            last_flush_ms: 0,
            torn: false,
        };
        let flags = (u8::from(spec.has_audio()) << 2) | u8::from(spec.has_video());
        w.head(&[b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]);

        let (meta, duration_at, filesize_at) = on_metadata(spec);
        let body_start = w.written + 11;
        w.tag(TAG_SCRIPT, 0, meta.into());
        w.duration_at = body_start + duration_at as u64;
        w.filesize_at = body_start + filesize_at as u64;
        if let Some(v) = spec.codecs.video.as_ref().filter(|_| spec.has_video()) {
            w.tag(9, 0, v.tag.clone());
        }
        if let Some(a) = &spec.codecs.audio {
            w.tag(8, 0, a.tag.clone());
        }
        w.flush()?;
        Ok(w)
    }

    fn head(&mut self, b: &[u8]) {
        self.queue.head(b);
        self.written += b.len() as u64;
    }

    /// Queues a tag: its header, its body (by reference) and the back-pointer after it.
    fn tag(&mut self, tag_type: u8, ts: u32, body: Bytes) {
        let size = body.len();
        let s = (size as u32).to_be_bytes();
        let t = ts.to_be_bytes();
        self.head(&[tag_type, s[1], s[2], s[3], t[1], t[2], t[3], t[0], 0, 0, 0]);
        self.written += size as u64;
        self.queue.body(body);
        self.head(&((11 + size) as u32).to_be_bytes());
    }

    fn flush(&mut self) -> Result<()> {
        let written = self.queue.write_to(&self.file);
        self.torn |= written.is_err();
        written.map_err(|e| EngineError::io("write", &self.part, e))
    }
}

impl SegmentWriter for FlvWriter {
    fn write(&mut self, frame: &Frame, rel_ms: u64) -> Result<()> {
        if !frame.is_audio() && !self.has_video {
            return Ok(());
        }
        self.tag(frame.tag_type(), rel_ms as u32, frame.body.clone());
        if rel_ms >= self.last_flush_ms + FLUSH_EVERY_MS || self.queue.queued() >= FLUSH_AT_BYTES {
            self.last_flush_ms = rel_ms;
            self.flush()?;
        }
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.written
    }

    fn finish(mut self: Box<Self>, duration_ms: u64) -> Result<u64> {
        match self.queue.write_to(&self.file) {
            Ok(()) if !self.torn => {}
            // A write failed (typically the disk is full): what is on disk is kept and cut after
            // its last complete tag (the recovery path), instead of leaving a `.part` behind.
            Ok(()) => return self.recover(),
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return self.recover(),
            Err(e) => return Err(EngineError::io("flush", &self.part, e)),
        }
        let size = self.written;
        patch_metadata(
            &mut self.file,
            self.duration_at,
            self.filesize_at,
            duration_ms,
            size,
        )
        .and_then(|_| self.file.sync_all())
        .map_err(|e| EngineError::io("finalize", &self.part, e))?;
        durable_rename(&self.part, &self.path)?;
        Ok(size)
    }
}

/// A writer dropped without `finish` (its recording ended abnormally) still hands its queued
/// tags to the kernel, so recovery finds them.
impl Drop for FlvWriter {
    fn drop(&mut self) {
        let _ = self.queue.write_to(&self.file);
    }
}

impl FlvWriter {
    fn recover(self: Box<Self>) -> Result<u64> {
        let (part, path) = (self.part.clone(), self.path.clone());
        drop(self);
        recover_flv(&part, &path).map(|(size, _)| size)
    }
}

/// Writes `duration` (s) and `filesize` into an FLV's onMetaData at the given offsets.
pub fn patch_metadata(
    file: &mut File,
    duration_at: u64,
    filesize_at: u64,
    duration_ms: u64,
    size: u64,
) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(duration_at))?;
    file.write_all(&(duration_ms as f64 / 1000.0).to_be_bytes())?;
    file.seek(SeekFrom::Start(filesize_at))?;
    file.write_all(&(size as f64).to_be_bytes())
}

/// onMetaData's `videocodecid` / `audiocodecid` of a configuration tag: the classic codec id
/// (H.264 7, AAC 10), or for an enhanced tag (video: the 0x80 bit; audio: SoundFormat 9) its
/// FourCC as a number, as E-RTMP specifies and ffmpeg writes.
fn flv_codec_id(tag: &[u8], video: bool) -> f64 {
    let Some(&first) = tag.first() else {
        return if video { 7.0 } else { 10.0 };
    };
    let enhanced = if video {
        first & 0x80 != 0
    } else {
        first >> 4 == 9
    };
    match tag.get(1..5) {
        Some(f) if enhanced => f64::from(u32::from_be_bytes([f[0], f[1], f[2], f[3]])),
        _ if video => f64::from(first & 0x0f),
        _ => f64::from(first >> 4),
    }
}

/// AMF0 `onMetaData` body; returns it with the offsets of the duration and filesize values.
fn on_metadata(spec: &SegmentSpec) -> (Vec<u8>, usize, usize) {
    let mut entries: Vec<(&str, f64)> = vec![("duration", 0.0), ("filesize", 0.0)];
    if let Some(v) = spec.codecs.video.as_ref().filter(|_| spec.has_video()) {
        entries.extend([
            ("width", v.width as f64),
            ("height", v.height as f64),
            ("videocodecid", flv_codec_id(&v.tag, true)),
        ]);
    }
    if let Some(a) = &spec.codecs.audio {
        entries.extend([
            ("audiocodecid", flv_codec_id(&a.tag, false)),
            ("audiosamplerate", a.sample_rate as f64),
            ("audiochannels", a.channels as f64),
        ]);
    }
    let mut b = vec![2, 0, 10];
    b.extend_from_slice(b"onMetaData");
    b.push(8);
    b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let (mut duration_at, mut filesize_at) = (0, 0);
    for (k, v) in entries {
        b.extend_from_slice(&(k.len() as u16).to_be_bytes());
        b.extend_from_slice(k.as_bytes());
        b.push(0);
        match k {
            "duration" => duration_at = b.len(),
            "filesize" => filesize_at = b.len(),
            _ => {}
        }
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&[0, 0, 9]);
    (b, duration_at, filesize_at)
}

/// Offsets of `duration` and `filesize` values inside an FLV file written by [`FlvWriter`]
/// (used by recovery, which has only the file).
pub fn find_metadata_offsets(head: &[u8]) -> Option<(u64, u64)> {
    let find = |key: &[u8]| {
        let mut pat = (key.len() as u16).to_be_bytes().to_vec();
        pat.extend_from_slice(key);
        pat.push(0);
        head.windows(pat.len())
            .position(|w| w == pat.as_slice())
            .map(|p| (p + pat.len()) as u64)
    };
    Some((find(b"duration")?, find(b"filesize")?))
}
