//! Live events from a real `tally-server`: a recording's life as the console sees it, resuming
//! with `Last-Event-ID`, and a follower that rides out a server restart.

mod common;

use std::time::Duration;

use common::{publisher, start_server};
use tally_api::events::LiveEvent;
use tally_api::rooms::{RecordRequest, RoomKind, Source};
use tally_client::http::TallyClient;
use tally_client::live::{follow, EventStream, FeedEvent};

const WAIT: Duration = Duration::from_secs(20);

/// The next event matching `want`, skipping others.
async fn next_matching(
    events: &mut EventStream,
    what: &str,
    want: impl Fn(&LiveEvent) -> bool,
) -> LiveEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("stream open").expect("no error");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

fn record(op: &str) -> RecordRequest {
    RecordRequest {
        op: Some(op.into()),
        room_id: Some("sse".into()),
        user_id: Some("alice".into()),
        file_name: Some("直播课".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_is_seen_live_and_a_reconnect_resumes_where_it_stopped() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), "127.0.0.1:0", &[]);
    let client = TallyClient::new(&server.http, None);
    client.create_room("sse", RoomKind::Multi).await.unwrap();
    let member = client.join("sse", "alice").await.unwrap();
    let camera = member
        .push
        .iter()
        .find(|p| p.source == Source::Camera)
        .unwrap();
    let code = camera.stream_code.clone();
    let mut events = client.events(None).await.unwrap();
    let mut ffmpeg = publisher(&camera.url, 12).spawn().unwrap();

    next_matching(
        &mut events,
        "stream live",
        |e| matches!(e, LiveEvent::StreamState(s) if s.stream_code == code && s.live),
    )
    .await;
    client.record(&record("start")).await.unwrap();
    next_matching(
        &mut events,
        "task recording",
        |e| matches!(e, LiveEvent::TaskState(t) if t.recording && t.stream_code == code),
    )
    .await;
    let LiveEvent::SegmentOpened(opened) = next_matching(&mut events, "segment opened", |e| {
        matches!(e, LiveEvent::SegmentOpened(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(opened.format, tally_api::recordings::FileFormat::Mp4);
    let mut sizes = Vec::new();
    while sizes.len() < 2 {
        if let LiveEvent::SegmentProgress(p) = next_matching(
            &mut events,
            "progress",
            |e| matches!(e, LiveEvent::SegmentProgress(p) if p.file == opened.file),
        )
        .await
        {
            assert_eq!((p.width, p.height), (Some(320), Some(240)));
            sizes.push(p.bytes);
        }
    }
    assert!(sizes[1] > sizes[0], "the segment grows: {sizes:?}");
    let resume_after = events.last_event_id().expect("events carry ids").to_owned();

    let stopped = client.record(&record("stop")).await.unwrap();
    assert_eq!(stopped.file_ids.len(), 1);
    let closed = next_matching(&mut events, "segment closed", |e| {
        matches!(e, LiveEvent::SegmentClosed { .. })
    })
    .await;
    let LiveEvent::SegmentClosed { segment, file_id } = &closed else {
        unreachable!()
    };
    assert_eq!(file_id, &stopped.file_ids[0]);
    assert_eq!(segment.file, opened.file);
    assert!(segment.bytes >= sizes[1]);
    let task_stopped = next_matching(
        &mut events,
        "task stopped",
        |e| matches!(e, LiveEvent::TaskState(t) if !t.recording),
    )
    .await;

    // A second connection resuming from before the stop replays it, in order, without a resync.
    let mut resumed = client.events(Some(&resume_after)).await.unwrap();
    let mut replayed = Vec::new();
    while !matches!(replayed.last(), Some(LiveEvent::TaskState(t)) if !t.recording) {
        let event = tokio::time::timeout(WAIT, resumed.next())
            .await
            .expect("replayed at once")
            .unwrap()
            .unwrap();
        assert_ne!(event, LiveEvent::Resync);
        if !matches!(event, LiveEvent::SegmentProgress(_)) {
            replayed.push(event);
        }
    }
    let closed_at = replayed
        .iter()
        .position(|e| *e == closed)
        .expect("close replayed");
    assert_eq!(replayed.last(), Some(&task_stopped));
    assert!(closed_at < replayed.len() - 1);
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_reconnects_after_a_server_restart_and_is_told_to_resync() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = start_server(data.path(), &addr, &[]);
    let client = TallyClient::new(&server.http, None);
    let (tx, mut feed) = tokio::sync::mpsc::unbounded_channel();
    let follower = tokio::spawn({
        let client = client.clone();
        async move { follow(&client, move |e| tx.send(e).is_ok()).await }
    });
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut restarted = None;
    let mut server = Some(server);
    let mut publishing = None;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "feed so far: {seen:?}"
        );
        let Ok(event) = feed.try_recv() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        match (&event, seen.len()) {
            (FeedEvent::Connected, 0) => {
                // Something to resume after: a stream goes live.
                let url = format!("{}/live/8888_restart", server.as_ref().unwrap().rtmp);
                publishing = Some(publisher(&url, 30).spawn().unwrap());
            }
            (
                FeedEvent::Live {
                    event: LiveEvent::StreamState(_),
                },
                _,
            ) if server.is_some() => {
                server.take();
            }
            (FeedEvent::Disconnected { error }, _) if restarted.is_none() => {
                assert!(error.retryable, "{error:?}");
                restarted = Some(start_server(data.path(), &addr, &[]));
            }
            (
                FeedEvent::Live {
                    event: LiveEvent::Resync,
                },
                _,
            ) => break,
            _ => {}
        }
        seen.push(event);
    }
    assert!(
        seen.iter().filter(|e| **e == FeedEvent::Connected).count() == 2,
        "connected twice: {seen:?}"
    );
    follower.abort();
    if let Some(mut ffmpeg) = publishing {
        let _ = ffmpeg.kill();
        let _ = ffmpeg.wait();
    }
}
