//! The SRT `streamid`: which stream a publisher pushes, with the same `?record=`, `txSecret`
//! and `txTime` as an RTMP push URL. Two forms are accepted:
//!
//! - `live/<code>?record=mp4&txSecret=...&txTime=...` (what most encoders let one type), and
//! - the SRT access-control form `#!::r=live/<code>?...,m=publish` (SRS, OBS presets), parsed
//!   by `srt-protocol`'s access-control list.
//!
//! The app is `live` when the resource names none. A resource without a literal `?` is
//! percent-decoded first: a stream id has to be percent-encoded inside an `srt://` URL, and
//! libsrt callers before ffmpeg 6.1 pass it on without decoding it.

use srt_tokio::access::{AccessControlList, ConnectionMode, StandardAccessControlEntry};

use crate::params::{is_safe_name, percent_decode};

/// The app and the stream key (`<code>?params`) a stream id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamName {
    /// The RTMP-style application (`live`).
    pub app: String,
    /// The stream code and its parameters, as RTMP's publish name carries them.
    pub key: String,
}

impl StreamName {
    /// Parses a stream id; the error says why it is refused.
    pub fn parse(stream_id: &str) -> Result<StreamName, String> {
        let resource = if stream_id.starts_with("#!::") {
            let acl: AccessControlList = stream_id
                .parse()
                .map_err(|e| format!("malformed access-control stream id: {e}"))?;
            let mut resource = None;
            for entry in acl.0 {
                match StandardAccessControlEntry::try_from(entry) {
                    Ok(StandardAccessControlEntry::ResourceName(r)) => resource = Some(r),
                    Ok(StandardAccessControlEntry::Mode(ConnectionMode::Publish)) | Err(_) => {}
                    Ok(StandardAccessControlEntry::Mode(_)) => {
                        return Err("only publishing (m=publish) is served here".into())
                    }
                    Ok(_) => {}
                }
            }
            resource.ok_or("the stream id names no resource (r=)")?
        } else {
            stream_id.to_owned()
        };
        let resource = if resource.contains('?') {
            resource
        } else {
            percent_decode(&resource)
        };
        let resource = resource.trim_start_matches('/');
        if resource.is_empty() {
            return Err("the stream id is empty: set streamid=live/<stream code>".into());
        }
        let (path, query) = match resource.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (resource, None),
        };
        let (app, code) = path.rsplit_once('/').unwrap_or(("live", path));
        if !is_safe_name(app) {
            return Err(format!("app name {app:?} is not allowed"));
        }
        let key = match query {
            Some(q) => format!("{code}?{q}"),
            None => code.to_owned(),
        };
        Ok(StreamName {
            app: app.to_owned(),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> (String, String) {
        let n = StreamName::parse(s).unwrap();
        (n.app, n.key)
    }

    #[test]
    fn the_plain_form_is_an_rtmp_path() {
        assert_eq!(
            parsed("live/8888_ab?record=mp4&txSecret=x&txTime=5F"),
            (
                "live".into(),
                "8888_ab?record=mp4&txSecret=x&txTime=5F".into()
            )
        );
        assert_eq!(parsed("8888_ab"), ("live".into(), "8888_ab".into()));
        // As an encoder that does not decode the srt:// URL's query passes it on.
        assert_eq!(
            parsed("live/8888_ab%3Frecord%3Dflv%2Cmp4%26txSecret%3Dx"),
            ("live".into(), "8888_ab?record=flv,mp4&txSecret=x".into())
        );
    }

    #[test]
    fn the_access_control_form_gives_its_resource() {
        assert_eq!(
            parsed("#!::r=live/8888_ab?record=flv,m=publish"),
            ("live".into(), "8888_ab?record=flv".into())
        );
        assert_eq!(
            parsed("#!::u=anchor,r=8888_ab"),
            ("live".into(), "8888_ab".into())
        );
        // Commas inside the resource are written %2C, as the list is comma-separated.
        assert_eq!(
            parsed("#!::r=live/8888_ab?record=flv%2Cmp4,m=publish"),
            ("live".into(), "8888_ab?record=flv%2Cmp4".into())
        );
    }

    #[test]
    fn playing_empty_and_unsafe_names_are_refused() {
        assert!(StreamName::parse("#!::r=live/8888_ab,m=request").is_err());
        assert!(StreamName::parse("").is_err());
        assert!(StreamName::parse("#!::u=x").is_err());
        assert!(StreamName::parse("../etc/8888_ab").is_err());
    }
}
