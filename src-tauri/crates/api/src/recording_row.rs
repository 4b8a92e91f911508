//! A [`Recording`] as a database row, its fields named once for the server's index (SQLite or
//! PostgreSQL) and the console's cache (SQLite): the column lists, the binds and the row mapping
//! all come from the one list below, so the stores cannot drift apart.

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, FromRow, Row, Type};

use crate::recordings::Recording;

/// How a field is stored: `text`, `opt_text`, `int`, `opt_int`, `flag` (0/1, so that both
/// databases read it alike), `list` (a JSON array of strings) or `named` (an enum's name).
macro_rules! encode {
    (text, $v:expr) => {
        $v.as_str()
    };
    (opt_text, $v:expr) => {
        $v.as_deref()
    };
    (int, $v:expr) => {
        $v
    };
    (opt_int, $v:expr) => {
        $v
    };
    (flag, $v:expr) => {
        i64::from($v)
    };
    (list, $v:expr) => {
        serde_json::to_string(&$v).expect("a list of strings is JSON")
    };
    (named, $v:expr) => {
        $v.as_str()
    };
}

macro_rules! decode {
    (text, $row:expr, $col:expr) => {
        $row.try_get::<String, _>($col)?
    };
    (opt_text, $row:expr, $col:expr) => {
        $row.try_get::<Option<String>, _>($col)?
    };
    (int, $row:expr, $col:expr) => {
        $row.try_get::<i64, _>($col)?
    };
    (opt_int, $row:expr, $col:expr) => {
        $row.try_get::<Option<i64>, _>($col)?
    };
    (flag, $row:expr, $col:expr) => {
        $row.try_get::<i64, _>($col)? != 0
    };
    (list, $row:expr, $col:expr) => {
        serde_json::from_str(&$row.try_get::<String, _>($col)?)
            .map_err(|e| column_error($col, e))?
    };
    (named, $row:expr, $col:expr) => {
        $row.try_get::<String, _>($col)?
            .parse()
            .map_err(|e: String| column_error($col, e))?
    };
}

/// Which of a recording's columns a statement binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Columns {
    /// Those both stores keep as they are (the index's insert).
    Kept,
    /// Those and the derived ones (the cache's upsert).
    KeptAndDerived,
}

macro_rules! recording_row {
    (
        kept { $k0:ident: $k0_kind:ident $(, $k:ident: $k_kind:ident)* $(,)? }
        derived { $d0:ident: $d0_kind:ident $(, $d:ident: $d_kind:ident)* $(,)? }
    ) => {
        impl Recording {
            /// The columns both stores keep as they are, in bind order.
            pub const KEPT_COLUMNS: &'static str =
                concat!(stringify!($k0) $(, ", ", stringify!($k))*);
            /// How many there are.
            pub const KEPT_COUNT: usize = [stringify!($k0) $(, stringify!($k))*].len();
            /// The columns the index works out (its stamp, its links, the state of the files)
            /// and the cache keeps as it received them, in bind order, after the kept ones.
            pub const DERIVED_COLUMNS: &'static str =
                concat!(stringify!($d0) $(, ", ", stringify!($d))*);
            /// How many there are.
            pub const DERIVED_COUNT: usize = [stringify!($d0) $(, stringify!($d))*].len();

            /// Binds the values of the [`Recording::KEPT_COLUMNS`], then, with
            /// [`Columns::KeptAndDerived`], of the [`Recording::DERIVED_COLUMNS`], in order.
            pub fn bind_columns<'q, DB: Database>(
                &self,
                q: Query<'q, DB, DB::Arguments>,
                columns: Columns,
            ) -> Query<'q, DB, DB::Arguments>
            where
                for<'v> &'v str: Encode<'v, DB> + Type<DB>,
                for<'v> Option<&'v str>: Encode<'v, DB> + Type<DB>,
                for<'v> String: Encode<'v, DB> + Type<DB>,
                for<'v> i64: Encode<'v, DB> + Type<DB>,
                for<'v> Option<i64>: Encode<'v, DB> + Type<DB>,
            {
                let q = q.bind(encode!($k0_kind, self.$k0)) $(.bind(encode!($k_kind, self.$k)))*;
                match columns {
                    Columns::Kept => q,
                    Columns::KeptAndDerived => {
                        q.bind(encode!($d0_kind, self.$d0)) $(.bind(encode!($d_kind, self.$d)))*
                    }
                }
            }
        }

        /// Reads every field by its column's name: a SELECT names the kept and derived
        /// columns (the index computes the derived ones in its SELECT).
        impl<'r, R: Row> FromRow<'r, R> for Recording
        where
            for<'c> &'c str: ColumnIndex<R>,
            String: Decode<'r, R::Database> + Type<R::Database>,
            Option<String>: Decode<'r, R::Database> + Type<R::Database>,
            i64: Decode<'r, R::Database> + Type<R::Database>,
            Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
        {
            fn from_row(row: &'r R) -> Result<Recording, sqlx::Error> {
                Ok(Recording {
                    $k0: decode!($k0_kind, row, stringify!($k0)),
                    $($k: decode!($k_kind, row, stringify!($k)),)*
                    $d0: decode!($d0_kind, row, stringify!($d0)),
                    $($d: decode!($d_kind, row, stringify!($d)),)*
                })
            }
        }
    };
}

recording_row! {
    kept {
        file_id: text, video_id: text, record_file_id: text, stream_code: text,
        channel_id: text, room_id: text, user_id: text, record_id: text, file_name: text,
        tags: list, format: named, size: int, start_ms: int, end_ms: int, duration_ms: int,
        video_codec: opt_text, audio_codec: opt_text, width: opt_int, height: opt_int,
        created_ms: int, callback_state: named, recovered: flag,
    }
    derived {
        updated_ms: int, url: text, thumbnail_url: opt_text, deleted: flag, missing: flag,
    }
}

fn column_error(
    column: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: source.into(),
    }
}

/// `$first, $first+1, …`: `count` numbered parameters (both databases take `$N`).
pub fn numbered_params(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_lists_name_each_field_once() {
        let kept: Vec<&str> = Recording::KEPT_COLUMNS.split(", ").collect();
        let derived: Vec<&str> = Recording::DERIVED_COLUMNS.split(", ").collect();
        assert_eq!(kept.len(), Recording::KEPT_COUNT);
        assert_eq!(derived.len(), Recording::DERIVED_COUNT);
        let mut all: Vec<&str> = kept.iter().chain(&derived).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), Recording::KEPT_COUNT + Recording::DERIVED_COUNT);
        // Every field of the wire type is a column (the JSON object's keys).
        let sample = serde_json::json!({
            "file_id": "1", "video_id": "", "record_file_id": "", "stream_code": "s",
            "channel_id": "", "room_id": "", "user_id": "", "record_id": "", "file_name": "",
            "tags": [], "format": "mp4", "url": "", "thumbnail_url": null, "size": 0,
            "start_ms": 0, "end_ms": 0, "duration_ms": 0, "video_codec": null,
            "audio_codec": null, "width": null, "height": null, "created_ms": 0,
            "updated_ms": 0, "callback_state": "pending", "recovered": false,
            "deleted": false, "missing": false,
        });
        let recording: Recording = serde_json::from_value(sample).unwrap();
        let keys = serde_json::to_value(recording).unwrap();
        let mut keys: Vec<&str> = keys
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, all);
        assert_eq!(numbered_params(3, 3), "$3, $4, $5");
    }
}
