//! Where recorded files live: below the data dir. Paths come from the index, never from a
//! request, and are checked to stay below the data dir all the same.

use std::path::{Component, Path, PathBuf};

/// The absolute path of a file recorded at `rel_path`, if it stays below `data_dir`.
pub fn path_of(data_dir: &Path, rel_path: &str) -> Option<PathBuf> {
    let rel = Path::new(rel_path);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| data_dir.join(rel))
}

/// Removes a recorded file; for HLS, the playlist and every chunk it lists. Files already
/// gone are not an error.
pub fn remove(data_dir: &Path, rel_path: &str) -> std::io::Result<()> {
    let Some(path) = path_of(data_dir, rel_path) else {
        return Err(std::io::Error::other(format!(
            "{rel_path:?} leaves the data dir"
        )));
    };
    if path.extension().is_some_and(|e| e == "m3u8") {
        let playlist = match std::fs::read_to_string(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let dir = path.parent().unwrap_or(data_dir);
        for chunk in chunk_names(&playlist) {
            remove_if_present(&dir.join(chunk))?;
        }
    }
    remove_if_present(&path)?;
    remove_if_present(&tally_media::manifest::path_of(&path))
}

/// The formats a segment may be recorded in side by side, sharing its poster `<stem>.jpg`.
pub const SEGMENT_FORMATS: [&str; 3] = ["mp4", "flv", "m3u8"];

/// Removes a segment's poster unless another format of the segment is still on disk.
pub fn remove_poster_if_unshared(data_dir: &Path, poster: &str) -> std::io::Result<()> {
    let Some(path) = path_of(data_dir, poster) else {
        return Ok(());
    };
    let shared = SEGMENT_FORMATS
        .iter()
        .any(|ext| tally_media::manifest::path_of(&path.with_extension(ext)).exists());
    if shared {
        Ok(())
    } else {
        remove_if_present(&path)
    }
}

/// The chunks an HLS playlist lists. Tally's chunks sit beside their playlist: a bare name
/// (no path, no query); any other line is not a chunk of ours.
pub fn chunk_names(playlist: &str) -> impl Iterator<Item = &str> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|uri| !uri.is_empty() && !uri.starts_with('#') && !uri.contains(['/', '\\', '?']))
}

/// The paths of the chunks a playlist at `playlist_path` lists, beside it.
pub fn chunk_paths(playlist_path: &str, playlist: &str) -> Vec<String> {
    let dir = playlist_path.rsplit_once('/').map_or("", |(d, _)| d);
    chunk_names(playlist)
        .map(|c| format!("{dir}/{c}"))
        .collect()
}

/// Removes a recording's files ([`remove`]) and `poster`, which the caller found no other
/// recording in the index shows, unless another format of the segment is still on disk.
pub fn remove_recording(
    data_dir: &Path,
    rel_path: &str,
    poster: Option<&str>,
) -> std::io::Result<()> {
    remove(data_dir, rel_path)?;
    match poster {
        Some(poster) => remove_poster_if_unshared(data_dir, poster),
        None => Ok(()),
    }
}

/// [`remove_recording`] on a blocking thread.
pub async fn remove_recording_off_thread(
    data_dir: &Path,
    rel_path: &str,
    poster: Option<String>,
) -> std::io::Result<()> {
    let (data_dir, rel_path) = (data_dir.to_owned(), rel_path.to_owned());
    tokio::task::spawn_blocking(move || remove_recording(&data_dir, &rel_path, poster.as_deref()))
        .await
        .map_err(std::io::Error::other)?
}

/// The manifest of the file at `rel_path` (`<file>.meta.json`), relative like it.
pub fn manifest_of(rel_path: &str) -> String {
    format!("{rel_path}{}", tally_media::manifest::SUFFIX)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_data_dir_are_refused() {
        let data = Path::new("/data");
        assert_eq!(
            path_of(data, "vod/live/a/1.mp4"),
            Some(PathBuf::from("/data/vod/live/a/1.mp4"))
        );
        assert_eq!(path_of(data, "../etc/passwd"), None);
        assert_eq!(path_of(data, "/etc/passwd"), None);
        assert_eq!(path_of(data, "vod/../../x"), None);
    }

    #[test]
    fn removing_a_playlist_removes_its_chunks_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("vod/live/a");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(
            day.join("1.m3u8"),
            "#EXTM3U\n#EXTINF:2.0,\n1_0.ts\n#EXTINF:2.0,\n1_1.ts\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        for f in ["1_0.ts", "1_1.ts", "2_0.ts"] {
            std::fs::write(day.join(f), b"ts").unwrap();
        }
        remove(dir.path(), "vod/live/a/1.m3u8").unwrap();
        let left: Vec<_> = std::fs::read_dir(&day)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["2_0.ts"]);
        remove(dir.path(), "vod/live/a/1.m3u8").expect("already gone is fine");
    }

    #[test]
    fn a_poster_shared_with_a_format_still_on_disk_stays() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("vod/live/s/20261207");
        std::fs::create_dir_all(&day).unwrap();
        for f in [
            "a.mp4",
            "a.mp4.meta.json",
            "a.flv",
            "a.flv.meta.json",
            "a.jpg",
        ] {
            std::fs::write(day.join(f), b"x").unwrap();
        }
        let poster = Some("vod/live/s/20261207/a.jpg");
        remove_recording(dir.path(), "vod/live/s/20261207/a.mp4", poster).unwrap();
        assert!(!day.join("a.mp4").exists() && !day.join("a.mp4.meta.json").exists());
        assert!(day.join("a.jpg").exists(), "the FLV on disk still shows it");
        remove_recording(dir.path(), "vod/live/s/20261207/a.flv", poster).unwrap();
        assert_eq!(std::fs::read_dir(&day).unwrap().count(), 0);
    }
}
