//! Identifiers of recorded files (numeric ids come from `tally_media::ids`).

use md5::{Digest, Md5};

/// Lower-case hex MD5 of `input`.
pub fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// The VOD id of a file: `<appid>_<md5 of its path>` as in the seed's callbacks.
pub fn video_id(appid: u64, rel_path: &str) -> String {
    format!("{appid}_{}", md5_hex(rel_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_a_known_digest() {
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
