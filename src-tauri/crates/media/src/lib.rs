//! Tally's media engine: RTMP ingest and crash-safe FLV / MP4 / HLS recording.
//!
//! The engine takes RTMP in, writes files under `<data>/vod/<app>/<stream_code>/<YYYYMMDD>/`,
//! and reports everything it does as typed [`EngineEvent`]s. It knows nothing of databases or
//! the desktop app; `docs/engine-api.md` is the contract with the service and
//! `docs/design.md` describes how files become durable.
#![warn(missing_docs)]

pub mod auth;
pub mod budget;
pub mod clock;
mod closer;
pub mod codec;
pub mod config;
pub mod crashpoint;
pub mod error;
pub mod frame;
pub mod gather;
pub mod gop;
pub mod ids;
pub mod meter;
pub mod params;
pub mod poster;
pub mod splitter;
pub mod timeline;

pub use config::{
    EngineConfig, Format, Formats, InstantStart, LeaseStreams, LeaseTaken, StreamLease,
    StreamLeases,
};
pub use error::{EngineError, Result};
pub mod disk;
pub mod engine;
pub mod events;
pub mod flv;
pub mod hls;
mod ingest;
pub mod manifest;
pub mod mp4;
pub mod record;
pub mod recorders;
pub mod recovery;
pub mod rtmp;
pub mod segment;
pub mod srt;
pub mod stream;
pub mod syncer;

pub use clock::{Clock, SharedClock};
pub use engine::{Engine, RecordRequest};
pub use events::{EndReason, EngineEvent, Fact, RecordingId, SegmentClosed, StreamStatus};
pub mod replay;
