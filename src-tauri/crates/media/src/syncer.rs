//! Fragment fsyncs off the recorder threads. An MP4 fragment is fsynced about once a second
//! per file; at 200 streams those are 200 `fdatasync`s a second, each waiting on the disk.
//! Done in line they held up every other recording sharing the thread (close-to-row p99 went
//! from 230 to 700 ms); here one thread waits for them and the writers go on. What a crash can
//! lose is unchanged: a write reaches the kernel at once and survives kill -9; the fsync only
//! narrows what a power cut can take, and recovery cuts a torn tail either way.

use std::fs::File;
use std::sync::Arc;

use tokio::sync::mpsc;

/// Where a writer sends an open file to be fsynced soon, without waiting.
#[derive(Clone)]
pub struct Syncer(Option<mpsc::UnboundedSender<Arc<File>>>);

impl Syncer {
    /// A syncer with its own thread; fsyncs in line if the thread cannot start.
    pub fn spawn() -> Syncer {
        let (tx, rx) = mpsc::unbounded_channel();
        match std::thread::Builder::new()
            .name("fsync".into())
            .spawn(move || run(rx))
        {
            Ok(_) => Syncer(Some(tx)),
            Err(e) => {
                tracing::warn!(error = %e, "no fsync thread: fragments are fsynced in line");
                Syncer::inline()
            }
        }
    }

    /// A syncer that fsyncs on the caller's thread (tests, tools).
    pub fn inline() -> Syncer {
        Syncer(None)
    }

    /// Asks for `file`'s data to be made durable.
    pub fn sync(&self, file: &Arc<File>) -> std::io::Result<()> {
        match &self.0 {
            Some(tx) if tx.send(file.clone()).is_ok() => Ok(()),
            _ => sync_now(file),
        }
    }
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Syncer(thread)"
        } else {
            "Syncer(inline)"
        })
    }
}

fn sync_now(file: &File) -> std::io::Result<()> {
    file.sync_data()?;
    crate::crashpoint::here("after_part_fsync");
    Ok(())
}

fn run(mut rx: mpsc::UnboundedReceiver<Arc<File>>) {
    let mut due: Vec<Arc<File>> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        // Everything queued meanwhile goes in the same round, each file once.
        due.push(first);
        while let Ok(more) = rx.try_recv() {
            if !due.iter().any(|f| Arc::ptr_eq(f, &more)) {
                due.push(more);
            }
        }
        for file in due.drain(..) {
            if let Err(e) = sync_now(&file) {
                // The next fragment's fsync, or the close's, tries again; the close reports it.
                tracing::warn!(error = %e, "fragment fsync failed");
            }
        }
    }
}
