//! Wire types shared by the Tally server, the console's client and its UI, and the error table.
//!
//! TypeScript bindings for the UI are generated from these types into `ui/src/bindings`
//! (`cargo run -p tally-client --bin tally-bindings`); a test fails when the checked-in copy is stale.

pub mod bindings;
pub mod error;
pub mod events;
#[cfg(feature = "sql")]
pub mod recording_row;
pub mod recordings;
pub mod rooms;
pub mod usage;

pub use error::{ApiError, ErrorCode, ErrorEntry, Lang, ERROR_TABLE};

/// `GET /v1/version`: which service answers, and its version (one version for the whole
/// workspace: the console, `tally-server` and the embedded server are the same release).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ServiceVersion {
    /// `tally-server`.
    pub name: String,
    /// The release, e.g. `0.2.0`.
    pub version: String,
}

impl ServiceVersion {
    /// This build's.
    pub fn current() -> ServiceVersion {
        ServiceVersion {
            name: "tally-server".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}
