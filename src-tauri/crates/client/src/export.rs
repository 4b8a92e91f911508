//! Exporting every recording that matches a search (all pages, not only the visible one) as a
//! CSV file (RFC 4180 quoting, UTF-8 with a byte-order mark so spreadsheet programs read
//! Chinese file names correctly).

use std::path::{Path, PathBuf};

use tokio::io::{AsyncWriteExt, BufWriter};

use crate::cache::{CacheError, CachedRecording, RecordingCache, SearchQuery};

/// Rows fetched per search page while exporting.
const EXPORT_PAGE: u32 = 500;

const HEADER: [&str; 17] = [
    "file_id",
    "file_name",
    "stream_code",
    "room_id",
    "user_id",
    "record_id",
    "tags",
    "format",
    "start_ms",
    "end_ms",
    "duration_ms",
    "size",
    "url",
    "callback_state",
    "deleted",
    "download_state",
    "download_path",
];

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `value` as one CSV field: quoted when it holds a comma, quote, line break or edge space,
/// with inner quotes doubled.
pub fn csv_field(value: &str) -> String {
    let needs_quotes =
        value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// One CSV line (CRLF-terminated, as RFC 4180 has it).
fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn row_fields(r: &CachedRecording) -> [String; 17] {
    [
        r.file_id.clone(),
        r.file_name.clone(),
        r.stream_code.clone(),
        r.room_id.clone(),
        r.user_id.clone(),
        r.record_id.clone(),
        // As they are typed on the Live page.
        r.tags.join(", "),
        r.format.to_string(),
        r.start_ms.to_string(),
        r.end_ms.to_string(),
        r.duration_ms.to_string(),
        r.size.to_string(),
        r.url.clone(),
        r.callback_state.to_string(),
        r.deleted.to_string(),
        r.download_state.clone(),
        r.download_path.clone().unwrap_or_default(),
    ]
}

/// Writes every row matching `query` (its paging ignored) to `path`; returns the row count.
pub async fn export_csv(
    cache: &RecordingCache,
    query: &SearchQuery,
    path: &Path,
) -> Result<u64, ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut out = BufWriter::new(file);
    out.write_all("\u{feff}".as_bytes()).await.map_err(io)?;
    out.write_all(csv_line(HEADER).as_bytes())
        .await
        .map_err(io)?;
    let mut page_query = SearchQuery {
        limit: EXPORT_PAGE,
        after: None,
        ..query.clone()
    };
    let mut count = 0;
    loop {
        let page = cache.search(&page_query).await?;
        for row in &page.rows {
            let fields = row_fields(row);
            out.write_all(csv_line(fields.iter().map(String::as_str)).as_bytes())
                .await
                .map_err(io)?;
            count += 1;
        }
        match page.next {
            Some(next) => page_query.after = Some(next),
            None => break,
        }
    }
    out.flush().await.map_err(io)?;
    out.into_inner().sync_all().await.map_err(io)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn chinese_text_is_kept_verbatim_and_quoted_only_when_needed() {
        assert_eq!(csv_field("物理第三讲"), "物理第三讲");
        assert_eq!(csv_field("物理，第三讲"), "物理，第三讲"); // a full-width comma is text
        assert_eq!(csv_field("物理,第三讲"), "\"物理,第三讲\"");
        assert_eq!(
            csv_line(["1", "张三 \"老师\"", "课,堂"]),
            "1,\"张三 \"\"老师\"\"\",\"课,堂\"\r\n"
        );
    }
}
