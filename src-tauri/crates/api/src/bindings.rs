//! Generates the UI's TypeScript bindings and the error table as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::{Config, ExportError, TS};

use crate::error::{error_rows, ApiError, ErrorRow, Lang};

/// Every generated file, by name, with its content.
pub fn generate() -> Result<BTreeMap<String, String>, ExportError> {
    let cfg = Config::new();
    let mut files = BTreeMap::new();
    let mut add = |name: &str, ts: String| {
        files.insert(name.to_owned(), ts);
    };
    add("ApiError.ts", ApiError::export_to_string(&cfg)?);
    add("Lang.ts", Lang::export_to_string(&cfg)?);
    add("ErrorRow.ts", ErrorRow::export_to_string(&cfg)?);
    add(
        "ErrorTexts.ts",
        crate::error::ErrorTexts::export_to_string(&cfg)?,
    );
    let table = serde_json::to_string_pretty(&error_rows()).expect("the table serializes");
    add("errorTable.json", format!("{table}\n"));
    Ok(files)
}

/// Writes every generated file into `dir`, removing none.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let files = generate().map_err(std::io::Error::other)?;
    for (name, content) in files {
        std::fs::write(dir.join(name), content)?;
    }
    Ok(())
}
