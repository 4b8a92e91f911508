//! Byte budgets for the queues between a publisher's connection, its stream actor and each
//! recording. Counting messages is not enough: one RTMP message may be 16 MiB, so a queue of
//! 256 messages could hold 4 GiB. A sender takes the bytes it queues from the budget and waits
//! while it is spent; they come back when the receiver drops the message's [`Spent`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Waiting is logged at most this often per budget.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// One queue's budget.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    bytes: Arc<Semaphore>,
    capacity: usize,
    /// What the queue is, for the log.
    name: &'static str,
    created: Instant,
    /// When waiting was last logged (ms since `created`, plus one; 0: never).
    logged: Arc<AtomicU64>,
}

/// Bytes taken from a budget; dropping it gives them back.
#[derive(Debug)]
pub struct Spent(#[allow(dead_code)] OwnedSemaphorePermit);

impl ByteBudget {
    /// A budget of `capacity` bytes (at least 1) for the queue `name`.
    pub fn new(name: &'static str, capacity: usize) -> ByteBudget {
        let capacity = capacity.clamp(1, u32::MAX as usize);
        ByteBudget {
            bytes: Arc::new(Semaphore::new(capacity)),
            capacity,
            name,
            created: Instant::now(),
            logged: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes `bytes`, waiting until they are free. A message bigger than the whole budget
    /// takes all of it, so it travels alone instead of never.
    pub async fn take(&self, bytes: usize) -> Spent {
        let n = bytes.clamp(1, self.capacity) as u32;
        if let Ok(permit) = self.bytes.clone().try_acquire_many_owned(n) {
            return Spent(permit);
        }
        self.log_wait(bytes);
        let permit = self
            .bytes
            .clone()
            .acquire_many_owned(n)
            .await
            .expect("budgets are never closed");
        Spent(permit)
    }

    fn log_wait(&self, bytes: usize) {
        let now = self.created.elapsed().as_millis() as u64 + 1;
        let last = self.logged.load(Ordering::Relaxed);
        if (last == 0 || now >= last + LOG_EVERY.as_millis() as u64)
            && self
                .logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::info!(
                queue = self.name,
                capacity_bytes = self.capacity,
                message_bytes = bytes,
                "media queue full: waiting for it to drain (the sender is paused)"
            );
        }
    }

    /// Bytes free now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sender_waits_while_the_budget_is_spent_and_goes_on_when_bytes_come_back() {
        let budget = ByteBudget::new("test", 100);
        let a = budget.take(60).await;
        let b = budget.take(40).await;
        assert_eq!(budget.available(), 0);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.take(10).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(a);
        let c = waiting.await.unwrap();
        assert_eq!(budget.available(), 50);
        drop((b, c));
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn a_message_bigger_than_the_budget_takes_all_of_it() {
        let budget = ByteBudget::new("test", 100);
        let big = budget.take(16 << 20).await;
        assert_eq!(budget.available(), 0);
        drop(big);
        assert_eq!(budget.available(), 100);
    }
}
