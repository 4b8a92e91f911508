//! The push URL's stream name: `<stream_code>?record=flv,hls,mp4&record_interval=<s>&recordId=<id>
//! &txSecret=..&txTime=..`. RTMP clients send the query as part of the stream name, raw.

use std::time::Duration;

use crate::config::{Formats, MAX_INTERVAL, MIN_INTERVAL};

/// What a push URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushParams {
    /// The stream code (before `?`).
    pub stream_code: String,
    /// The raw query string (without `?`), carried into callbacks as `stream_param`.
    pub raw_query: String,
    /// `record=`; `None` when absent (use the configured default).
    pub formats: Option<Formats>,
    /// `record_interval=` clamped to 10..7200 s; `None` when absent or not a number.
    pub interval: Option<Duration>,
    /// `recordId=` (becomes `cliRecoid`).
    pub record_id: Option<String>,
    /// `txSecret=`.
    pub tx_secret: Option<String>,
    /// `txTime=`.
    pub tx_time: Option<String>,
}

/// A push URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The stream code is empty or has characters unsafe in a path.
    #[error("stream code {0:?} is empty or contains characters outside [A-Za-z0-9_-.]")]
    BadStreamCode(String),
    /// `record=` names an unknown format.
    #[error("{0}")]
    BadFormats(String),
}

impl PushParams {
    /// Parses the stream name as published.
    pub fn parse(stream_name: &str) -> Result<PushParams, ParamError> {
        let (code, query) = stream_name.split_once('?').unwrap_or((stream_name, ""));
        if !is_safe_name(code) {
            return Err(ParamError::BadStreamCode(code.to_string()));
        }
        let mut p = PushParams {
            stream_code: code.to_string(),
            raw_query: query.to_string(),
            formats: None,
            interval: None,
            record_id: None,
            tx_secret: None,
            tx_time: None,
        };
        for pair in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "record" => p.formats = Some(Formats::parse(&v).map_err(ParamError::BadFormats)?),
                "record_interval" => {
                    p.interval = v
                        .parse::<u64>()
                        .ok()
                        .map(|s| Duration::from_secs(s).clamp(MIN_INTERVAL, MAX_INTERVAL))
                }
                "recordId" => p.record_id = Some(v).filter(|v| !v.is_empty()),
                "txSecret" => p.tx_secret = Some(v),
                "txTime" => p.tx_time = Some(v),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// True for names that are safe as one path component (also used for the app name).
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// Decodes `%XX` escapes and `+`; invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_params_come_from_the_stream_name() {
        let p = PushParams::parse("s1?record=flv,hls,mp4&record_interval=10&recordId=r7").unwrap();
        assert_eq!(p.stream_code, "s1");
        assert_eq!(p.formats, Some(Formats::ALL));
        assert_eq!(p.interval, Some(Duration::from_secs(10)));
        assert_eq!(p.record_id.as_deref(), Some("r7"));
        assert_eq!(
            p.raw_query,
            "record=flv,hls,mp4&record_interval=10&recordId=r7"
        );
    }

    #[test]
    fn interval_is_clamped_to_the_allowed_range() {
        assert_eq!(
            PushParams::parse("s?record_interval=1").unwrap().interval,
            Some(MIN_INTERVAL)
        );
        assert_eq!(
            PushParams::parse("s?record_interval=99999")
                .unwrap()
                .interval,
            Some(MAX_INTERVAL)
        );
    }

    #[test]
    fn escaped_commas_are_decoded() {
        assert_eq!(
            PushParams::parse("s?record=flv%2Cmp4").unwrap().formats,
            Some(Formats {
                flv: true,
                hls: false,
                mp4: true
            })
        );
    }

    #[test]
    fn absent_params_leave_defaults_to_config() {
        let p = PushParams::parse("s").unwrap();
        assert_eq!((p.formats, p.interval, p.record_id), (None, None, None));
    }

    #[test]
    fn path_traversal_in_stream_code_is_refused() {
        assert!(PushParams::parse("../etc").is_err());
        assert!(PushParams::parse("a/b").is_err());
        assert!(PushParams::parse("").is_err());
    }
}
