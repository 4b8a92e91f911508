//! Monthly usage: what the service bills by (the month's peak of concurrent recording channels).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Usage of one calendar month (UTC), as `GET /v1/usage?month=YYYY-MM` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Usage {
    /// `YYYY-MM`.
    pub month: String,
    /// Most recordings running at the same moment in the month. A recording (channel) is one
    /// task in channel mode, one `(stream_code, recordId)` in stream-code mode, whatever
    /// number of formats it writes.
    pub peak_channels: i64,
    /// Price of one peak channel for a month.
    pub price_per_channel_cny: i64,
    /// `peak_channels × price_per_channel_cny`.
    pub price_cny: i64,
    /// Bytes of the files that started in the month.
    pub bytes: i64,
    /// Number of files that started in the month.
    pub files: i64,
    /// The peak of each UTC day of the month, in order.
    pub days: Vec<DayUsage>,
}

/// One UTC day's peak of concurrent recording channels, and what was recorded that day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct DayUsage {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub peak_channels: i64,
    /// Bytes of the files that started that day.
    pub bytes: i64,
}
