//! The callback outbox on simulated wall-clock time, against real HTTP receivers: a receiver
//! down for 25 h gets every retry on the documented schedule and the give-up at the documented
//! time; a redirect is never followed; a hanging receiver holds up the others by at most one
//! attempt timeout.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use tally_media::clock::ManualClock;
use tally_media::{Format, RecordingId, SegmentClosed};
use tally_server::events::EventHub;
use tally_server::index::Index;
use tally_server::indexer::Indexer;
use tally_server::outbox::{backoff_ms, CallbackOutbox, Courier, GIVE_UP_AFTER_MS};
use tally_server::urls::Urls;

const T0: i64 = 1_800_000_000_000;

struct Outbox {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    indexer: Indexer,
    events: EventHub,
}

async fn outbox() -> Outbox {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let (index, _) = Index::open_at(
        dir.path(),
        tally_testkit::postgres::index_url(dir.path()).as_deref(),
        T0,
    )
    .await
    .unwrap();
    let events = EventHub::new(dir.path());
    let indexer = Indexer {
        // No URL: no background worker; the test drives a courier itself.
        outbox: CallbackOutbox::start(
            index.clone(),
            None,
            "k".into(),
            events.clone(),
            clock.clone(),
        ),
        index,
        uploads: Default::default(),
        urls: Urls::new(
            "http://127.0.0.1:1",
            tally_server::signing::UrlSigner::new([1; 32]),
            clock.clone(),
        ),
        appid: 1400,
        callbacks_on: true,
        events: events.clone(),
        clock: clock.clone(),
    };
    Outbox {
        _dir: dir,
        clock,
        indexer,
        events,
    }
}

impl Outbox {
    fn courier(&self, url: &str, timeout: Duration) -> Courier {
        Courier::new(
            self.indexer.index.clone(),
            url.into(),
            "k".into(),
            self.events.clone(),
            self.clock.clone(),
            timeout,
        )
    }

    /// Indexes a file named `name` (its callback queued now); returns its file id.
    async fn file(&self, name: &str) -> String {
        let seg = SegmentClosed {
            file_id: 0,
            recording: RecordingId(1),
            manual: false,
            label: String::new(),
            app: "live".into(),
            stream_code: "8888_sim".into(),
            stream_param: String::new(),
            record_id: Some(name.into()),
            format: Format::Flv,
            path: Path::new("/nowhere").join(name),
            rel_path: format!("vod/live/8888_sim/{name}.flv"),
            size: 1,
            start_ms: T0,
            end_ms: T0 + 1000,
            duration_ms: 1000,
            video_codec: None,
            audio_codec: None,
            width: None,
            height: None,
            recovered: false,
            poster: None,
        };
        self.indexer.file_closed(&seg).await.unwrap()
    }
}

/// A receiver answering every POST with `answer`, counting them.
async fn receiver<F, R>(answer: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(Value) -> R + Clone + Send + Sync + 'static,
    R: std::future::Future<Output = axum::response::Response> + Send + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    let app = Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| {
            count.fetch_add(1, Ordering::SeqCst);
            answer(body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

#[tokio::test]
async fn a_receiver_down_for_25_hours_is_retried_on_schedule_then_given_up() {
    let o = outbox().await;
    let (url, hits) = receiver(|_| async { StatusCode::SERVICE_UNAVAILABLE.into_response() }).await;
    let courier = o.courier(&url, Duration::from_secs(5));
    let file_id = o.file("down").await;
    let mut rounds = 0;
    loop {
        courier.deliver_due().await.unwrap();
        match courier.next_due_ms().await.unwrap() {
            Some(at) => o.clock.set(at),
            None => break,
        }
        rounds += 1;
        assert!(rounds < 1_000, "the outbox never gives up");
    }
    let attempts = o.indexer.index.attempts(&file_id).await.unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        attempts.len(),
        "every attempt reached the receiver"
    );
    assert_eq!(attempts[0].at_ms, T0, "the first attempt is immediate");
    for (n, pair) in attempts.windows(2).enumerate() {
        assert_eq!(
            pair[1].at_ms - pair[0].at_ms,
            backoff_ms(n as i64 + 1),
            "gap after attempt {}",
            n + 1
        );
        assert_eq!(pair[0].status, Some(503));
    }
    let last = attempts.last().unwrap();
    let before_last = &attempts[attempts.len() - 2];
    assert!(
        before_last.at_ms - T0 < GIVE_UP_AFTER_MS,
        "not given up early"
    );
    assert!(last.at_ms - T0 >= GIVE_UP_AFTER_MS, "given up after 25 h");
    assert!(
        last.at_ms - T0 < GIVE_UP_AFTER_MS + backoff_ms(1_000),
        "given up at the first attempt past 25 h"
    );
    let row = o.indexer.index.get(&file_id).await.unwrap().unwrap();
    assert_eq!(row.recording.callback_state.as_str(), "gave_up");
}

#[tokio::test]
async fn a_redirect_to_another_port_is_not_followed() {
    let o = outbox().await;
    let (elsewhere, elsewhere_hits) = receiver(|_| async { StatusCode::OK.into_response() }).await;
    let (url, hits) = receiver(move |_| {
        let to = elsewhere.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response() }
    })
    .await;
    let courier = o.courier(&url, Duration::from_secs(5));
    let file_id = o.file("redirected").await;
    courier.deliver_due().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    let attempts = o.indexer.index.attempts(&file_id).await.unwrap();
    assert_eq!(attempts[0].status, Some(307));
    let row = o.indexer.index.get(&file_id).await.unwrap().unwrap();
    assert_eq!(
        row.recording.callback_state.as_str(),
        "pending",
        "a redirect is a failed attempt, retried"
    );
}

#[tokio::test]
async fn a_hanging_receiver_holds_up_the_others_by_at_most_one_timeout() {
    let o = outbox().await;
    let timeout = Duration::from_secs(2);
    let arrivals: Arc<std::sync::Mutex<Vec<std::time::Instant>>> = Arc::default();
    let seen = arrivals.clone();
    let (url, _) = receiver(move |body: Value| {
        let seen = seen.clone();
        async move {
            if body["stream_param"]
                .as_str()
                .unwrap_or_default()
                .contains("hang")
            {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            seen.lock().unwrap().push(std::time::Instant::now());
            StatusCode::OK.into_response()
        }
    })
    .await;
    let courier = o.courier(&url, timeout);
    let hanging = o.file("hang").await;
    let mut others = Vec::new();
    for i in 0..12 {
        others.push(o.file(&format!("ok{i}")).await);
    }
    let started = std::time::Instant::now();
    courier.deliver_due().await.unwrap();
    let arrived = arrivals.lock().unwrap().clone();
    assert_eq!(arrived.len(), others.len());
    assert!(
        arrived.iter().all(|t| t.duration_since(started) < timeout),
        "a delivery waited behind the hanging one"
    );
    let hung = &o.indexer.index.attempts(&hanging).await.unwrap()[0];
    assert!(
        hung.status.is_none() && hung.duration_ms >= timeout.as_millis() as i64,
        "{hung:?}"
    );
    for id in &others {
        let a = &o.indexer.index.attempts(id).await.unwrap()[0];
        assert_eq!(a.status, Some(200));
    }
}
