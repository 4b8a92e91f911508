//! Finishing an MP4 in place, without copying its samples.
//!
//! While recording, the `.part` is laid out as the file muxer's hybrid layout:
//!
//! ```text
//! ftyp | free (room for the final moov; a hole, never written) | mdat header (open-ended)
//!      | fragmented MP4: ftyp, moov (init), moof + mdat, moof + mdat, ...
//! ```
//!
//! Every fragment is fsynced, so a crash loses at most the open one. At close the `moof`s are
//! read (not the sample data), the flat `moov` is built with its chunk offsets pointing at the
//! samples where they already are, and written into the reserved room (or after the last
//! fragment when it does not fit); the outer `mdat` is given its size. The fragment boxes stay
//! inside that `mdat`, where players do not look. Nothing before the rename changes a byte a
//! later try needs, so a crash at any point is finished by the same function at startup.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use shiguredo_mp4::mux::{
    estimate_maximum_moov_box_size, FinalizedBoxes, Mp4FileMuxer, Mp4FileMuxerOptions,
};

use super::remux::copy_into_new_file;
use super::samples::{mark_a_sync_sample, outcome, read_samples, Mp4Outcome, SampleMeta};
use crate::disk::durable_rename;
use crate::error::{EngineError, Result};
use crate::segment::SegmentSpec;

/// Frame rate the moov reservation assumes; a faster stream's moov may not fit and goes after
/// the samples instead (still finished in place).
const RESERVED_VIDEO_FPS: usize = 60;
/// How far into a `.part` the head is looked for when its boxes cannot be walked (a crash tore
/// the head while it was being rewritten): beyond the largest reservation.
const HEAD_SCAN_LIMIT: u64 = 64 << 20;
/// The least room worth giving back at close.
const MIN_GIVEN_BACK: u64 = 1 << 20;
/// The hybrid layout's mdat header: size 1, `mdat`, a 64-bit size.
const MDAT_HEADER: u64 = 16;

/// The file muxer of the hybrid layout with `reserved` bytes of room for the moov.
pub(crate) fn hybrid_muxer(reserved: usize) -> Result<Mp4FileMuxer> {
    Mp4FileMuxer::with_options(Mp4FileMuxerOptions {
        reserved_moov_box_size: reserved,
        ..Default::default()
    })
    .map_err(|e| EngineError::Invalid(format!("mp4 muxer: {e}")))
}

/// Room for the moov of a segment of at most `spec.max_duration_ms`, with every track at its
/// highest expected sample rate.
pub(crate) fn moov_reservation(spec: &SegmentSpec) -> usize {
    let seconds = spec.max_duration_ms.div_ceil(1000) as usize + 1;
    let mut per_track = Vec::new();
    if spec.has_video() {
        per_track.push(seconds * RESERVED_VIDEO_FPS);
    }
    if let Some(audio) = &spec.codecs.audio {
        let frame = audio.frame_samples(&[]).max(1) as usize;
        per_track.push(seconds * (audio.sample_rate as usize).div_ceil(frame));
    }
    estimate_maximum_moov_box_size(&per_track)
}

/// How a `.part` is laid out.
enum Layout {
    /// The hybrid layout; the fragmented MP4 starts at this offset.
    Hybrid(u64),
    /// A plain fragmented MP4 from its first byte (written by an older version).
    Plain,
}

/// Turns `part` (fragmented) into `out` (faststart when the moov fits its room), durably, and
/// removes `part`. Errors if the part holds no complete fragment.
pub fn finalize_part(part: &Path, out: &Path) -> Result<Mp4Outcome> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)
        .map_err(|e| EngineError::io("open", part, e))?;
    let len = file
        .metadata()
        .map_err(|e| EngineError::io("stat", part, e))?
        .len();
    let layout = layout(part, &file, len)?;
    let base = match layout {
        Layout::Hybrid(base) => base,
        Layout::Plain => 0,
    };
    let mut samples = read_samples(part, &file, base, len)?;
    if samples.is_empty() {
        return Err(EngineError::NothingRecorded(part.to_path_buf()));
    }
    mark_a_sync_sample(&mut samples);
    let outcome = outcome(&samples);
    match layout {
        Layout::Hybrid(base) => finish_in_place(part, &file, base, &samples, out, outcome),
        Layout::Plain => copy_into_new_file(part, &file, &samples, out, outcome),
    }
}

fn finish_in_place(
    part: &Path,
    file: &File,
    base: u64,
    samples: &[SampleMeta],
    out: &Path,
    mut outcome: Mp4Outcome,
) -> Result<Mp4Outcome> {
    let unreserved = hybrid_muxer(0)?.initial_boxes_bytes().len() as u64;
    let reserved = base
        .checked_sub(unreserved)
        .ok_or_else(|| EngineError::Invalid(format!("{}: head too small", part.display())))?;
    let (mut finalized, position) = in_place_boxes(part, out, base, reserved, samples, 0)?;
    let io = |what, e| EngineError::io(what, part, e);
    // A torn last fragment, or the moov of an earlier try, goes.
    file.set_len(position).map_err(|e| io("truncate", e))?;
    if finalized.is_faststart_enabled() {
        // What stays: the final ftyp, the moov and the header of the free box after it.
        let (_, head) = finalized.offset_and_bytes_pairs().next().expect("a head");
        let ftyp = box_size(head, 0).unwrap_or(head.len() as u64);
        let moov_end = ftyp + finalized.moov_box_size() as u64 + 8;
        let given_back = give_back_room(part, file, moov_end, base - MDAT_HEADER)?;
        if given_back > 0 {
            (finalized, _) = in_place_boxes(
                part,
                out,
                base - given_back,
                reserved - given_back,
                samples,
                given_back,
            )?;
        }
    }
    for (offset, bytes) in finalized.offset_and_bytes_pairs() {
        let bytes = if offset == 0 {
            head_without_free_payload(bytes, &finalized)
        } else {
            bytes
        };
        file.write_all_at(bytes, offset)
            .map_err(|e| io("write", e))?;
        crate::crashpoint::here("mid_finalize");
    }
    file.sync_all().map_err(|e| io("fsync", e))?;
    outcome.size = file.metadata().map_err(|e| io("stat", e))?.len();
    durable_rename(part, out)?;
    Ok(outcome)
}

/// The boxes that finish `samples` in place with `reserved` bytes of moov room and the media
/// from `base` on, the samples having moved `shift` bytes towards the start of the file; and
/// where the last sample ends.
fn in_place_boxes(
    part: &Path,
    out: &Path,
    base: u64,
    reserved: u64,
    samples: &[SampleMeta],
    shift: u64,
) -> Result<(FinalizedBoxes, u64)> {
    let mut muxer = hybrid_muxer(reserved as usize)?;
    if muxer.initial_boxes_bytes().len() as u64 != base {
        return Err(EngineError::Invalid(format!(
            "{}: unexpected head layout",
            part.display()
        )));
    }
    // Between samples lie the fragments' own boxes: the muxer steps over them.
    let mut position = base;
    for s in samples {
        let offset = s.offset - shift;
        let gap = offset.checked_sub(position).ok_or_else(|| {
            EngineError::Invalid(format!("{}: overlapping samples", part.display()))
        })?;
        muxer
            .advance_position(gap)
            .and_then(|_| muxer.append_sample(&s.to_sample(offset)))
            .map_err(|e| mux_error(out, e))?;
        position = offset + s.size as u64;
    }
    let finalized = muxer.finalize().map_err(|e| mux_error(out, e))?.clone();
    Ok((finalized, position))
}

/// Gives back the part of the moov's room the moov does not need, so that a short recording
/// is not megabytes of zeros longer than its media: `FALLOC_FL_COLLAPSE_RANGE` removes whole
/// blocks between `moov_end` and the mdat header in place, moving no data through user space.
/// Returns the bytes removed: none where the file system cannot collapse (tmpfs, say), and
/// the room then stays a hole.
///
/// The ftyp's size is zeroed first (and made durable), so that until the new head is written a
/// later try does not walk the boxes, whose sizes the collapse makes stale, but searches for
/// the mdat header ([`layout`]), which it finds before the collapse and after it.
fn give_back_room(part: &Path, file: &File, moov_end: u64, mdat_header: u64) -> Result<u64> {
    use std::os::fd::AsRawFd;
    let io = |what, e| EngineError::io(what, part, e);
    let block = file
        .metadata()
        .map(|m| std::os::unix::fs::MetadataExt::blksize(&m).max(512))
        .map_err(|e| io("stat", e))?;
    let from = moov_end.next_multiple_of(block);
    let len = mdat_header.saturating_sub(from) / block * block;
    // A collapse is a journal commit and an fsync more per close: only worth it for room a
    // user would notice (a long segment's reservation, a short recording).
    if len < MIN_GIVEN_BACK {
        return Ok(0);
    }
    file.write_all_at(&[0; 4], 0)
        .and_then(|_| file.sync_data())
        .map_err(|e| io("write", e))?;
    crate::crashpoint::here("before_collapse");
    // SAFETY: a plain syscall on an open descriptor; no memory is shared with it.
    let collapsed = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_COLLAPSE_RANGE,
            from as libc::off_t,
            len as libc::off_t,
        )
    };
    if collapsed != 0 {
        let e = std::io::Error::last_os_error();
        tracing::debug!(part = %part.display(), error = %e, "the moov room stays a hole");
        return Ok(0);
    }
    crate::crashpoint::here("after_collapse");
    Ok(len)
}

/// The head boxes (ftyp, the moov when it fits, free) without the free box's payload: that
/// room was a hole and still is (or holds an earlier try's moov, now inside the free box), so
/// only the boxes' own bytes need writing.
fn head_without_free_payload<'a>(head: &'a [u8], finalized: &FinalizedBoxes) -> &'a [u8] {
    let ftyp = box_size(head, 0).unwrap_or(head.len() as u64) as usize;
    let moov = if finalized.is_faststart_enabled() {
        finalized.moov_box_size()
    } else {
        0
    };
    let end = (ftyp + moov + 8).min(head.len());
    &head[..end]
}

/// The 32-bit size of the box at `at` in `bytes`.
fn box_size(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 4)?;
    Some(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

/// Finds where the fragmented MP4 starts: after the open-ended `mdat` header of the hybrid
/// layout, or at 0 for a plain fragmented `.part`. The top-level boxes are walked; when a crash
/// tore the head while it was rewritten, the `mdat` header is searched for instead.
fn layout(part: &Path, file: &File, len: u64) -> Result<Layout> {
    let read = |at: u64, n: usize| -> Result<Vec<u8>> {
        let mut b = vec![0u8; n.min(len.saturating_sub(at) as usize)];
        file.read_exact_at(&mut b, at)
            .map_err(|e| EngineError::io("read", part, e))?;
        Ok(b)
    };
    let mut at = 0u64;
    while at + 8 <= len {
        let h = read(at, 16)?;
        let size32 = box_size(&h, 0).unwrap_or(0);
        let (size, header) = match size32 {
            1 if h.len() >= 16 => (
                u64::from_be_bytes(h[8..16].try_into().expect("8 bytes")),
                16,
            ),
            _ => (size32, 8),
        };
        match &h[4..8] {
            b"mdat" => return Ok(Layout::Hybrid(at + header)),
            b"moof" => return Ok(Layout::Plain),
            b"ftyp" | b"free" | b"moov" if size >= header && at + size <= len => at += size,
            _ => break,
        }
    }
    let head = read(0, HEAD_SCAN_LIMIT as usize)?;
    let found = head
        .windows(24)
        .position(|w| w[..4] == [0, 0, 0, 1] && &w[4..8] == b"mdat" && &w[20..24] == b"ftyp");
    Ok(match found {
        Some(i) => Layout::Hybrid(i as u64 + 16),
        None => Layout::Plain,
    })
}

pub(crate) fn mux_error(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Mux {
        format: "mp4",
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}
