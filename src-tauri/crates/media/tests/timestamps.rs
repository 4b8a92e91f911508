//! RTMP timestamps that wrap at 2^32 and an encoder restart (backward jump) in the middle of a
//! publish: the files stay continuous and playable.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use rml_rtmp::sessions::ClientSessionResult;
use rml_rtmp::time::RtmpTimestamp;
use tally_media::flv::{parse_header, parse_tag};
use tally_media::replay::{connect, SAMPLE_CLIP};
use tally_media::Format;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapping_and_restarting_timestamps_give_continuous_files() {
    let (engine, _dir) = engine(|_| {}).await;
    let mut events = engine.subscribe();
    let url = format!("rtmp://{}/live/wrap?record=flv,mp4", engine.rtmp_addr());
    let (mut sock, mut session) = connect(&url).await.unwrap();

    let clip = Bytes::from_static(SAMPLE_CLIP);
    let mut pos = parse_header(&clip).unwrap();
    let mut tags = Vec::new();
    while let Some((tag, n)) = parse_tag(&clip[pos..], pos).unwrap() {
        if matches!(tag.tag_type, 8 | 9) {
            tags.push((tag.tag_type == 9, tag.timestamp, clip.slice_ref(tag.body)));
        }
        pos += n;
    }
    // One pass lasts from its first video frame to one frame after its last one; after the
    // restart the timeline resumes one step after the last frame of either track.
    let video_ms = u64::from(tags.iter().filter(|t| t.0).map(|t| t.1).max().unwrap()) + 33;
    let any_ms = u64::from(tags.iter().map(|t| t.1).max().unwrap()) + 33;
    // First pass starts 3 s before the 32-bit wrap; the second pass restarts at 0 as an
    // encoder restart would. Configurations are sent once, at the start.
    let starts = [u32::MAX - 3_000, 0];
    let mut out = Vec::new();
    for (pass, base) in starts.into_iter().enumerate() {
        for (video, ts, body) in &tags {
            let is_config = body.len() > 1 && body[1] == 0;
            if is_config && pass > 0 {
                continue;
            }
            let stamp = RtmpTimestamp::new(base.wrapping_add(*ts));
            let r = if *video {
                session.publish_video_data(body.clone(), stamp, false)
            } else {
                session.publish_audio_data(body.clone(), stamp, false)
            };
            if let ClientSessionResult::OutboundResponse(p) = r.unwrap() {
                out.extend_from_slice(&p.bytes);
            }
        }
    }
    sock.write_all(&out).await.unwrap();
    drop(sock);

    let all = collect_until(
        &mut events,
        Duration::from_secs(20),
        stream_ended_and_all_closed,
    )
    .await;
    let segs = closed(&all);
    assert_eq!(segs.len(), 2);
    let expected = (2 * video_ms)..=(any_ms + video_ms + 34);
    for s in &segs {
        assert!(
            expected.contains(&s.duration_ms),
            "{:?}: {} ms, expected {expected:?}",
            s.format,
            s.duration_ms
        );
        let probed = duration_s(&s.path);
        assert!(
            (probed * 1000.0 - s.duration_ms as f64).abs() < 100.0,
            "{:?} probes as {probed} s",
            s.format
        );
        assert!(first_video_frame_is_keyframe(&s.path));
        let frames = video_frames(&s.path);
        // Coded frames only: not the sequence header (packet type 0) nor end of sequence (2).
        let coded = tags
            .iter()
            .filter(|t| t.0 && t.2.get(1) == Some(&1))
            .count() as u64;
        assert_eq!(frames, 2 * coded, "{:?}", s.format);
    }
    assert!(segs.iter().any(|s| s.format == Format::Mp4));
}
