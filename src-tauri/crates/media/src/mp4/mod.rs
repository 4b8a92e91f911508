//! MP4: a fragmented `.part` file while recording (every fragment fsynced, so a crash loses at
//! most one fragment), remuxed into a normal faststart MP4 at close. The same remux finalizes
//! leftover `.part` files at startup, so the recovery path runs on every recording.

pub mod fragment;
pub mod remux;

pub use fragment::Mp4Writer;
pub use remux::{finalize_part, RemuxOutcome};
