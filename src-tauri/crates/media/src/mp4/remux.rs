//! `.part` files written before MP4s were finished in place (a plain fragmented MP4 from its
//! first byte) are still finished after an upgrade: their samples are copied into a new
//! faststart MP4, never re-encoded.

use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use shiguredo_mp4::mux::{Mp4FileMuxer, Mp4FileMuxerOptions, MuxError};

use super::finalize::mux_error;
use super::samples::{Mp4Outcome, SampleMeta};
use crate::disk::{durable_rename, fsync_dir, with_suffix};
use crate::error::{EngineError, Result};

/// Copies `samples` (read from `file`, the `.part`) into `out` with the durable order, then
/// removes `part`.
pub(crate) fn copy_into_new_file(
    part: &Path,
    file: &File,
    samples: &[SampleMeta],
    out: &Path,
    mut outcome: Mp4Outcome,
) -> Result<Mp4Outcome> {
    let mut muxer = Mp4FileMuxer::with_options(Mp4FileMuxerOptions {
        reserved_moov_box_size: moov_size(samples).map_err(|e| mux_error(out, e))?,
        ..Default::default()
    })
    .map_err(|e| mux_error(out, e))?;
    let tmp = with_suffix(out, ".tmp");
    let dst = File::create(&tmp).map_err(|e| EngineError::io("create", &tmp, e))?;
    let mut w = BufWriter::with_capacity(256 * 1024, dst);
    let io = |e| EngineError::io("write", &tmp, e);
    let head = muxer.initial_boxes_bytes().to_vec();
    w.write_all(&head).map_err(io)?;
    let mut position = head.len() as u64;
    let mut data = Vec::new();
    for s in samples {
        data.resize(s.size, 0);
        file.read_exact_at(&mut data, s.offset)
            .map_err(|e| EngineError::io("read", part, e))?;
        w.write_all(&data).map_err(io)?;
        muxer
            .append_sample(&s.to_sample(position))
            .map_err(|e| mux_error(out, e))?;
        position += s.size as u64;
    }
    crate::crashpoint::here("mid_finalize");
    let finalized = muxer.finalize().map_err(|e| mux_error(out, e))?;
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

/// The exact size of the final moov, from a dry run of the muxer over the sample tables (no
/// I/O), so the reservation before mdat fits it and the file is always faststart.
fn moov_size(samples: &[SampleMeta]) -> Result<usize, MuxError> {
    let mut dry = Mp4FileMuxer::new()?;
    let mut position = dry.initial_boxes_bytes().len() as u64;
    for s in samples {
        dry.append_sample(&s.to_sample(position))?;
        position += s.size as u64;
    }
    // Chunk offsets may need 64 bits in the real layout: leave room for that.
    Ok(dry.finalize()?.moov_box_size() + 64)
}
