//! The usage page's command: a thin call into `tally-client`.

use tally_api::usage::Usage;
use tally_api::{ApiError, Lang};

use crate::live::Console;

/// Usage of a `YYYY-MM` month (UTC) on the current server.
#[tauri::command]
pub async fn usage(
    console: tauri::State<'_, Console>,
    month: String,
    lang: Lang,
) -> Result<Usage, ApiError> {
    console.client().with_lang(lang).usage(&month).await
}
