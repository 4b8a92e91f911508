//! FLV: the file format RTMP payloads already are. Hand-written on purpose: writing FLV is a
//! 9-byte header plus 11-byte tag headers and 4-byte back-pointers, and the reader must be a
//! small, strict, fuzzable function over untrusted bytes (aggregate messages, recovery).

pub mod reader;
pub mod writer;

pub use reader::{parse_header, parse_tag, FlvError, FlvTag};
pub use writer::FlvWriter;
