//! Delivers queued callbacks at least once: exponential backoff from 1 s to 10 min, for at
//! least 24 h, every attempt stored. A 2xx answer ends a callback. Redirects are not followed
//! (a callback goes to the configured URL or nowhere), each attempt has its own timeout, and
//! up to [`CONCURRENCY`] attempts run at once, so one hanging receiver holds up the rest by at
//! most one timeout. Time comes from the injected clock, so a day of retries can be tested.

use crate::events::{EventHub, HubEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_api::events::LiveEvent;
use tally_api::recordings::CallbackState;
use tally_media::SharedClock;

use tokio::sync::{Notify, Semaphore};

use crate::callback::signed;
use crate::index::{AttemptRecord, DueCallback, Index, IndexError};

/// How long a callback is retried before it is given up.
pub const GIVE_UP_AFTER_MS: i64 = 25 * 60 * 60 * 1000;
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;
/// Attempts in flight at once.
pub const CONCURRENCY: usize = 8;
/// One attempt's limit, connecting included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Callbacks read from the outbox per round.
const BATCH: i64 = 32;

/// Delay before attempt `n + 1` after `n` failed attempts: 1 s, 2 s, 4 s, ... capped at 10 min.
pub fn backoff_ms(failed_attempts: i64) -> i64 {
    crate::queue_loop::doubling_backoff_ms(failed_attempts, MAX_BACKOFF_MS)
}

/// The delivery worker's handle: `wake` after queueing so the first attempt is immediate.
#[derive(Clone)]
pub struct CallbackOutbox {
    notify: Arc<Notify>,
    worker: crate::queue_loop::Worker,
}

impl CallbackOutbox {
    /// Starts delivering to `url` (nothing is sent when it is `None`; rows stay queued).
    /// A file's callback given up is announced on `events`.
    pub fn start(
        index: Index,
        url: Option<String>,
        key: String,
        events: EventHub,
        clock: SharedClock,
    ) -> CallbackOutbox {
        let notify = Arc::new(Notify::new());
        let worker = match url {
            Some(url) => {
                let courier = Courier::new(index, url, key, events, clock, ATTEMPT_TIMEOUT);
                crate::queue_loop::Worker::spawn(run(courier, notify.clone()))
            }
            None => crate::queue_loop::Worker::default(),
        };
        CallbackOutbox { notify, worker }
    }

    /// Stops delivering, and waits until no attempt is in flight (a node handing its work
    /// back). An attempt cut short is not recorded, and is made again by whoever delivers next.
    pub async fn stop(&self) {
        self.worker.stop().await;
    }

    /// New callbacks were queued.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Takes due callbacks from the outbox to the receiver and stores each attempt.
#[derive(Clone)]
pub struct Courier {
    index: Index,
    client: reqwest::Client,
    url: String,
    key: String,
    events: EventHub,
    clock: SharedClock,
}

impl Courier {
    /// A courier to `url`, each attempt limited to `timeout`.
    pub fn new(
        index: Index,
        url: String,
        key: String,
        events: EventHub,
        clock: SharedClock,
        timeout: Duration,
    ) -> Courier {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Courier {
            index,
            client,
            url,
            key,
            events,
            clock,
        }
    }

    /// Attempts every callback due now, [`CONCURRENCY`] at a time, and stores each attempt as
    /// it ends; returns how many were attempted. Errs when the outbox cannot be read or an
    /// attempt cannot be stored (that callback stays due and is attempted again).
    pub async fn deliver_due(&self) -> Result<usize, IndexError> {
        let due = self.index.due_callbacks(self.clock.now_ms(), BATCH).await?;
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let mut running = tokio::task::JoinSet::new();
        for callback in due.iter().cloned() {
            let courier = self.clone();
            let slot = slots.clone().acquire_owned().await.expect("never closed");
            running.spawn(async move {
                let record = courier.attempt(&callback).await;
                drop(slot);
                let stored = courier.index.record_attempt(&record).await;
                if let (CallbackState::GaveUp, Some(file_id)) =
                    (record.state, callback.body["file_id"].as_str())
                {
                    courier
                        .events
                        .publish(HubEvent::Ready(LiveEvent::CallbackGaveUp {
                            file_id: file_id.to_owned(),
                        }));
                }
                stored
            });
        }
        let mut result = Ok(due.len());
        while let Some(done) = running.join_next().await {
            if let Ok(Err(err)) = done {
                result = Err(err);
            }
        }
        result
    }

    /// When the next pending callback is due, if any.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, IndexError> {
        self.index.next_due_ms().await
    }

    async fn attempt(&self, cb: &DueCallback) -> AttemptRecord {
        let at_ms = self.clock.now_ms();
        let started = Instant::now();
        let result = self
            .client
            .post(&self.url)
            .json(&signed(cb.body.clone(), &self.key, at_ms))
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
            (CallbackState::Delivered, at_ms)
        } else if at_ms - cb.created_ms >= GIVE_UP_AFTER_MS {
            tracing::warn!(
                callback = cb.id,
                event_type = cb.event_type,
                "callback given up"
            );
            (CallbackState::GaveUp, at_ms)
        } else {
            (CallbackState::Pending, at_ms + backoff_ms(n))
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
}

/// Delivers until the process ends.
async fn run(courier: Courier, notify: Arc<Notify>) {
    let clock = courier.clock.clone();
    crate::queue_loop::run(
        "the callback outbox",
        clock,
        notify,
        backoff_ms,
        || courier.deliver_due(),
        || courier.next_due_ms(),
    )
    .await;
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
