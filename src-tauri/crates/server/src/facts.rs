//! The consumer of the engine's facts: files are indexed (retried until the index takes
//! them), stream start / end callbacks queued, and channel-mode tasks told when their
//! recording ended. Facts are handled one at a time, in the order the engine sent them, so a
//! task hears that it ended only after every file of it is indexed.

use std::time::Duration;

use tally_media::Fact;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::indexer::Indexer;
use crate::record_task::RecordTasks;

/// Starts handling `facts` in a task.
pub fn spawn(
    facts: mpsc::UnboundedReceiver<Fact>,
    indexer: Indexer,
    tasks: RecordTasks,
) -> FactsHandle {
    // A channel rather than a oneshot so that a handle dropped without a stop leaves the
    // consumer running as long as the engine lives.
    let (stop, stop_rx) = mpsc::channel(1);
    FactsHandle {
        stop,
        task: tokio::spawn(run(facts, indexer, tasks, stop_rx)),
    }
}

async fn run(
    mut facts: mpsc::UnboundedReceiver<Fact>,
    indexer: Indexer,
    tasks: RecordTasks,
    mut stop: mpsc::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            fact = facts.recv() => match fact {
                Some(fact) => handle(&indexer, &tasks, fact).await,
                None => return,
            },
            Some(()) = stop.recv() => {
                // Whoever stops us has seen the engine finish: every fact it will send is
                // queued already. Take them all, then stop.
                while let Ok(fact) = facts.try_recv() {
                    handle(&indexer, &tasks, fact).await;
                }
                return;
            }
        }
    }
}

async fn handle(indexer: &Indexer, tasks: &RecordTasks, fact: Fact) {
    match fact {
        Fact::FileClosed(seg) => {
            indexer.file_closed_durably(&seg).await;
        }
        Fact::StreamStarted {
            stream_code,
            stream_param,
            at_ms,
            ..
        } => {
            tasks.stream_started(&stream_code).await;
            indexer
                .stream_event(1, &stream_code, &stream_param, at_ms)
                .await
        }
        Fact::StreamEnded {
            stream_code, at_ms, ..
        } => indexer.stream_event(0, &stream_code, "", at_ms).await,
        Fact::RecordingEnded {
            recording,
            manual: true,
            reason,
            ..
        } => tasks.recording_ended(recording, reason).await,
        Fact::RecordingEnded { .. } => {}
    }
}

/// The running consumer.
pub struct FactsHandle {
    stop: mpsc::Sender<()>,
    task: JoinHandle<()>,
}

impl FactsHandle {
    /// Handles every fact already sent, then ends the task. Call it after the engine has shut
    /// down. Gives up after `limit` (an index that stopped answering must not keep the
    /// process alive): files left unindexed are found by the next start's reconcile.
    pub async fn drain_and_stop(self, limit: Duration) {
        let _ = self.stop.send(()).await;
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::error!("the index did not take every file in time; the next start indexes the rest from disk");
        }
    }
}
