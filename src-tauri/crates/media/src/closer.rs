//! Finishing a recording's files in the durable order, off its recorder thread.
//!
//! A close waits on several fsyncs (the sidecar, the file, its directory, the manifest). On a
//! recorder thread shared by many recordings those waits held up everyone's writes (close to
//! row p99 1.2 s at 200 streams); run side by side on a few close threads, they also let the
//! file system commit them together. A few, not one per close: 200 streams started together
//! cut their segments together, and hundreds of threads closing at once starved the socket
//! readers of CPU (late frames at the publishers).

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};

use crate::config::Format;
use crate::error::EngineError;
use crate::events::{EngineEvent, Fact, RecordingId, SegmentClosed};
use crate::segment::SegmentWriter;
use crate::stream::Shared;
use crate::{crashpoint, disk, manifest};

/// A file being written, with what it will be reported as.
pub(crate) struct OpenFile {
    pub format: Format,
    pub writer: Box<dyn SegmentWriter>,
    pub meta: SegmentClosed,
    pub sidecar: PathBuf,
    /// The segment's poster, when one is being made.
    pub poster: Option<crate::poster::PendingPoster>,
}

/// Closes one recording's files and gathers what they became.
pub(crate) struct Closer {
    shared: Arc<Shared>,
    recording: RecordingId,
    stream_code: String,
    done_tx: mpsc::Sender<(u64, Option<SegmentClosed>)>,
    done_rx: mpsc::Receiver<(u64, Option<SegmentClosed>)>,
    started: u64,
    finished: Vec<(u64, SegmentClosed)>,
    pending: usize,
}

impl Closer {
    pub fn new(shared: Arc<Shared>, recording: RecordingId, stream_code: String) -> Self {
        let (done_tx, done_rx) = mpsc::channel();
        Closer {
            shared,
            recording,
            stream_code,
            done_tx,
            done_rx,
            started: 0,
            finished: Vec::new(),
            pending: 0,
        }
    }

    /// Starts finishing `file`, `duration_ms` long; it is reported (fact, event) when done.
    pub fn close(&mut self, file: OpenFile, duration_ms: u64) {
        let (shared, recording) = (self.shared.clone(), self.recording);
        let (stream_code, done, seq) =
            (self.stream_code.clone(), self.done_tx.clone(), self.started);
        self.started += 1;
        self.pending += 1;
        let report = Done {
            tx: done,
            seq,
            closed: None,
        };
        let job = move || {
            let mut report = report;
            report.closed = finish(&shared, recording, &stream_code, file, duration_ms);
        };
        self.shared.closers.run(Box::new(job));
    }

    /// Waits for every close started so far; returns every file closed since the last call,
    /// in the order their closes started.
    pub fn wait(&mut self) -> Vec<SegmentClosed> {
        while self.pending > 0 {
            let Ok((seq, closed)) = self.done_rx.recv() else {
                break;
            };
            self.pending -= 1;
            self.finished.extend(closed.map(|c| (seq, c)));
        }
        self.finished.sort_by_key(|(seq, _)| *seq);
        self.finished.drain(..).map(|(_, c)| c).collect()
    }
}

/// A close's answer, sent when it is dropped: also when the job is dropped unrun (the engine
/// is gone; the `.part` stays for recovery), so `wait` never waits for it forever.
struct Done {
    tx: mpsc::Sender<(u64, Option<SegmentClosed>)>,
    seq: u64,
    closed: Option<SegmentClosed>,
}

impl Drop for Done {
    fn drop(&mut self) {
        let _ = self.tx.send((self.seq, self.closed.take()));
    }
}

/// A close job.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The threads files are closed on, started as closes need them.
pub(crate) struct CloseThreads {
    most: usize,
    pool: Mutex<Option<Pool>>,
}

struct Pool {
    tx: mpsc::Sender<Job>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    threads: usize,
}

impl CloseThreads {
    /// Up to `most` threads.
    pub fn new(most: usize) -> Self {
        CloseThreads {
            most: most.max(1),
            pool: Mutex::new(None),
        }
    }

    /// Runs `job` on a close thread (in line if none can start).
    pub fn run(&self, job: Job) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let Pool { tx, rx, threads } = pool.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            Pool {
                tx,
                rx: Arc::new(Mutex::new(rx)),
                threads: 0,
            }
        });
        if *threads < self.most {
            let rx = rx.clone();
            let started = std::thread::Builder::new()
                .name(format!("close-{threads}"))
                .spawn(move || loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            match started {
                Ok(_) => *threads += 1,
                Err(e) if *threads == 0 => {
                    tracing::warn!(error = %e, "no close thread: closing in line");
                    drop(pool);
                    return job();
                }
                Err(_) => {}
            }
        }
        if let Err(mpsc::SendError(job)) = tx.send(job) {
            drop(pool);
            job();
        }
    }
}

/// Logs a recorder error and sends it as telemetry.
pub(crate) fn report(
    shared: &Shared,
    recording: RecordingId,
    stream_code: &str,
    code: u32,
    detail: String,
) {
    tracing::warn!(recording = %recording, stream = %stream_code, code, %detail, "recorder error");
    let _ = shared.events.send(EngineEvent::RecorderError {
        recording: Some(recording),
        stream_code: stream_code.to_owned(),
        code,
        detail,
    });
}

/// Finishes one file in the durable order (`docs/design.md`): the sidecar learns the exact
/// duration, the file is finalized and renamed, its manifest is written, and only then is
/// the sidecar removed and the file reported. A crash at any step leaves either the sidecar
/// (startup recovery finishes the job) or the manifest (startup reconcile indexes it).
fn finish(
    shared: &Shared,
    recording: RecordingId,
    stream_code: &str,
    f: OpenFile,
    duration_ms: u64,
) -> Option<SegmentClosed> {
    let error = |code, detail| report(shared, recording, stream_code, code, detail);
    let mut meta = f.meta;
    meta.duration_ms = duration_ms;
    meta.end_ms = meta.start_ms + duration_ms as i64;
    if let Err(e) = serde_json::to_vec(&meta)
        .map_err(|e| EngineError::Invalid(e.to_string()))
        .and_then(|json| disk::write_atomic(&f.sidecar, &json))
    {
        // The sidecar written at open stays: recovery measures the duration itself.
        tracing::warn!(error = %e, "could not update the sidecar before closing");
    }
    let size = match f.writer.finish(duration_ms) {
        Ok(size) => size,
        Err(e) => {
            // The `.part` and its sidecar stay; finalized when space returns (or at start).
            shared.defer(f.sidecar);
            error(
                e.code(),
                format!(
                    "closing {}: {e}; kept, finalized later",
                    meta.path.display()
                ),
            );
            return None;
        }
    };
    crashpoint::here("after_rename");
    meta.size = size;
    if f.poster.is_some_and(|p| p.is_written()) {
        meta.find_poster();
    }
    match manifest::write(&meta) {
        Ok(()) => {
            crashpoint::here("after_manifest");
            if let Err(e) = std::fs::remove_file(&f.sidecar) {
                tracing::warn!(sidecar = %f.sidecar.display(), error = %e, "could not remove a sidecar");
            }
            crashpoint::here("after_sidecar_removal");
        }
        // The file is whole: it is reported now; the sidecar stays until its manifest can
        // be written (retried with the deferred files, or at the next start).
        Err(e) => {
            shared.defer(f.sidecar);
            error(
                e.code(),
                format!("manifest of {}: {e}", meta.path.display()),
            );
        }
    }
    shared.fact(Fact::FileClosed(Box::new(meta.clone())));
    let _ = shared.events.send(EngineEvent::SegmentClosed(meta.clone()));
    Some(meta)
}
