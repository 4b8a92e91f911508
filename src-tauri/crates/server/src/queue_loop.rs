//! The loop both durable queues of the index run on (the callback outbox and the upload
//! queue): work through what is due, then sleep until the next item is due (a minute at
//! most) or until woken because something was queued. The queue's own failures (its table
//! unreadable or unwritable) back off instead of retrying in a tight loop, and are logged once
//! until it recovers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tally_media::SharedClock;
use tokio::sync::Notify;

use crate::index::IndexError;

/// Delay after `failed_attempts` failures in a row: 1 s, 2 s, 4 s, ... capped at `max_ms`.
pub fn doubling_backoff_ms(failed_attempts: i64, max_ms: i64) -> i64 {
    let exp = (failed_attempts - 1).clamp(0, 20) as u32;
    (1_000i64 << exp).min(max_ms)
}

/// Runs until the process ends. `work` handles what is due and says how many it took;
/// `next_due` says when the next item is due; `backoff` maps failures in a row to a delay.
pub async fn run<W, WF, N, NF>(
    name: &str,
    clock: SharedClock,
    notify: Arc<Notify>,
    backoff: fn(i64) -> i64,
    mut work: W,
    mut next_due: N,
) where
    W: FnMut() -> WF,
    WF: Future<Output = Result<usize, IndexError>>,
    N: FnMut() -> NF,
    NF: Future<Output = Result<Option<i64>, IndexError>>,
{
    let mut failures = 0i64;
    loop {
        let wait = match work().await {
            Ok(n) if n > 0 => {
                failures = 0;
                continue;
            }
            Ok(_) => {
                failures = 0;
                match next_due().await {
                    Ok(Some(at)) => {
                        Duration::from_millis((at - clock.now_ms()).clamp(0, 60_000) as u64)
                    }
                    _ => Duration::from_secs(60),
                }
            }
            Err(err) => {
                failures += 1;
                if failures == 1 {
                    tracing::error!(%err, "{name} cannot be read or written; backing off");
                }
                Duration::from_millis(backoff(failures) as u64)
            }
        };
        tokio::select! {
            _ = notify.notified(), if failures == 0 => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// A queue's worker task, stopped and waited for on demand (a node handing its work back).
#[derive(Clone, Default)]
pub struct Worker(std::sync::Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>);

impl Worker {
    /// Runs `work` as the worker.
    pub fn spawn(work: impl std::future::Future<Output = ()> + Send + 'static) -> Worker {
        Worker(std::sync::Arc::new(std::sync::Mutex::new(Some(
            tokio::spawn(work),
        ))))
    }

    /// Stops the worker and waits until it is gone, with whatever it had in flight (aborted
    /// at its next await: every step of a queue is durable before the next).
    pub async fn stop(&self) {
        let task = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}
