//! The interface every format writer implements, and what a segment needs to know to start.

use std::path::PathBuf;

use crate::codec::Codecs;
use crate::error::Result;
use crate::frame::Frame;

/// What a writer is told when its segment opens.
#[derive(Debug, Clone)]
pub struct SegmentSpec {
    /// Final path of the file representing the segment (the m3u8 for HLS).
    pub path: PathBuf,
    /// Decoder configurations known at the start.
    pub codecs: Codecs,
    /// Leave video out (channel mode `record_type` audio).
    pub audio_only: bool,
    /// Wall-clock time of the segment's first frame, unix ms.
    pub start_wall_ms: i64,
    /// The longest the segment can run: its interval and the forced-cut bound (writers size
    /// their indexes from it).
    pub max_duration_ms: u64,
    /// Where fragment fsyncs go.
    pub syncer: crate::syncer::Syncer,
}

impl SegmentSpec {
    /// True when the segment carries a video track.
    pub fn has_video(&self) -> bool {
        !self.audio_only && self.codecs.video.is_some()
    }
    /// True when the segment carries an audio track.
    pub fn has_audio(&self) -> bool {
        self.codecs.audio.is_some()
    }
}

/// A file (or, for HLS, a playlist with its chunks) being written.
pub trait SegmentWriter: Send {
    /// Appends a frame; `rel_ms` is its DTS relative to the segment start.
    fn write(&mut self, frame: &Frame, rel_ms: u64) -> Result<()>;
    /// Bytes written so far.
    fn bytes(&self) -> u64;
    /// Finishes the file with the durable order (fsync, rename, fsync dir) and returns its
    /// final size. `duration_ms` is the segment's exact duration.
    fn finish(self: Box<Self>, duration_ms: u64) -> Result<u64>;
}
