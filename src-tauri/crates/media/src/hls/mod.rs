//! HLS: MPEG-TS chunks (≈ the GOP, target 10 s) and one m3u8 per segment file — a growing
//! EVENT playlist while open, a VOD playlist with `#EXT-X-ENDLIST` at close.

pub mod playlist;
pub mod ts;
pub mod writer;

pub use writer::HlsWriter;
