//! `/metrics` in the Prometheus text format (0.0.4), written by hand: a few gauges do not
//! warrant a metrics library.

use std::fmt::Write;

/// The numbers `/metrics` reports, gathered at request time.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    /// Files in the index.
    pub recordings: i64,
    /// Bytes of the files in the index.
    pub bytes: i64,
    /// Callbacks by outbox state.
    pub callbacks_pending: i64,
    /// Callbacks waiting for their file's upload to the bucket.
    pub callbacks_held: i64,
    pub callbacks_delivered: i64,
    pub callbacks_gave_up: i64,
    /// Streams with a publisher connected.
    pub live_streams: i64,
    /// Recordings the engine is writing now (stream-code and channel mode).
    pub recordings_in_progress: i64,
    /// Channel-mode tasks started and not stopped.
    pub record_tasks_active: i64,
    /// Recordings not yet uploaded to the bucket (and verified there).
    pub uploads_pending: i64,
}

/// The exposition text of `s`.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(&str, i64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    gauge(
        "tally_recordings_indexed",
        "Recorded files in the index.",
        &[("", s.recordings)],
    );
    gauge(
        "tally_recordings_bytes",
        "Bytes of the recorded files in the index.",
        &[("", s.bytes)],
    );
    gauge(
        "tally_callbacks",
        "Callbacks in the outbox by state.",
        &[
            ("{state=\"held\"}", s.callbacks_held),
            ("{state=\"pending\"}", s.callbacks_pending),
            ("{state=\"delivered\"}", s.callbacks_delivered),
            ("{state=\"gave_up\"}", s.callbacks_gave_up),
        ],
    );
    gauge(
        "tally_live_streams",
        "Streams with a publisher connected.",
        &[("", s.live_streams)],
    );
    gauge(
        "tally_recordings_in_progress",
        "Recordings being written now.",
        &[("", s.recordings_in_progress)],
    );
    gauge(
        "tally_record_tasks_active",
        "Channel-mode recording tasks started and not stopped.",
        &[("", s.record_tasks_active)],
    );
    gauge(
        "tally_uploads_pending",
        "Recordings waiting to be uploaded to the bucket and verified there.",
        &[("", s.uploads_pending)],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gauge_has_help_type_and_a_sample_per_line() {
        let text = render(&Snapshot {
            recordings: 3,
            bytes: 1234,
            callbacks_pending: 1,
            callbacks_gave_up: 2,
            ..Snapshot::default()
        });
        assert!(
            text.contains("# TYPE tally_recordings_indexed gauge\ntally_recordings_indexed 3\n")
        );
        assert!(text.contains("tally_recordings_bytes 1234\n"));
        assert!(text.contains("tally_callbacks{state=\"pending\"} 1\n"));
        assert!(text.contains("tally_callbacks{state=\"delivered\"} 0\n"));
        assert!(text.contains("tally_callbacks{state=\"gave_up\"} 2\n"));
        assert!(text.ends_with('\n'));
    }
}
