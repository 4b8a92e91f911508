//! MP4: a fragmented `.part` file while recording (every fragment fsynced, so a crash loses at
//! most one fragment), finished in place at close into a normal faststart MP4 without copying
//! a sample (`finalize.rs`). The same function finishes leftover `.part` files at startup, so
//! the recovery path runs on every recording.

mod duration;
mod finalize;
pub mod fragment;
mod remux;
mod samples;

pub use duration::movie_duration_ms;
pub use finalize::finalize_part;
pub use fragment::Mp4Writer;
pub use samples::Mp4Outcome;
