//! Wire types shared by the Tally server, the console's client and its UI, and the error table.
//!
//! TypeScript bindings for the UI are generated from these types into `ui/src/bindings`
//! (`cargo run -p tally-client --bin tally-bindings`); a test fails when the checked-in copy is stale.

pub mod bindings;
pub mod error;
pub mod events;
pub mod recordings;
pub mod rooms;
pub mod usage;

pub use error::{ApiError, ErrorCode, ErrorEntry, Lang, ERROR_TABLE};
