//! Callback bodies in the seed's format, and their signature.

use serde_json::{json, Value};
use tally_api::recordings::Recording;

use crate::ids::md5_hex;

/// `sign = md5(callback_key + t)`.
pub fn sign(callback_key: &str, t: i64) -> String {
    md5_hex(&format!("{callback_key}{t}"))
}

/// Adds `t` (now, unix s) and its `sign` to a stored body, at each delivery attempt, so a
/// receiver that rejects old `t` accepts retries too.
pub fn signed(mut body: Value, callback_key: &str, now_ms: i64) -> Value {
    let t = now_ms / 1000;
    body["t"] = json!(t);
    body["sign"] = json!(sign(callback_key, t));
    body
}

/// The `event_type` 100 body of a finished file: the seed's fields plus exact milliseconds and
/// the room, user and file name.
pub fn file_closed(appid: u64, r: &Recording, stream_param: &str) -> Value {
    json!({
        "appid": appid,
        "channel_id": r.channel_id,
        "duration": (r.duration_ms + 500) / 1000,
        "end_time": r.end_ms / 1000,
        "event_type": 100,
        "file_format": r.format,
        "file_id": r.file_id,
        "file_size": r.size,
        "record_file_id": r.record_file_id,
        "start_time": r.start_ms / 1000,
        "stream_id": r.stream_code,
        "stream_param": stream_param,
        "video_id": r.video_id,
        "video_url": r.url,
        "thumbnail_url": r.thumbnail_url,
        "start_time_ms": r.start_ms,
        "end_time_ms": r.end_ms,
        "duration_ms": r.duration_ms,
        "room_id": r.room_id,
        "user_id": r.user_id,
        "file_name": r.file_name,
    })
}

/// Points a file callback's `video_url` and `thumbnail_url` at `links`: where the file is now
/// (the bucket, once uploaded).
pub fn set_links(body: &mut Value, (video_url, thumbnail_url): (String, Option<String>)) {
    body["video_url"] = video_url.into();
    body["thumbnail_url"] = thumbnail_url.into();
}

/// The `event_type` 1 (started) or 0 (ended) body of a stream.
pub fn stream_event(
    appid: u64,
    event_type: i64,
    stream_code: &str,
    stream_param: &str,
    at_ms: i64,
) -> Value {
    json!({
        "appid": appid,
        "channel_id": stream_code,
        "event_type": event_type,
        "event_time": at_ms / 1000,
        "stream_id": stream_code,
        "stream_param": stream_param,
    })
}

/// The push URL's query as the seed reports it: with `cliRecoid=<recordId>` when one was given.
pub fn stream_param_with_record_id(raw: &str, record_id: Option<&str>) -> String {
    match record_id {
        Some(id) if !raw.split('&').any(|kv| kv.starts_with("cliRecoid=")) => {
            if raw.is_empty() {
                format!("cliRecoid={id}")
            } else {
                format!("{raw}&cliRecoid={id}")
            }
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_md5_of_key_then_t() {
        assert_eq!(sign("key", 1496221502), md5_hex("key1496221502"));
        let body = signed(json!({"event_type": 100}), "key", 1_496_221_502_999);
        assert_eq!(body["t"], 1496221502);
        assert_eq!(body["sign"], md5_hex("key1496221502"));
    }

    #[test]
    fn record_id_becomes_cli_recoid() {
        assert_eq!(
            stream_param_with_record_id("record=flv&recordId=r1", Some("r1")),
            "record=flv&recordId=r1&cliRecoid=r1"
        );
        assert_eq!(stream_param_with_record_id("", Some("r1")), "cliRecoid=r1");
        assert_eq!(stream_param_with_record_id("a=b", None), "a=b");
    }
}
