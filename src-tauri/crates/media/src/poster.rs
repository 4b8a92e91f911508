//! Poster frames: a small JPEG of a segment's first keyframe (its thumbnail) or of a live
//! stream's latest one (its preview).
//!
//! Decoded with OpenH264, a maintained decoder built from the sources its crate bundles
//! (nothing is downloaded). The picture is scaled down straight from the decoded YUV planes and
//! handed to the JPEG encoder as YCbCr, so no full-size RGB frame is ever made.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use crate::codec::VideoConfig;

/// Width of a poster, pixels (smaller pictures are kept at their size).
pub const POSTER_WIDTH: usize = 320;
/// JPEG quality: small files that still read well at thumbnail size.
const QUALITY: u8 = 80;
/// Posters queued at most; past that a segment gets none. 200 streams cut their segments
/// together: each queued job holds its keyframe, and a backlog would only grow on a machine
/// whose cores ingest needs.
const MAX_QUEUED: usize = 64;
/// How long the poster thread keeps its decoder after the last poster. A fresh decoder's first
/// picture costs 13–14 ms at 720p against 5.5 ms for a warm one (its 20 MB of buffers are
/// faulted in again), and segments that close together come a few seconds apart.
const KEEP_DECODER: std::time::Duration = std::time::Duration::from_secs(10);

/// Why no poster could be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The keyframe's NAL units overrun it.
    #[error("malformed access unit: {0}")]
    Malformed(&'static str),
    /// The decoder refused the picture or gave none.
    #[error("the decoder gave no picture: {0}")]
    Decode(String),
    /// The JPEG could not be encoded.
    #[error("encoding the JPEG: {0}")]
    Encode(String),
    /// A profile OpenH264 does not decode (it decodes 8-bit 4:2:0 only).
    #[error("H.264 profile {0} (10-bit, 4:2:2 or 4:4:4) has no decoder here; publish 8-bit 4:2:0 (Baseline, Main or High) for posters")]
    UnsupportedProfile(u8),
    /// A codec with no decoder here (OpenH264 decodes H.264 only).
    #[error("no {0} decoder here: {0} recordings have no poster")]
    UnsupportedCodec(&'static str),
}

/// True when posters can be made of this stream's keyframes.
pub fn can_decode(video: &VideoConfig) -> bool {
    video.codec == crate::frame::Codec::H264
}

/// The poster of a file: `<stem>.jpg` beside it, shared by the segment's formats.
pub fn path_for(file: &Path) -> PathBuf {
    file.with_extension("jpg")
}

/// A JPEG of the keyframe `access_unit` (AVCC: length-prefixed NAL units) of a stream with
/// decoder configuration `video`.
pub fn jpeg(video: &VideoConfig, access_unit: &[u8]) -> Result<Vec<u8>, PosterError> {
    let mut decoder = Decoder::new().map_err(|e| PosterError::Decode(e.to_string()))?;
    jpeg_with(&mut decoder, video, access_unit)
}

/// [`jpeg`] with a decoder kept from an earlier picture: its buffers (about 20 MB at 720p)
/// are allocated once. Each keyframe comes with its SPS and PPS, so any stream's may follow.
fn jpeg_with(
    decoder: &mut Decoder,
    video: &VideoConfig,
    access_unit: &[u8],
) -> Result<Vec<u8>, PosterError> {
    // The SPS's second byte is profile_idc: High 10, High 4:2:2, High 4:4:4 (and CAVLC 4:4:4)
    // would only fail inside the decoder, as a missing parameter set.
    if !can_decode(video) {
        return Err(PosterError::UnsupportedCodec(video.codec.name()));
    }
    if let Some(profile) = video.h264_profile() {
        if matches!(profile, 44 | 110 | 122 | 244) {
            return Err(PosterError::UnsupportedProfile(profile));
        }
    }
    let annex_b = annex_b(video, access_unit)?;
    let decoded = decoder
        .decode(&annex_b)
        .map_err(|e| PosterError::Decode(e.to_string()))?;
    match decoded {
        Some(yuv) => encode(&yuv),
        // A decoder that reorders holds the picture back until it is flushed.
        None => {
            let flushed = decoder
                .flush_remaining()
                .map_err(|e| PosterError::Decode(e.to_string()))?;
            let yuv = flushed
                .first()
                .ok_or_else(|| PosterError::Decode("no picture in the keyframe".into()))?;
            encode(yuv)
        }
    }
}

/// SPS, PPS and the access unit's NAL units, each behind a start code.
fn annex_b(video: &VideoConfig, access_unit: &[u8]) -> Result<Vec<u8>, PosterError> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let mut out = Vec::with_capacity(access_unit.len() + 64);
    for nal in &video.parameter_sets {
        out.extend_from_slice(&START);
        out.extend_from_slice(nal);
    }
    let n = video.nal_length_size;
    if !(1..=4).contains(&n) {
        return Err(PosterError::Malformed("NAL length size"));
    }
    let mut rest = access_unit;
    while !rest.is_empty() {
        let (len, body) = rest
            .split_at_checked(n)
            .ok_or(PosterError::Malformed("NAL length"))?;
        let len = len.iter().fold(0usize, |acc, b| acc << 8 | *b as usize);
        let (nal, next) = body
            .split_at_checked(len)
            .ok_or(PosterError::Malformed("NAL unit past the end"))?;
        out.extend_from_slice(&START);
        out.extend_from_slice(nal);
        rest = next;
    }
    Ok(out)
}

/// Scales the picture down (each poster pixel averages the block of source pixels it covers)
/// and encodes it. H.264 is limited range (16–235); JPEG's YCbCr is full range.
fn encode(yuv: &impl YUVSource) -> Result<Vec<u8>, PosterError> {
    let (w, h) = yuv.dimensions();
    if w < 2 || h < 2 {
        return Err(PosterError::Decode(format!("a {w}x{h} picture")));
    }
    let out_w = w.min(POSTER_WIDTH);
    let out_h = (h * out_w / w).max(2) & !1;
    let (ys, us, vs) = yuv.strides();
    let (y, u, v) = (yuv.y(), yuv.u(), yuv.v());
    let span = |i: usize, out: usize, full: usize| {
        let from = i * full / out;
        (from, ((i + 1) * full / out).max(from + 1))
    };
    let average =
        |plane: &[u8], stride: usize, (x0, x1): (usize, usize), (y0, y1): (usize, usize)| {
            let mut sum = 0u32;
            for row in y0..y1 {
                let line = &plane[row * stride..];
                sum += line[x0..x1].iter().map(|&p| p as u32).sum::<u32>();
            }
            sum / ((x1 - x0) * (y1 - y0)) as u32
        };
    let luma = |p: u32| ((p.clamp(16, 235) - 16) * 255 / 219) as u8;
    let chroma = |p: u32| (((p.clamp(16, 240) as i32 - 128) * 255 / 224) + 128).clamp(0, 255) as u8;
    let mut ycbcr = Vec::with_capacity(out_w * out_h * 3);
    for oy in 0..out_h {
        let rows = span(oy, out_h, h);
        let chroma_rows = (rows.0 / 2, (rows.1 / 2).max(rows.0 / 2 + 1));
        for ox in 0..out_w {
            let cols = span(ox, out_w, w);
            let chroma_cols = (cols.0 / 2, (cols.1 / 2).max(cols.0 / 2 + 1));
            ycbcr.push(luma(average(y, ys, cols, rows)));
            ycbcr.push(chroma(average(u, us, chroma_cols, chroma_rows)));
            ycbcr.push(chroma(average(v, vs, chroma_cols, chroma_rows)));
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, QUALITY)
        .encode(
            &ycbcr,
            out_w as u16,
            out_h as u16,
            jpeg_encoder::ColorType::Ycbcr,
        )
        .map_err(|e| PosterError::Encode(e.to_string()))?;
    Ok(jpeg)
}

/// A segment's poster being made on the poster thread; the segment's file closes ask it, so
/// their rows name a poster only when it is on disk.
#[derive(Clone, Default)]
pub(crate) struct PendingPoster(Arc<Mutex<Option<bool>>>);

impl PendingPoster {
    /// Records whether the poster was written.
    pub fn set(&self, written: bool) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(written);
    }

    /// True once the poster is on disk. A close does not wait for it: the poster was queued
    /// when the segment opened, so by the close it is made unless the poster thread is behind,
    /// and a close waiting on it would hold up every file after it (close-to-row p99 went
    /// from 0.25 s to 4 s at 200 streams).
    pub fn is_written(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(false)
    }
}

/// Sets "not written" if the job is dropped before it ran (the engine stopped).
struct Settle(PendingPoster);

impl Drop for Settle {
    fn drop(&mut self) {
        let unset = (self.0)
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none();
        if unset {
            self.0.set(false);
        }
    }
}

struct PosterJob {
    video: VideoConfig,
    keyframe: crate::frame::Frame,
    path: PathBuf,
    settle: Settle,
}

/// The one thread posters are made on, started with the first. One, at a low priority, with
/// one decoder: a decode takes 10–20 ms of CPU and a decoder 20 MB at 720p, and 200 streams cut
/// their segments together; queued one after another, posters never hold up a close or a
/// socket read, and cost one decoder's memory however many wait.
#[derive(Default)]
pub(crate) struct PosterThread(Mutex<Option<std::sync::mpsc::SyncSender<PosterJob>>>);

impl PosterThread {
    /// Queues the poster of a segment opening on `keyframe`, written to `path`; its closes
    /// wait on the handle.
    pub fn make(
        &self,
        video: VideoConfig,
        keyframe: crate::frame::Frame,
        path: PathBuf,
    ) -> PendingPoster {
        let pending = PendingPoster::default();
        let job = PosterJob {
            video,
            keyframe,
            path,
            settle: Settle(pending.clone()),
        };
        let mut tx = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if tx.is_none() {
            *tx = spawn();
        }
        // With no thread (it could not start), or a full queue, the job is dropped: the file
        // has no poster.
        if let Some(tx) = tx.as_ref() {
            if let Err(std::sync::mpsc::TrySendError::Full(job)) = tx.try_send(job) {
                tracing::debug!(path = %job.path.display(), "the poster thread is behind: no poster for this segment");
            }
        }
        pending
    }
}

fn spawn() -> Option<std::sync::mpsc::SyncSender<PosterJob>> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<PosterJob>(MAX_QUEUED);
    let started = std::thread::Builder::new()
        .name("posters".into())
        .spawn(move || {
            // SAFETY: setpriority on this thread's own id; it touches no memory of ours.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
            }
            let mut decoder = None;
            let mut next = rx.recv().ok();
            while let Some(job) = next {
                let written = write_poster(&mut decoder, &job);
                if let Err(e) = &written {
                    tracing::warn!(path = %job.path.display(), error = %e, "no poster for this segment");
                }
                job.settle.0.set(written.is_ok());
                drop(job);
                next = match rx.recv_timeout(KEEP_DECODER) {
                    Ok(job) => Some(job),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        // Idle until the next segments open: the decoder's memory goes back.
                        decoder = None;
                        // SAFETY: glibc's malloc_trim only releases free heap pages.
                        unsafe {
                            libc::malloc_trim(0);
                        }
                        rx.recv().ok()
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
                };
            }
        });
    match started {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!(error = %e, "no poster thread: files are recorded without posters");
            None
        }
    }
}

fn write_poster(decoder: &mut Option<Decoder>, job: &PosterJob) -> Result<(), String> {
    if decoder.is_none() {
        *decoder = Some(Decoder::new().map_err(|e| e.to_string())?);
    }
    let d = decoder.as_mut().expect("just made");
    let bytes = match jpeg_with(d, &job.video, job.keyframe.payload()) {
        Ok(bytes) => bytes,
        Err(e) => {
            *decoder = None; // a decoder that choked on a picture is not trusted with the next
            return Err(e.to_string());
        }
    };
    crate::disk::write_synced(&job.path, &bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::frame::{parse_tag, Frame, Kind};

    /// The bundled sample's video configuration and first keyframe.
    pub(crate) fn sample_keyframe() -> (VideoConfig, Frame) {
        let clip = bytes::Bytes::from_static(crate::replay::SAMPLE_CLIP);
        let header = crate::flv::reader::parse_header(&clip).unwrap();
        let tags = crate::flv::reader::parse_all_tags(&clip[header..]).unwrap();
        let frames: Vec<Frame> = tags
            .iter()
            .filter_map(|t| parse_tag(t.tag_type, clip.slice_ref(t.body)).ok().flatten())
            .collect();
        let config = frames.iter().find(|f| f.kind == Kind::VideoConfig).unwrap();
        let video = VideoConfig::from_frame(config).unwrap();
        let keyframe = frames
            .into_iter()
            .find(|f| f.kind == Kind::Video && f.keyframe)
            .unwrap();
        (video, keyframe)
    }

    fn config(nal_length_size: usize) -> VideoConfig {
        let mut v = sample_keyframe().0;
        v.nal_length_size = nal_length_size;
        v
    }

    #[test]
    fn annex_b_puts_a_start_code_before_every_nal_unit() {
        let v = config(4);
        let au = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x06];
        let out = annex_b(&v, &au).unwrap();
        assert!(out.ends_with(&[0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x06]));
        assert_eq!(
            out.windows(4).filter(|w| *w == [0, 0, 0, 1]).count(),
            v.parameter_sets.len() + 2
        );
    }

    #[test]
    fn a_nal_unit_running_past_the_access_unit_is_an_error_not_a_panic() {
        for au in [&[0, 0, 0, 9, 0x65][..], &[0, 0][..]] {
            assert!(matches!(
                annex_b(&config(4), au),
                Err(PosterError::Malformed(_))
            ));
        }
        assert!(annex_b(&config(0), &[1]).is_err());
    }

    #[test]
    fn a_high_444_stream_is_refused_by_name_before_decoding() {
        let (mut video, frame) = sample_keyframe();
        video.parameter_sets[0][1] = 244;
        let err = jpeg(&video, frame.payload()).unwrap_err();
        assert!(matches!(err, PosterError::UnsupportedProfile(244)), "{err}");
    }

    #[test]
    fn garbage_in_a_keyframe_gives_an_error() {
        let au = [0, 0, 0, 4, 0x65, 0xFF, 0x00, 0x13];
        assert!(jpeg(&config(4), &au).is_err());
    }

    #[test]
    fn the_sample_streams_first_keyframe_becomes_a_jpeg_of_poster_width() {
        let (video, keyframe) = sample_keyframe();
        let bytes = jpeg(&video, keyframe.payload()).unwrap();
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "a JPEG SOI marker");
        // The frame header (SOF0) carries the height then the width.
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let height = u16::from_be_bytes([bytes[sof + 5], bytes[sof + 6]]);
        let width = u16::from_be_bytes([bytes[sof + 7], bytes[sof + 8]]);
        assert_eq!((width, height), (320, 180), "640x360 scaled to 320 wide");
    }
}
