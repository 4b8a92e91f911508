//! Poster frames: a small JPEG of a segment's first keyframe (its thumbnail) or of a live
//! stream's latest one (its preview).
//!
//! Decoded with OpenH264, a maintained decoder built from the sources its crate bundles
//! (nothing is downloaded). The picture is scaled down straight from the decoded YUV planes and
//! handed to the JPEG encoder as YCbCr, so no full-size RGB frame is ever made.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use crate::codec::VideoConfig;

/// Width of a poster, pixels (smaller pictures are kept at their size).
pub const POSTER_WIDTH: usize = 320;
/// JPEG quality: small files that still read well at thumbnail size.
const QUALITY: u8 = 80;
/// How long a segment's close waits for its poster before reporting the file without one.
const POSTER_WAIT: Duration = Duration::from_secs(5);

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
}

/// The poster of a file: `<stem>.jpg` beside it, shared by the segment's formats.
pub fn path_for(file: &Path) -> PathBuf {
    file.with_extension("jpg")
}

/// A JPEG of the keyframe `access_unit` (AVCC: length-prefixed NAL units) of a stream with
/// decoder configuration `video`.
pub fn jpeg(video: &VideoConfig, access_unit: &[u8]) -> Result<Vec<u8>, PosterError> {
    let annex_b = annex_b(video, access_unit)?;
    let mut decoder = Decoder::new().map_err(|e| PosterError::Decode(e.to_string()))?;
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
    for nal in video.sps.iter().chain(&video.pps) {
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

/// A segment's poster being made on a close thread; the segment's file closes wait for it, so
/// their rows name a poster only when it is on disk.
#[derive(Clone, Default)]
pub(crate) struct PendingPoster(Arc<(Mutex<Option<bool>>, Condvar)>);

impl PendingPoster {
    /// Records whether the poster was written.
    pub fn set(&self, written: bool) {
        let (state, ready) = &*self.0;
        *state.lock().unwrap_or_else(|p| p.into_inner()) = Some(written);
        ready.notify_all();
    }

    /// True once the poster is on disk; false when it failed or is still not made in
    /// [`POSTER_WAIT`].
    pub fn wait(&self) -> bool {
        let (state, ready) = &*self.0;
        let guard = state.lock().unwrap_or_else(|p| p.into_inner());
        let (done, _) = ready
            .wait_timeout_while(guard, POSTER_WAIT, |s| s.is_none())
            .unwrap_or_else(|p| p.into_inner());
        done.unwrap_or(false)
    }
}

/// Sets "not written" if the job is dropped before it ran (the engine stopped).
struct Settle(PendingPoster);

impl Drop for Settle {
    fn drop(&mut self) {
        let (state, _) = &*(self.0).0;
        let unset = state.lock().unwrap_or_else(|p| p.into_inner()).is_none();
        if unset {
            self.0.set(false);
        }
    }
}

/// The job that writes `path` from the segment's first keyframe, and the handle its closes
/// wait on.
pub(crate) fn job(
    video: VideoConfig,
    keyframe: crate::frame::Frame,
    path: PathBuf,
) -> (PendingPoster, crate::closer::Job) {
    let pending = PendingPoster::default();
    let settle = Settle(pending.clone());
    let job = Box::new(move || {
        let written = jpeg(&video, keyframe.payload())
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::disk::write_atomic(&path, &bytes).map_err(|e| e.to_string()));
        if let Err(e) = &written {
            tracing::warn!(path = %path.display(), error = %e, "no poster for this segment");
        }
        settle.0.set(written.is_ok());
    });
    (pending, job)
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
        let video = VideoConfig::from_record(config.body.slice(config.payload_offset..)).unwrap();
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
            v.sps.len() + v.pps.len() + 2
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
