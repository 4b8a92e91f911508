//! Desktop notifications for what needs the anchor's attention when the window is not in
//! view: recording errors, an idle auto-close, a callback given up, a full disk. Coalesced:
//! one of a kind per [`QUIET`], the next one telling how many were held back. A failure to
//! notify is logged, never fatal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tally_api::events::{EndReason, LiveEvent};
use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::live::FeedEvent;

/// At most one notification of a kind this often.
pub const QUIET: Duration = Duration::from_secs(30);

/// What a notification is about; each kind is coalesced on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    RecordingError,
    IdleClosed,
    CallbackGaveUp,
    DiskFull,
}

/// A notification to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub kind: Kind,
    pub summary: String,
    pub body: String,
}

fn text(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::ZhCn => zh.to_owned(),
    }
}

/// The notification for a recording error: its code, message and advice.
pub fn error_note(error: &ApiError, lang: Lang) -> Note {
    let kind = if error.code == ErrorCode::StorageFull.as_u32() {
        Kind::DiskFull
    } else {
        Kind::RecordingError
    };
    Note {
        kind,
        summary: format!(
            "{} {}",
            text(lang, "Recording error", "录制出错"),
            error.code
        ),
        body: format!("{} {}", error.message, error.advice),
    }
}

/// The notification an event calls for, if any.
pub fn note_for(event: &FeedEvent, lang: Lang) -> Option<Note> {
    let FeedEvent::Live { event } = event else {
        // Connection trouble shows in the window and the tray; it retries by itself.
        return None;
    };
    let (kind, summary, body) = match event {
        LiveEvent::Error { error, .. } => return Some(error_note(error, lang)),
        LiveEvent::RecordingEnded {
            reason,
            stream_code,
            ..
        } if *reason == EndReason::IdleTimeout => (
            Kind::IdleClosed,
            text(
                lang,
                "Recording closed: the stream went quiet",
                "录制已结束：流长时间无数据",
            ),
            format!(
                "{} ({stream_code})",
                text(
                    lang,
                    "Everything recorded is kept.",
                    "已录制的内容均已保留。"
                )
            ),
        ),
        LiveEvent::RecordingEnded { reason, .. } if *reason == EndReason::DiskFull => (
            Kind::DiskFull,
            text(
                lang,
                "Recording stopped: the disk is full",
                "录制已停止：磁盘已满",
            ),
            text(
                lang,
                "Free some space; what was recorded is kept.",
                "请清理磁盘空间；已录制的内容均已保留。",
            ),
        ),
        LiveEvent::CallbackGaveUp { file_id } => (
            Kind::CallbackGaveUp,
            text(
                lang,
                "A recording callback was given up",
                "录制回调已放弃重试",
            ),
            format!(
                "{} {file_id}",
                text(
                    lang,
                    "The business server did not accept it for a day. File:",
                    "业务服务器一天内未接收该回调。文件："
                )
            ),
        ),
        _ => return None,
    };
    Some(Note {
        kind,
        summary,
        body,
    })
}

/// Lets through one note of a kind per [`QUIET`] and counts the rest.
#[derive(Default)]
pub struct Coalescer {
    kinds: HashMap<Kind, (Instant, u32)>,
}

impl Coalescer {
    /// The note to show now, or `None` when one of its kind was shown within [`QUIET`].
    pub fn admit(&mut self, mut note: Note, now: Instant, lang: Lang) -> Option<Note> {
        match self.kinds.get_mut(&note.kind) {
            Some((shown, held)) if now.duration_since(*shown) < QUIET => {
                *held += 1;
                None
            }
            slot => {
                let held = slot.map_or(0, |(_, held)| *held);
                if held > 0 {
                    let more = text(lang, "more like this", "条同类通知");
                    note.body = format!("{} (+{held} {more})", note.body);
                }
                self.kinds.insert(note.kind, (now, 0));
                Some(note)
            }
        }
    }
}

/// Shows a note on the desktop, off the async runtime (the D-Bus call blocks).
pub fn show(note: Note) {
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("Tally")
            .summary(&note.summary)
            .body(&note.body)
            .show();
        match shown {
            Ok(_) => tracing::info!(summary = %note.summary, "notified"),
            Err(err) => {
                tracing::warn!(%err, summary = %note.summary, "desktop notification failed")
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(event: LiveEvent) -> FeedEvent {
        FeedEvent::Live { event }
    }

    fn error(code: ErrorCode) -> FeedEvent {
        live(LiveEvent::Error {
            stream_code: "s".into(),
            recording_id: None,
            error: ApiError::with_detail(code, Lang::En, ""),
        })
    }

    #[test]
    fn events_that_need_attention_become_notes() {
        let kinds: Vec<Option<Kind>> = [
            error(ErrorCode::Internal),
            error(ErrorCode::StorageFull),
            live(LiveEvent::RecordingEnded {
                recording_id: "1".into(),
                stream_code: "s".into(),
                reason: EndReason::IdleTimeout,
            }),
            live(LiveEvent::RecordingEnded {
                recording_id: "1".into(),
                stream_code: "s".into(),
                reason: EndReason::Stopped,
            }),
            live(LiveEvent::CallbackGaveUp {
                file_id: "9".into(),
            }),
            FeedEvent::Connected,
        ]
        .iter()
        .map(|e| note_for(e, Lang::En).map(|n| n.kind))
        .collect();
        assert_eq!(
            kinds,
            [
                Some(Kind::RecordingError),
                Some(Kind::DiskFull),
                Some(Kind::IdleClosed),
                None,
                Some(Kind::CallbackGaveUp),
                None
            ]
        );
        let zh = note_for(&error(ErrorCode::Internal), Lang::ZhCn).unwrap();
        assert!(zh.summary.starts_with("录制出错"), "{zh:?}");
    }

    #[test]
    fn a_storm_becomes_one_note_then_a_summary() {
        let note = note_for(&error(ErrorCode::Internal), Lang::En).unwrap();
        let other = note_for(
            &live(LiveEvent::CallbackGaveUp {
                file_id: "9".into(),
            }),
            Lang::En,
        )
        .unwrap();
        let mut coalescer = Coalescer::default();
        let t0 = Instant::now();
        assert!(coalescer.admit(note.clone(), t0, Lang::En).is_some());
        for i in 1..=50 {
            let at = t0 + Duration::from_millis(i * 100);
            assert_eq!(coalescer.admit(note.clone(), at, Lang::En), None);
        }
        assert!(
            coalescer
                .admit(other, t0 + Duration::from_secs(1), Lang::En)
                .is_some(),
            "other kinds are not held back"
        );
        let later = coalescer
            .admit(note, t0 + QUIET, Lang::En)
            .expect("after the quiet time");
        assert!(
            later.body.ends_with("(+50 more like this)"),
            "{}",
            later.body
        );
    }
}
