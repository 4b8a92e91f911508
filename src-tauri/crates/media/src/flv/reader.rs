//! Strict FLV parsing: the file header and one tag at a time, never trusting a length.

/// Largest tag body accepted (RTMP messages are at most 2^24 - 1 bytes too).
pub const MAX_TAG_SIZE: usize = (1 << 24) - 1;

/// One FLV tag, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvTag<'a> {
    /// 8 audio, 9 video, 18 script.
    pub tag_type: u8,
    /// Timestamp in ms (24 bits plus the extension byte).
    pub timestamp: u32,
    /// The tag body.
    pub body: &'a [u8],
}

/// Why FLV bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    /// Not an FLV file.
    #[error("not an FLV header")]
    BadHeader,
    /// A tag type other than audio, video or script.
    #[error("unknown tag type {tag_type} at byte {offset}")]
    BadTagType {
        /// The type byte.
        tag_type: u8,
        /// Where the tag starts.
        offset: usize,
    },
    /// The back-pointer after a tag disagrees with its header: the lengths lie.
    #[error("tag at byte {offset} says {declared} bytes but its back-pointer says {back}")]
    LyingLength {
        /// Where the tag starts.
        offset: usize,
        /// 11 + data size from the header.
        declared: u32,
        /// The back-pointer.
        back: u32,
    },
    /// Input ended inside a tag where more bytes can never come.
    #[error("tag at byte {offset} is truncated")]
    Truncated {
        /// Where the tag starts.
        offset: usize,
    },
}

/// Parses the FLV file header and returns the offset of the first tag (after PreviousTagSize0).
pub fn parse_header(b: &[u8]) -> Result<usize, FlvError> {
    if b.len() < 13 || &b[..3] != b"FLV" || b[3] != 1 {
        return Err(FlvError::BadHeader);
    }
    let data_offset = u32::from_be_bytes([b[5], b[6], b[7], b[8]]) as usize;
    if !(9..=1024).contains(&data_offset) || b.len() < data_offset + 4 {
        return Err(FlvError::BadHeader);
    }
    Ok(data_offset + 4)
}

/// Parses the tag at the start of `b`, including its 4-byte back-pointer. `offset` is only used
/// in error messages. `Ok(None)` means `b` ends inside the tag (more bytes may follow).
pub fn parse_tag(b: &[u8], offset: usize) -> Result<Option<(FlvTag<'_>, usize)>, FlvError> {
    if b.len() < 11 {
        return Ok(None);
    }
    let tag_type = b[0] & 0x1f;
    if !matches!(tag_type, 8 | 9 | 18) {
        return Err(FlvError::BadTagType { tag_type, offset });
    }
    let size = (usize::from(b[1]) << 16) | (usize::from(b[2]) << 8) | usize::from(b[3]);
    let timestamp = (u32::from(b[7]) << 24)
        | (u32::from(b[4]) << 16)
        | (u32::from(b[5]) << 8)
        | u32::from(b[6]);
    let total = 11 + size + 4;
    if b.len() < total {
        return Ok(None);
    }
    let back = u32::from_be_bytes([b[11 + size], b[12 + size], b[13 + size], b[14 + size]]);
    if back as usize != 11 + size {
        return Err(FlvError::LyingLength {
            offset,
            declared: (11 + size) as u32,
            back,
        });
    }
    Ok(Some((
        FlvTag {
            tag_type,
            timestamp,
            body: &b[11..11 + size],
        },
        total,
    )))
}

/// Parses a whole buffer of back-to-back tags (an RTMP aggregate message); a tag cut short is
/// an error here because nothing more will come.
pub fn parse_all_tags(b: &[u8]) -> Result<Vec<FlvTag<'_>>, FlvError> {
    let mut tags = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        match parse_tag(&b[pos..], pos)? {
            Some((tag, n)) => {
                tags.push(tag);
                pos += n;
            }
            None => return Err(FlvError::Truncated { offset: pos }),
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(tag_type: u8, ts: u32, body: &[u8], back: u32) -> Vec<u8> {
        let mut v = vec![tag_type];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend_from_slice(&ts.to_be_bytes()[1..]);
        v.push((ts >> 24) as u8);
        v.extend_from_slice(&[0, 0, 0]);
        v.extend_from_slice(body);
        v.extend_from_slice(&back.to_be_bytes());
        v
    }

    #[test]
    fn tag_with_extended_timestamp_is_read() {
        let b = tag(9, 0x0123_4567, &[1, 2, 3], 14);
        let (t, n) = parse_tag(&b, 0).unwrap().unwrap();
        assert_eq!(
            (t.tag_type, t.timestamp, t.body, n),
            (9, 0x0123_4567, &[1u8, 2, 3][..], 18)
        );
    }

    #[test]
    fn lying_length_is_rejected() {
        let b = tag(8, 0, &[1, 2, 3], 99);
        assert!(matches!(
            parse_tag(&b, 0),
            Err(FlvError::LyingLength { .. })
        ));
        let mut b = tag(8, 0, &[1, 2, 3], 14);
        b[3] = 200; // header claims 200 bytes; the buffer ends first
        assert_eq!(parse_tag(&b, 0), Ok(None));
        assert!(matches!(
            parse_all_tags(&b),
            Err(FlvError::Truncated { .. })
        ));
    }

    #[test]
    fn unknown_tag_type_is_rejected() {
        let b = tag(3, 0, &[], 11);
        assert!(matches!(parse_tag(&b, 0), Err(FlvError::BadTagType { .. })));
    }

    #[test]
    fn header_is_checked() {
        let mut h = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
        assert_eq!(parse_header(&h), Ok(13));
        h[0] = b'X';
        assert_eq!(parse_header(&h), Err(FlvError::BadHeader));
    }
}
