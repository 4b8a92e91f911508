//! Search over the cache: substring text search (FTS5 trigram, so Chinese and partial words
//! match), filters, sort and keyset paging. Every value is a bound parameter; column names come
//! only from [`Sort`].

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};
use ts_rs::TS;

use super::rows::{columns, first_time_key, CachedRecording};
use super::{CacheError, RecordingCache};

/// The trigram index needs three characters; shorter queries scan with LIKE instead.
const TRIGRAM_MIN_CHARS: usize = 3;

/// A 1–2 character query cannot use the index, so it scans only this many newest rows and the
/// page says so (`partial`), keeping typing responsive at a million rows.
pub const SHORT_QUERY_SCAN_ROWS: i64 = 10_000;

/// The fields typed text is looked for in (the trigram index covers the same ones).
const SEARCHED_COLUMNS: [&str; 6] = [
    "stream_code",
    "room_id",
    "user_id",
    "file_name",
    "tags",
    "record_id",
];

/// How typed text is matched.
#[derive(Debug, PartialEq, Eq)]
enum TextMatch<'a> {
    None,
    /// `<bizid>_<hash>[_<record id>]`: a prefix of the seed's query key, via its index.
    KeyPrefix(&'a str),
    /// Anywhere in the searchable fields, via the trigram index.
    Substring(&'a str),
    /// Too short for the index: LIKE over the newest rows.
    Short(&'a str),
}

fn classify(text: &str) -> TextMatch<'_> {
    let text = text.trim();
    let looks_like_key = text.split_once('_').is_some_and(|(biz, rest)| {
        !biz.is_empty()
            && biz.bytes().all(|b| b.is_ascii_digit())
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if text.is_empty() {
        TextMatch::None
    } else if looks_like_key {
        TextMatch::KeyPrefix(text)
    } else if text.chars().count() >= TRIGRAM_MIN_CHARS {
        TextMatch::Substring(text)
    } else {
        TextMatch::Short(text)
    }
}

/// Result order. Ties are broken by the local row id so paging is stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    NewestFirst,
    OldestFirst,
    LargestFirst,
    LongestFirst,
}

impl Sort {
    fn column(self) -> &'static str {
        match self {
            Sort::NewestFirst | Sort::OldestFirst => "start_ms",
            Sort::LargestFirst => "size",
            Sort::LongestFirst => "duration_ms",
        }
    }

    fn descending(self) -> bool {
        !matches!(self, Sort::OldestFirst)
    }
}

/// What to look for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(optional_fields)]
pub struct SearchQuery {
    /// Typed text: matched as a substring of stream code, room, user, file name, tags, record id.
    pub text: String,
    pub format: Option<String>,
    pub room_id: Option<String>,
    pub callback_state: Option<String>,
    /// Start time range, unix ms, inclusive.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub include_deleted: bool,
    pub sort: Sort,
    /// Page size (1..=500; 0 means 100).
    pub limit: u32,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Page {
    pub rows: Vec<CachedRecording>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
    /// Only the newest [`SHORT_QUERY_SCAN_ROWS`] rows were searched (a 1–2 character query).
    pub partial: bool,
}

/// Keyset position: the sort value and the row id of the last row of a page.
fn parse_cursor(cursor: &str) -> Result<(i64, i64), CacheError> {
    let bad = || CacheError::BadCursor(cursor.to_owned());
    let (value, id) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((
        value.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// `text` as one FTS5 phrase: quotes doubled, so nothing typed is FTS syntax.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// `text` as a LIKE pattern matching it anywhere, with `\` escaping the wildcards.
fn like_anywhere(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl RecordingCache {
    /// One page of recordings matching `query`.
    pub async fn search(&self, query: &SearchQuery) -> Result<Page, CacheError> {
        let limit = match query.limit {
            0 => 100,
            n => n.min(500),
        } as i64;
        let sort_col = query.sort.column();
        let (cmp, dir) = if query.sort.descending() {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let columns = columns()
            .split(',')
            .map(|c| format!("recordings.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");

        let text_match = classify(&query.text);
        // Text in time order walks the trigram index in its rowid order (the time key), so the
        // scan stops at a full page instead of reading and sorting every match.
        let by_time_key = matches!(text_match, TextMatch::Substring(_))
            && matches!(query.sort, Sort::NewestFirst | Sort::OldestFirst);
        let mut sql: QueryBuilder<Sqlite> = if by_time_key {
            QueryBuilder::new(format!(
                "SELECT {columns}, recordings.id AS id, recordings.time_key AS sort_value \
                 FROM recordings_fts CROSS JOIN recordings \
                 ON recordings.time_key = recordings_fts.rowid WHERE 1 = 1"
            ))
        } else {
            QueryBuilder::new(format!(
                "SELECT {columns}, recordings.id AS id, recordings.{sort_col} AS sort_value \
                 FROM recordings WHERE 1 = 1"
            ))
        };
        match text_match {
            TextMatch::None => {}
            TextMatch::KeyPrefix(prefix) => {
                sql.push(" AND recordings.prefix_key >= ")
                    .push_bind(prefix.to_owned())
                    .push(" AND recordings.prefix_key < ")
                    .push_bind(format!("{prefix}\u{10FFFF}"));
            }
            TextMatch::Substring(text) if by_time_key => {
                sql.push(" AND recordings_fts MATCH ")
                    .push_bind(fts_phrase(text));
                // The date range as a key range, so the index skips what lies outside it.
                if let Some(from) = query.from_ms {
                    sql.push(" AND recordings_fts.rowid >= ")
                        .push_bind(first_time_key(from));
                }
                if let Some(to) = query.to_ms {
                    sql.push(" AND recordings_fts.rowid < ")
                        .push_bind(first_time_key(to.saturating_add(1)));
                }
            }
            TextMatch::Substring(text) => {
                sql.push(
                    " AND recordings.time_key IN \
                     (SELECT rowid FROM recordings_fts WHERE recordings_fts MATCH ",
                )
                .push_bind(fts_phrase(text))
                .push(")");
            }
            TextMatch::Short(text) => {
                // A range on the start index (not an id list): the scan walks newest first and
                // stops at a full page or at the bound, whichever comes first.
                sql.push(
                    " AND start_ms >= COALESCE((SELECT start_ms FROM recordings \
                     ORDER BY start_ms DESC LIMIT 1 OFFSET ",
                )
                .push_bind(SHORT_QUERY_SCAN_ROWS - 1)
                .push("), 0)");
                // LIKE folds ASCII case only; without ASCII letters the plain substring search
                // `instr` gives the same answer several times faster.
                let case_folds = text.bytes().any(|b| b.is_ascii_alphabetic());
                let pattern = like_anywhere(text);
                sql.push(" AND (");
                for (i, col) in SEARCHED_COLUMNS.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    if case_folds {
                        sql.push(format!("{col} LIKE "))
                            .push_bind(pattern.clone())
                            .push(" ESCAPE '\\'");
                    } else {
                        sql.push(format!("instr({col}, "))
                            .push_bind(text.to_owned())
                            .push(") > 0");
                    }
                }
                sql.push(")");
            }
        }
        if !query.include_deleted {
            sql.push(" AND recordings.deleted = 0");
        }
        for (col, value) in [
            ("format", &query.format),
            ("room_id", &query.room_id),
            ("callback_state", &query.callback_state),
        ] {
            if let Some(value) = value {
                sql.push(format!(" AND recordings.{col} = "))
                    .push_bind(value.clone());
            }
        }
        if let Some(from) = query.from_ms {
            sql.push(" AND recordings.start_ms >= ").push_bind(from);
        }
        if let Some(to) = query.to_ms {
            sql.push(" AND recordings.start_ms <= ").push_bind(to);
        }
        if let Some(after) = &query.after {
            let (value, id) = parse_cursor(after)?;
            if by_time_key {
                // The time key is unique: it alone marks the position.
                sql.push(format!(" AND recordings_fts.rowid {cmp} "))
                    .push_bind(value);
            } else {
                sql.push(format!(
                    " AND (recordings.{sort_col}, recordings.id) {cmp} ("
                ))
                .push_bind(value)
                .push(", ")
                .push_bind(id)
                .push(")");
            }
        }
        if by_time_key {
            sql.push(format!(" ORDER BY recordings_fts.rowid {dir} LIMIT "));
        } else {
            sql.push(format!(
                " ORDER BY recordings.{sort_col} {dir}, recordings.id {dir} LIMIT "
            ));
        }
        sql.push_bind(limit + 1);

        let rows: Vec<PagedRow> = sql.build_query_as().fetch_all(self.pool()).await?;
        let has_more = rows.len() as i64 > limit;
        let rows: Vec<PagedRow> = rows.into_iter().take(limit as usize).collect();
        let next = has_more
            .then(|| rows.last().map(|r| format!("{}:{}", r.sort_value, r.id)))
            .flatten();
        let partial =
            matches!(text_match, TextMatch::Short(_)) && self.more_rows_than_scanned().await?;
        Ok(Page {
            rows: rows.into_iter().map(|r| r.recording).collect(),
            next,
            partial,
        })
    }
}

impl RecordingCache {
    async fn more_rows_than_scanned(&self) -> Result<bool, CacheError> {
        let more = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM recordings ORDER BY start_ms DESC LIMIT 1 OFFSET ?1)",
        )
        .bind(SHORT_QUERY_SCAN_ROWS)
        .fetch_one(self.pool())
        .await?;
        Ok(more)
    }
}

#[derive(sqlx::FromRow)]
struct PagedRow {
    #[sqlx(flatten)]
    recording: CachedRecording,
    id: i64,
    sort_value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_classified_by_shape_and_length() {
        assert_eq!(classify(""), TextMatch::None);
        assert_eq!(
            classify(" 8888_81265058 "),
            TextMatch::KeyPrefix("8888_81265058")
        );
        assert_eq!(classify("8888_abc_r1"), TextMatch::KeyPrefix("8888_abc_r1"));
        assert_eq!(classify("第三讲"), TextMatch::Substring("第三讲"));
        assert_eq!(classify("room_1 x"), TextMatch::Substring("room_1 x"));
        assert_eq!(classify("物理"), TextMatch::Short("物理"));
    }

    #[test]
    fn fts_phrase_neutralizes_syntax() {
        assert_eq!(fts_phrase(r#"a "b" OR c*"#), r#""a ""b"" OR c*""#);
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_anywhere("5%_a\\"), "%5\\%\\_a\\\\%");
    }

    #[test]
    fn cursor_round_trip_and_garbage() {
        assert_eq!(
            parse_cursor("1700000000000:42").unwrap(),
            (1700000000000, 42)
        );
        assert!(matches!(parse_cursor("x:1"), Err(CacheError::BadCursor(_))));
        assert!(matches!(parse_cursor("12"), Err(CacheError::BadCursor(_))));
    }
}
