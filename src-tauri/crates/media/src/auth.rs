//! Push authentication: `txSecret = md5(key + stream_code + txTime)` with `txTime` the expiry
//! as hex unix seconds (SPEC §4). A pure function so every refusal is unit-tested.

use md5::{Digest, Md5};

/// Why a publisher was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRefusal {
    /// No `txSecret` or no `txTime` on the push URL.
    #[error("missing txSecret or txTime")]
    Missing,
    /// `txTime` is not hex.
    #[error("txTime {0:?} is not hex unix seconds")]
    BadTime(String),
    /// `txTime` lies in the past.
    #[error("push URL expired at {expired_at} (now {now})")]
    Expired {
        /// Expiry from the URL, unix seconds.
        expired_at: u64,
        /// Current time, unix seconds.
        now: u64,
    },
    /// The secret does not match.
    #[error("txSecret does not match")]
    WrongSecret,
}

/// The secret a push URL must carry for `stream_code` expiring at `tx_time` (unix seconds).
pub fn push_secret(key: &str, stream_code: &str, tx_time: u64) -> String {
    let time_hex = format!("{tx_time:X}");
    let mut md5 = Md5::new();
    md5.update(key.as_bytes());
    md5.update(stream_code.as_bytes());
    md5.update(time_hex.as_bytes());
    hex::encode(md5.finalize())
}

/// Checks `txSecret`/`txTime` against `key` at time `now` (unix seconds).
pub fn check_push(
    key: &str,
    stream_code: &str,
    tx_secret: Option<&str>,
    tx_time: Option<&str>,
    now: u64,
) -> Result<(), AuthRefusal> {
    let (Some(secret), Some(time_hex)) = (tx_secret, tx_time) else {
        return Err(AuthRefusal::Missing);
    };
    let expires = u64::from_str_radix(time_hex, 16)
        .map_err(|_| AuthRefusal::BadTime(time_hex.to_string()))?;
    if expires < now {
        return Err(AuthRefusal::Expired {
            expired_at: expires,
            now,
        });
    }
    // The hex case of txTime is part of the signed string, so hash it exactly as sent.
    let mut md5 = Md5::new();
    md5.update(key.as_bytes());
    md5.update(stream_code.as_bytes());
    md5.update(time_hex.as_bytes());
    let expected = hex::encode(md5.finalize());
    if expected.eq_ignore_ascii_case(secret) {
        Ok(())
    } else {
        Err(AuthRefusal::WrongSecret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn valid_secret_is_accepted() {
        let secret = push_secret("k", "s1", NOW + 60);
        let time = format!("{:X}", NOW + 60);
        assert_eq!(
            check_push("k", "s1", Some(&secret), Some(&time), NOW),
            Ok(())
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let time = format!("{:X}", NOW + 60);
        let secret = push_secret("other", "s1", NOW + 60);
        assert_eq!(
            check_push("k", "s1", Some(&secret), Some(&time), NOW),
            Err(AuthRefusal::WrongSecret)
        );
    }

    #[test]
    fn secret_for_another_stream_is_refused() {
        let time = format!("{:X}", NOW + 60);
        let secret = push_secret("k", "s2", NOW + 60);
        assert_eq!(
            check_push("k", "s1", Some(&secret), Some(&time), NOW),
            Err(AuthRefusal::WrongSecret)
        );
    }

    #[test]
    fn expired_secret_is_refused() {
        let time = format!("{:X}", NOW - 1);
        let secret = push_secret("k", "s1", NOW - 1);
        assert!(matches!(
            check_push("k", "s1", Some(&secret), Some(&time), NOW),
            Err(AuthRefusal::Expired { .. })
        ));
    }

    #[test]
    fn missing_secret_is_refused() {
        assert_eq!(
            check_push("k", "s1", None, Some("FF"), NOW),
            Err(AuthRefusal::Missing)
        );
        assert_eq!(
            check_push("k", "s1", Some("ab"), None, NOW),
            Err(AuthRefusal::Missing)
        );
    }

    #[test]
    fn non_hex_time_is_refused() {
        assert!(matches!(
            check_push("k", "s1", Some("ab"), Some("zz"), NOW),
            Err(AuthRefusal::BadTime(_))
        ));
    }
}
