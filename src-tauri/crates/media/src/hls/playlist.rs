//! m3u8 rendering (via `m3u8-rs`) and reading back for recovery.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use m3u8_rs::{MediaPlaylist, MediaPlaylistType, MediaSegment};

/// One TS chunk of a playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// File name, relative to the playlist.
    pub uri: String,
    /// Exact duration, ms.
    pub duration_ms: u64,
    /// Wall-clock time of its first frame, unix ms.
    pub start_wall_ms: i64,
    /// Size in bytes.
    pub size: u64,
}

fn wall(ms: i64) -> Option<DateTime<FixedOffset>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.fixed_offset())
}

/// Renders a playlist; `finished` adds `#EXT-X-ENDLIST` and marks it VOD.
pub fn render(chunks: &[Chunk], finished: bool) -> Vec<u8> {
    let max = chunks.iter().map(|c| c.duration_ms).max().unwrap_or(10_000);
    let pl = MediaPlaylist {
        version: Some(3),
        target_duration: max.div_ceil(1000).max(1),
        media_sequence: 0,
        segments: chunks
            .iter()
            .map(|c| MediaSegment {
                uri: c.uri.clone(),
                duration: c.duration_ms as f32 / 1000.0,
                program_date_time: wall(c.start_wall_ms),
                ..MediaSegment::empty()
            })
            .collect(),
        end_list: finished,
        playlist_type: Some(if finished {
            MediaPlaylistType::Vod
        } else {
            MediaPlaylistType::Event
        }),
        ..Default::default()
    };
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = pl.write_to(&mut out);
    out
}

/// Reads back the chunks of a playlist written by [`render`] (for recovery).
pub fn parse(bytes: &[u8]) -> Option<(Vec<Chunk>, bool)> {
    let pl = m3u8_rs::parse_media_playlist_res(bytes).ok()?;
    let chunks = pl
        .segments
        .iter()
        .map(|s| Chunk {
            uri: s.uri.clone(),
            duration_ms: (f64::from(s.duration) * 1000.0).round() as u64,
            start_wall_ms: s
                .program_date_time
                .map(|t| t.timestamp_millis())
                .unwrap_or(0),
            size: 0,
        })
        .collect();
    Some((chunks, pl.end_list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks() -> Vec<Chunk> {
        vec![
            Chunk {
                uri: "a_0.ts".into(),
                duration_ms: 10_010,
                start_wall_ms: 1_800_000_000_000,
                size: 1,
            },
            Chunk {
                uri: "a_1.ts".into(),
                duration_ms: 4_500,
                start_wall_ms: 1_800_000_010_010,
                size: 1,
            },
        ]
    }

    #[test]
    fn finished_playlist_ends_with_endlist() {
        let text = String::from_utf8(render(&chunks(), true)).unwrap();
        assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
        assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME"));
        assert!(text.contains("#EXT-X-TARGETDURATION:11"));
    }

    #[test]
    fn open_playlist_has_no_endlist() {
        let text = String::from_utf8(render(&chunks(), false)).unwrap();
        assert!(!text.contains("#EXT-X-ENDLIST"));
    }

    #[test]
    fn playlist_reads_back() {
        let (back, ended) = parse(&render(&chunks(), true)).unwrap();
        assert!(ended);
        assert_eq!(
            back.iter()
                .map(|c| (c.uri.as_str(), c.duration_ms, c.start_wall_ms))
                .collect::<Vec<_>>(),
            vec![
                ("a_0.ts", 10_010, 1_800_000_000_000),
                ("a_1.ts", 4_500, 1_800_000_010_010)
            ]
        );
    }
}
