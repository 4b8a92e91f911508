//! The threads recordings run on: one per core, not one per recording.
//!
//! File writes, fsyncs and closes block, so they stay off the tokio workers that read sockets.
//! A thread per recording made every ~100 ms batch of every stream a thread wake-up and a
//! context switch, which at 200 streams was the largest part of the engine's CPU (BENCH.md);
//! a few busy threads drain many batches per wake-up. Each recording stays on one thread, so
//! its messages are handled in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::events::RecordingId;
use crate::record::{RecordMsg, RecordTask};

enum Job {
    Start(RecordingId, Box<RecordTask>),
    Msg(RecordingId, RecordMsg),
    Abandon(RecordingId),
}

/// A recording's way to its thread.
#[derive(Clone)]
pub struct Lane {
    tx: mpsc::UnboundedSender<Job>,
}

impl Lane {
    /// Queues a message for recording `id`. Unbounded: the recording's byte budget bounds the
    /// frames, and the other messages are few.
    pub(crate) fn send(&self, id: RecordingId, msg: RecordMsg) {
        let _ = self.tx.send(Job::Msg(id, msg));
    }

    /// The recording's handle is gone without a close: finish its files and forget it.
    pub(crate) fn abandon(&self, id: RecordingId) {
        let _ = self.tx.send(Job::Abandon(id));
    }
}

struct Thread {
    lane: Lane,
    /// Recordings running on it.
    load: Arc<AtomicUsize>,
}

/// The engine's recorder threads, started as recordings need them.
pub struct RecorderThreads {
    most: usize,
    threads: Mutex<Vec<Thread>>,
}

impl RecorderThreads {
    /// Up to `most` threads (at least one).
    pub fn new(most: usize) -> Self {
        RecorderThreads {
            most: most.max(1),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// One thread per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `task` on the least loaded thread (starting one while fewer than `most` run).
    pub(crate) fn start(&self, id: RecordingId, task: Box<RecordTask>) -> std::io::Result<Lane> {
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        // A thread whose loop ended (it panicked) takes no more work.
        threads.retain(|t| !t.lane.tx.is_closed());
        let least = threads
            .iter()
            .min_by_key(|t| t.load.load(Ordering::Relaxed))
            .filter(|t| threads.len() >= self.most || t.load.load(Ordering::Relaxed) == 0);
        let thread = match least {
            Some(t) => t,
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                let load = Arc::new(AtomicUsize::new(0));
                let counted = load.clone();
                std::thread::Builder::new()
                    .name(format!("recorder-{}", threads.len()))
                    .spawn(move || run(rx, &counted))?;
                threads.push(Thread {
                    lane: Lane { tx },
                    load,
                });
                threads.last().expect("just pushed")
            }
        };
        thread.load.fetch_add(1, Ordering::Relaxed);
        let _ = thread.lane.tx.send(Job::Start(id, task));
        Ok(thread.lane.clone())
    }
}

fn run(mut rx: mpsc::UnboundedReceiver<Job>, load: &AtomicUsize) {
    let mut tasks: HashMap<RecordingId, Box<RecordTask>> = HashMap::new();
    while let Some(job) = rx.blocking_recv() {
        let (id, ended) = match job {
            Job::Start(id, task) => {
                tasks.insert(id, task);
                continue;
            }
            Job::Msg(id, msg) => match tasks.get_mut(&id) {
                Some(task) => (id, contained(id, || task.handle(msg))),
                None => continue,
            },
            Job::Abandon(id) => match tasks.get_mut(&id) {
                Some(task) => (
                    id,
                    contained(id, || {
                        task.abandon();
                        true
                    }),
                ),
                None => continue,
            },
        };
        if ended && tasks.remove(&id).is_some() {
            load.fetch_sub(1, Ordering::Relaxed);
        }
    }
    // Every lane is gone (the engine was dropped): still finish the files.
    for (id, task) in &mut tasks {
        contained(*id, || {
            task.abandon();
            true
        });
    }
}

/// Runs one step of a recording; a panic (a bug) ends that recording only, not the others on
/// its thread. Its open files stay as `.part` for recovery. True when the recording ended.
fn contained(id: RecordingId, step: impl FnOnce() -> bool) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(ended) => ended,
        Err(_) => {
            tracing::error!(recording = %id, "recording stopped by an internal error; its open files are recovered at the next start");
            true
        }
    }
}
