//! The format writers and startup recovery, fed with the bundled clip's frames (no network).

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::{duration_s, ffprobe, first_video_frame_is_keyframe, mp4_boxes, stream_types};
use tally_media::codec::{AudioConfig, Codecs, VideoConfig};
use tally_media::events::{RecordingId, SegmentClosed};
use tally_media::flv::{parse_header, parse_tag, FlvWriter};
use tally_media::frame::{self, Frame, Kind};
use tally_media::mp4::{finalize_part, Mp4Writer};
use tally_media::recovery::{recover, ts_duration_ms};
use tally_media::replay::SAMPLE_CLIP;
use tally_media::segment::{SegmentSpec, SegmentWriter};
use tally_media::syncer::Syncer;
use tally_media::{hls::HlsWriter, Format};

/// The clip's configurations and its media frames up to `ms`, with dts = clip timestamp.
fn clip(ms: u32) -> (Codecs, Vec<Frame>) {
    let clip = Bytes::from_static(SAMPLE_CLIP);
    let mut pos = parse_header(&clip).unwrap();
    let (mut codecs, mut frames) = (Codecs::default(), Vec::new());
    while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
        pos += n;
        let Some(mut f) = frame::parse_tag(tag.tag_type, clip.slice_ref(tag.body)).unwrap() else {
            continue;
        };
        match f.kind {
            Kind::VideoConfig => codecs.video = Some(VideoConfig::from_frame(&f).unwrap()),
            Kind::AudioConfig => codecs.audio = Some(AudioConfig::from_frame(&f).unwrap()),
            _ if tag.timestamp < ms => {
                f.dts = u64::from(tag.timestamp);
                frames.push(f);
            }
            _ => {}
        }
    }
    (codecs, frames)
}

fn spec(dir: &Path, name: &str, codecs: Codecs) -> SegmentSpec {
    SegmentSpec {
        path: dir.join(name),
        codecs,
        audio_only: false,
        start_wall_ms: 1_800_000_000_000,
        max_duration_ms: 60_000,
        syncer: Syncer::inline(),
    }
}

fn write_all(w: &mut dyn SegmentWriter, frames: &[Frame]) {
    for f in frames {
        w.write(f, f.dts).unwrap();
    }
}

#[test]
fn flv_writer_patches_duration_and_filesize_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(4_000);
    let s = spec(dir.path(), "a.flv", codecs);
    let mut w = Box::new(FlvWriter::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    let size = w.finish(4_000).unwrap();
    assert_eq!(size, s.path.metadata().unwrap().len());
    assert!(!dir.path().join("a.flv.part").exists());
    let probe = ffprobe(&s.path);
    assert_eq!(
        probe["format"]["tags"]["duration"].as_str(),
        None,
        "duration lives in onMetaData, not in tags"
    );
    assert!((duration_s(&s.path) - 4.0).abs() < 0.05);
    assert!(first_video_frame_is_keyframe(&s.path));
}

#[test]
fn mp4_writer_produces_faststart_mp4_with_both_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(5_000);
    let s = spec(dir.path(), "a.mp4", codecs);
    let mut w = Box::new(Mp4Writer::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    w.finish(5_000).unwrap();
    let boxes = mp4_boxes(&s.path);
    assert!(
        boxes.iter().position(|b| b == "moov") < boxes.iter().position(|b| b == "mdat"),
        "{boxes:?}"
    );
    assert_eq!(stream_types(&s.path), vec!["video", "audio"]);
    assert!((duration_s(&s.path) - 5.0).abs() < 0.1);
}

/// Bytes this thread has passed to `write()` so far.
fn written_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .unwrap()
        .parse()
        .unwrap()
}

/// Reads every sample of `path` with the `mp4` crate (a reader independent of the muxer):
/// (video payloads, audio payloads).
fn samples_read_back(path: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let file = std::fs::File::open(path).unwrap();
    let size = file.metadata().unwrap().len();
    let mut reader = mp4::Mp4Reader::read_header(std::io::BufReader::new(file), size).unwrap();
    let mut tracks: Vec<(u32, bool, u32)> = reader
        .tracks()
        .values()
        .map(|t| {
            let video = t.track_type().unwrap() == mp4::TrackType::Video;
            (t.track_id(), video, t.sample_count())
        })
        .collect();
    tracks.sort();
    let (mut video, mut audio) = (Vec::new(), Vec::new());
    for (id, is_video, count) in tracks {
        for n in 1..=count {
            let sample = reader.read_sample(id, n).unwrap().unwrap();
            if is_video {
                video.push(sample.bytes.to_vec());
            } else {
                audio.push(sample.bytes.to_vec());
            }
        }
    }
    (video, audio)
}

/// The payloads the writer was given, per kind.
fn payloads(frames: &[Frame], kind: Kind) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.payload().to_vec())
        .collect()
}

#[test]
fn an_mp4_is_finished_in_place_faststart_with_every_sample_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(6_000);
    let s = spec(dir.path(), "once.mp4", codecs);
    let before = written_by_this_thread();
    let mut w = Box::new(Mp4Writer::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    let size = w.finish(6_000).unwrap();
    let written = written_by_this_thread() - before;
    assert_eq!(size, s.path.metadata().unwrap().len());
    assert!(
        written as f64 <= 1.02 * size as f64,
        "{written} bytes written for a {size}-byte file"
    );
    let boxes = mp4_boxes(&s.path);
    assert_eq!(boxes[..2], ["ftyp", "moov"], "{boxes:?}");
    assert!(boxes.contains(&"mdat".to_owned()), "{boxes:?}");
    assert!(!boxes.contains(&"moof".to_owned()), "{boxes:?}");
    // Every sample, byte for byte, where the moov says it is.
    let (video, audio) = samples_read_back(&s.path);
    assert_eq!(video, payloads(&frames, Kind::Video));
    assert_eq!(audio, payloads(&frames, Kind::Audio));
    assert!(first_video_frame_is_keyframe(&s.path));
    assert!((duration_s(&s.path) - 6.0).abs() < 0.1);
}

#[test]
fn a_short_recording_gives_back_the_moov_room_of_a_90_minute_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(4_000);
    let media: u64 = frames.iter().map(|f| f.payload().len() as u64).sum();
    let s = SegmentSpec {
        max_duration_ms: 90 * 60_000,
        ..spec(dir.path(), "short.mp4", codecs)
    };
    let mut w = Box::new(Mp4Writer::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    let size = w.finish(4_000).unwrap();
    let collapses = collapse_supported(dir.path());
    // The room for 90 minutes of samples is megabytes; the file keeps less than a block of it.
    let overhead = size - media;
    if collapses {
        assert!(overhead < 64 << 10, "{size} bytes for {media} of media");
    } else {
        eprintln!("this file system cannot collapse ranges: the room stays a hole");
    }
    assert_eq!(mp4_boxes(&s.path)[..2], ["ftyp", "moov"]);
    let (video, audio) = samples_read_back(&s.path);
    assert_eq!(video, payloads(&frames, Kind::Video));
    assert_eq!(audio, payloads(&frames, Kind::Audio));
    assert!(first_video_frame_is_keyframe(&s.path));
    assert!((duration_s(&s.path) - 4.0).abs() < 0.1);
}

/// Whether `dir`'s file system removes a block range from a file (ext4 and xfs do, tmpfs not).
fn collapse_supported(dir: &Path) -> bool {
    let probe = dir.join("collapse-probe");
    std::fs::write(&probe, vec![1u8; 3 << 16]).unwrap();
    let ok = std::process::Command::new("fallocate")
        .args(["--collapse-range", "--offset", "65536", "--length", "65536"])
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    std::fs::remove_file(&probe).unwrap();
    ok
}

#[test]
fn a_moov_that_outgrows_its_room_goes_after_the_samples_and_nothing_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(6_000);
    // Room for one second of samples, six seconds recorded.
    let s = SegmentSpec {
        max_duration_ms: 0,
        ..spec(dir.path(), "late.mp4", codecs)
    };
    let before = written_by_this_thread();
    let mut w = Box::new(Mp4Writer::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    let size = w.finish(6_000).unwrap();
    assert!((written_by_this_thread() - before) as f64 <= 1.02 * size as f64);
    let boxes = mp4_boxes(&s.path);
    let at = |name: &str| boxes.iter().position(|b| b == name).unwrap();
    assert!(at("mdat") < at("moov"), "{boxes:?}");
    let (video, audio) = samples_read_back(&s.path);
    assert_eq!(video, payloads(&frames, Kind::Video));
    assert_eq!(audio, payloads(&frames, Kind::Audio));
    assert!((duration_s(&s.path) - 6.0).abs() < 0.1);
}

#[test]
fn a_part_whose_head_a_crash_tore_is_finished_to_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(5_000);
    let s = spec(dir.path(), "d.mp4", codecs);
    let mut w = Mp4Writer::create(&s).unwrap();
    write_all(&mut w, &frames);
    drop(w); // killed: the fragments on disk stay, the open one is lost
    let part = dir.path().join("d.mp4.part");
    let torn = dir.path().join("e.mp4.part");
    std::fs::copy(&part, &torn).unwrap();
    // The head was being rewritten when the power went.
    let file = std::fs::OpenOptions::new().write(true).open(&torn).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xa5; 300], 0).unwrap();
    drop(file);
    finalize_part(&part, &s.path).unwrap();
    let again = dir.path().join("e.mp4");
    finalize_part(&torn, &again).unwrap();
    assert!(
        std::fs::read(&s.path).unwrap() == std::fs::read(&again).unwrap(),
        "both finish to the same bytes"
    );
    assert_eq!(mp4_boxes(&again)[..2], ["ftyp", "moov"]);
}

#[test]
fn a_plain_fragmented_part_from_an_older_version_is_still_finished() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(5_000);
    let s = spec(dir.path(), "f.mp4", codecs);
    let mut w = Mp4Writer::create(&s).unwrap();
    write_all(&mut w, &frames);
    drop(w);
    // Older versions wrote the fragmented MP4 alone: what sits inside the hybrid head's mdat.
    let hybrid = std::fs::read(dir.path().join("f.mp4.part")).unwrap();
    let size_at = |at: usize| u32::from_be_bytes(hybrid[at..at + 4].try_into().unwrap()) as usize;
    let mdat = size_at(0) + size_at(size_at(0));
    assert_eq!(&hybrid[mdat + 4..mdat + 8], b"mdat");
    let plain = dir.path().join("g.mp4.part");
    std::fs::write(&plain, &hybrid[mdat + 16..]).unwrap();
    finalize_part(&dir.path().join("f.mp4.part"), &s.path).unwrap();
    let old = dir.path().join("g.mp4");
    finalize_part(&plain, &old).unwrap();
    assert!(!plain.exists());
    assert_eq!(mp4_boxes(&old)[..2], ["ftyp", "moov"]);
    assert_eq!(samples_read_back(&old), samples_read_back(&s.path));
}

#[test]
fn closing_a_600_mb_mp4_reads_its_fragment_headers_only() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(1_000);
    let s = spec(dir.path(), "big.mp4", codecs);
    let keyframe = frames
        .iter()
        .find(|f| f.kind == Kind::Video && f.keyframe)
        .unwrap()
        .clone();
    let mut big = keyframe.body.to_vec();
    big.resize(2 << 20, 0);
    let mut w = Box::new(Mp4Writer::create(&s).unwrap());
    for i in 0..300u64 {
        let f = Frame {
            dts: i * 40,
            body: Bytes::from(big.clone()),
            payload_end: big.len(),
            ..keyframe.clone()
        };
        w.write(&f, f.dts).unwrap();
    }
    let started = std::time::Instant::now();
    let size = w.finish(12_000).unwrap();
    let took = started.elapsed();
    assert!(size > 600 << 20, "{size}");
    println!("{{\"mp4_bytes\":{size},\"close_ms\":{}}}", took.as_millis());
    assert!(
        took < std::time::Duration::from_secs(1),
        "closing took {took:?}"
    );
    assert_eq!(mp4_boxes(&s.path)[..2], ["ftyp", "moov"]);
    assert!((duration_s(&s.path) - 12.0).abs() < 0.1);
}

#[test]
fn torn_mp4_part_is_finalized_up_to_its_last_complete_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(5_000);
    let s = spec(dir.path(), "b.mp4", codecs);
    let mut w = Mp4Writer::create(&s).unwrap();
    // Fragments close every 500 ms (and at keyframes): 0-4.5 s are on disk, 4.5-5 s is not.
    write_all(&mut w, &frames);
    drop(w);
    let part = dir.path().join("b.mp4.part");
    let len = part.metadata().unwrap().len();
    // Tear the last fragment on disk in the middle, as a crash during its write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&part)
        .unwrap()
        .set_len(len - 20_000)
        .unwrap();
    let out = finalize_part(&part, &s.path).unwrap();
    assert!(
        (3_950..=4_100).contains(&out.duration_ms),
        "kept {} ms",
        out.duration_ms
    );
    assert!(!part.exists());
    assert!(first_video_frame_is_keyframe(&s.path));
    assert!((duration_s(&s.path) - 4.0).abs() < 0.1);
}

#[test]
fn mp4_part_without_a_complete_fragment_is_an_error_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("c.mp4.part");
    std::fs::write(&part, b"\0\0\0\x18ftypisom").unwrap();
    assert!(finalize_part(&part, &dir.path().join("c.mp4")).is_err());
    assert!(part.exists(), "nothing recorded is deleted");
}

#[test]
fn hls_writer_lists_keyframe_aligned_chunks_and_ends_the_playlist() {
    let dir = tempfile::tempdir().unwrap();
    let (codecs, frames) = clip(6_000);
    let s = spec(dir.path(), "h.m3u8", codecs);
    let mut w = Box::new(HlsWriter::create(&s).unwrap());
    write_all(w.as_mut(), &frames);
    let size = w.finish(6_000).unwrap();
    let text = std::fs::read_to_string(&s.path).unwrap();
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"));
    let chunk = dir.path().join("h_00000.ts");
    assert_eq!(size, chunk.metadata().unwrap().len());
    // PTS span of the chunk plus one frame: the 6 s written, within a frame.
    let span = ts_duration_ms(&std::fs::read(&chunk).unwrap()).unwrap();
    assert!(span.abs_diff(6_000) <= 34, "{span} ms");
    assert_eq!(stream_types(&s.path).len(), 2);
}

fn sidecar(path: &Path, format: Format) -> PathBuf {
    let meta = SegmentClosed {
        file_id: 1,
        recording: RecordingId(7),
        manual: false,
        label: String::new(),
        app: "live".into(),
        stream_code: "s".into(),
        stream_param: String::new(),
        record_id: None,
        format,
        path: path.to_path_buf(),
        rel_path: String::new(),
        size: 0,
        start_ms: 1_800_000_000_000,
        end_ms: 1_800_000_000_000,
        duration_ms: 0,
        video_codec: Some("h264".into()),
        audio_codec: Some("aac".into()),
        width: Some(640),
        height: Some(360),
        recovered: false,
        poster: None,
    };
    let p = PathBuf::from(format!("{}.part.json", path.display()));
    std::fs::write(&p, serde_json::to_vec(&meta).unwrap()).unwrap();
    p
}

#[test]
fn recovery_finalizes_torn_flv_and_open_playlist_then_finds_nothing_the_second_time() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("vod/live/s/20261125");
    std::fs::create_dir_all(&dir).unwrap();
    let (codecs, frames) = clip(4_000);

    let flv = spec(&dir, "r.flv", codecs.clone());
    let mut w = FlvWriter::create(&flv).unwrap();
    write_all(&mut w, &frames);
    drop(w);
    let part = dir.join("r.flv.part");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.extend_from_slice(&[9, 0, 0x40, 0, 0, 0, 0]); // half a tag header: the crash point
    std::fs::write(&part, bytes).unwrap();
    sidecar(&flv.path, Format::Flv);

    let hls = spec(&dir, "r.m3u8", codecs);
    let mut w = HlsWriter::create(&hls).unwrap();
    write_all(&mut w, &frames);
    drop(w); // the chunk stays a .ts.part and the playlist was never written
    sidecar(&hls.path, Format::Hls);

    let recovered = recover(data.path()).segments;
    assert_eq!(recovered.len(), 2);
    for seg in &recovered {
        assert!(seg.recovered);
        assert!(
            (3_900..=4_100).contains(&seg.duration_ms),
            "{}: {} ms",
            seg.path.display(),
            seg.duration_ms
        );
        assert!(
            (duration_s(&seg.path) - 4.0).abs() < 0.15,
            "{}",
            seg.path.display()
        );
        assert_eq!(seg.end_ms, seg.start_ms + seg.duration_ms as i64);
    }
    assert!(std::fs::read_to_string(&hls.path)
        .unwrap()
        .contains("#EXT-X-ENDLIST"));
    assert!(
        recover(data.path()).segments.is_empty(),
        "a second run finds nothing to do"
    );
}
