//! Delivers queued callbacks at least once: exponential backoff from 1 s to 10 min, for at
//! least 24 h, every attempt stored. A 2xx answer ends a callback.

use crate::events::{EventHub, HubEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_api::events::LiveEvent;

use tokio::sync::Notify;

use crate::callback::signed;
use crate::index::{AttemptRecord, DueCallback, Index};
use crate::now_ms;

/// How long a callback is retried before it is given up.
pub const GIVE_UP_AFTER_MS: i64 = 25 * 60 * 60 * 1000;
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;

/// Delay before attempt `n + 1` after `n` failed attempts: 1 s, 2 s, 4 s, ... capped at 10 min.
pub fn backoff_ms(failed_attempts: i64) -> i64 {
    let exp = (failed_attempts - 1).clamp(0, 20) as u32;
    (FIRST_BACKOFF_MS << exp).min(MAX_BACKOFF_MS)
}

/// The delivery worker's handle: `wake` after queueing so the first attempt is immediate.
#[derive(Clone)]
pub struct CallbackOutbox {
    notify: Arc<Notify>,
}

impl CallbackOutbox {
    /// Starts delivering to `url` (nothing is sent when it is `None`; rows stay queued).
    /// A file's callback given up is announced on `events`.
    pub fn start(
        index: Index,
        url: Option<String>,
        key: String,
        events: EventHub,
    ) -> CallbackOutbox {
        let notify = Arc::new(Notify::new());
        if let Some(url) = url {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client");
            tokio::spawn(run(index, client, url, key, notify.clone(), events));
        }
        CallbackOutbox { notify }
    }

    /// New callbacks were queued.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

async fn run(
    index: Index,
    client: reqwest::Client,
    url: String,
    key: String,
    notify: Arc<Notify>,
    events: EventHub,
) {
    loop {
        let due = match index.due_callbacks(now_ms(), 32).await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(%err, "reading the callback outbox failed");
                Vec::new()
            }
        };
        for callback in &due {
            let record = attempt(&client, &url, &key, callback).await;
            if let Err(err) = index.record_attempt(&record).await {
                tracing::error!(%err, "storing a callback attempt failed");
            }
            if let ("gave_up", Some(file_id)) = (record.state, callback.body["file_id"].as_str()) {
                events.publish(HubEvent::Ready(LiveEvent::CallbackGaveUp {
                    file_id: file_id.to_owned(),
                }));
            }
        }
        if !due.is_empty() {
            continue;
        }
        let wait = match index.next_due_ms().await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, 60_000) as u64),
            _ => Duration::from_secs(60),
        };
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    cb: &DueCallback,
) -> AttemptRecord {
    let at_ms = now_ms();
    let started = Instant::now();
    let result = client
        .post(url)
        .json(&signed(cb.body.clone(), key, at_ms))
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let (status, error) = match result {
        Ok(response) if response.status().is_success() => {
            (Some(i64::from(response.status().as_u16())), None)
        }
        Ok(response) => (
            Some(i64::from(response.status().as_u16())),
            Some(format!("answered {}", response.status())),
        ),
        Err(err) => (None, Some(err.to_string())),
    };
    let n = cb.attempts + 1;
    let (state, next_attempt_ms) = if error.is_none() {
        ("delivered", at_ms)
    } else if at_ms - cb.created_ms >= GIVE_UP_AFTER_MS {
        tracing::warn!(
            callback = cb.id,
            event_type = cb.event_type,
            "callback given up"
        );
        ("gave_up", at_ms)
    } else {
        ("pending", at_ms + backoff_ms(n))
    };
    AttemptRecord {
        callback_id: cb.id,
        attempt: n,
        at_ms,
        status,
        error,
        duration_ms,
        state,
        next_attempt_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_ten_minutes() {
        let delays: Vec<i64> = (1..=12).map(backoff_ms).collect();
        assert_eq!(&delays[..5], &[1_000, 2_000, 4_000, 8_000, 16_000]);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(backoff_ms(11), 600_000);
        assert_eq!(backoff_ms(1_000), 600_000);
    }

    #[test]
    fn retrying_covers_a_day() {
        let mut elapsed = 0;
        let mut attempts = 0;
        while elapsed < GIVE_UP_AFTER_MS {
            attempts += 1;
            elapsed += backoff_ms(attempts);
        }
        const { assert!(GIVE_UP_AFTER_MS >= 24 * 60 * 60 * 1000) };
        assert!(
            attempts > 140,
            "about one attempt every 10 min once backed off: {attempts}"
        );
    }
}
