//! The tray icon: shows idle / recording / error at a glance and offers a small menu.
//!
//! The menu is computed from state by [`menu_entries`], a pure function, so it can be tested
//! without a desktop; [`install`] only turns it into Tauri objects.

use std::collections::BTreeSet;

use tally_api::events::LiveEvent;
use tally_client::live::FeedEvent;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

/// What the tray shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayState {
    Idle,
    Recording,
    Error,
}

impl TrayState {
    /// The PNG for this state (embedded, so the icon works wherever the binary runs).
    pub fn icon_png(self) -> &'static [u8] {
        match self {
            TrayState::Idle => include_bytes!("../../icons/tray-idle.png"),
            TrayState::Recording => include_bytes!("../../icons/tray-recording.png"),
            TrayState::Error => include_bytes!("../../icons/tray-error.png"),
        }
    }

    /// The tooltip for this state.
    pub fn tooltip(self) -> &'static str {
        match self {
            TrayState::Idle => "Tally — idle",
            TrayState::Recording => "Tally — recording",
            TrayState::Error => "Tally — needs attention",
        }
    }
}

/// What the console sees happening on its server, reduced to what the tray shows.
#[derive(Debug, Default)]
pub struct Activity {
    recordings: BTreeSet<String>,
    error: bool,
    shown: Option<TrayState>,
}

impl Activity {
    /// Takes in an event; returns the tray state when it changes.
    pub fn apply(&mut self, event: &FeedEvent) -> Option<TrayState> {
        match event {
            FeedEvent::Connected => self.error = false,
            FeedEvent::Disconnected { .. } => self.error = true,
            FeedEvent::Live { event } => match event {
                LiveEvent::Resync => self.recordings.clear(),
                LiveEvent::SegmentOpened(s) | LiveEvent::SegmentProgress(s) => {
                    self.recordings.insert(s.recording_id.clone());
                }
                LiveEvent::RecordingEnded { recording_id, .. } => {
                    self.recordings.remove(recording_id);
                }
                LiveEvent::TaskState(task) if task.recording => self.error = false,
                LiveEvent::Error { .. } => self.error = true,
                _ => {}
            },
        }
        let state = if self.error {
            TrayState::Error
        } else if self.recordings.is_empty() {
            TrayState::Idle
        } else {
            TrayState::Recording
        };
        (self.shown != Some(state)).then(|| {
            self.shown = Some(state);
            state
        })
    }
}

/// Shows `state` on the tray icon, if there is one.
pub fn show<R: Runtime>(app: &AppHandle<R>, state: TrayState) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let shown = Image::from_bytes(state.icon_png())
        .and_then(|icon| tray.set_icon(Some(icon)))
        .and_then(|()| tray.set_tooltip(Some(state.tooltip())));
    if let Err(err) = shown {
        tracing::warn!(%err, "updating the tray icon failed");
    }
}

const TRAY_ID: &str = "tally";

/// One action of the tray menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayAction {
    ShowWindow,
    Quit,
}

impl TrayAction {
    fn id(self) -> &'static str {
        match self {
            TrayAction::ShowWindow => "show",
            TrayAction::Quit => "quit",
        }
    }

    fn from_id(id: &str) -> Option<TrayAction> {
        [TrayAction::ShowWindow, TrayAction::Quit]
            .into_iter()
            .find(|a| a.id() == id)
    }

    fn label(self) -> &'static str {
        match self {
            TrayAction::ShowWindow => "Show Tally",
            TrayAction::Quit => "Quit",
        }
    }
}

/// The menu for a state, top to bottom.
pub fn menu_entries(_state: TrayState) -> Vec<TrayAction> {
    vec![TrayAction::ShowWindow, TrayAction::Quit]
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, state: TrayState) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    for action in menu_entries(state) {
        menu.append(&MenuItem::with_id(
            app,
            action.id(),
            action.label(),
            true,
            None::<&str>,
        )?)?;
    }
    Ok(menu)
}

/// Puts the tray icon up in the idle state.
pub fn install<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let state = TrayState::Idle;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.icon_png())?)
        .tooltip(state.tooltip())
        .menu(&build_menu(app, state)?)
        .on_menu_event(
            |app, event| match TrayAction::from_id(event.id().as_ref()) {
                Some(TrayAction::ShowWindow) => {
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.show();
                        let _ = window.unminimize();
                        let _ = window.set_focus();
                    }
                }
                Some(TrayAction::Quit) => app.exit(0),
                None => {}
            },
        )
        .build(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_api::events::SegmentStatus;
    use tally_api::{ApiError, ErrorCode, Lang};

    #[test]
    fn menu_offers_show_and_quit_in_every_state() {
        for state in [TrayState::Idle, TrayState::Recording, TrayState::Error] {
            assert_eq!(
                menu_entries(state),
                [TrayAction::ShowWindow, TrayAction::Quit]
            );
        }
    }

    #[test]
    fn menu_ids_round_trip() {
        for action in [TrayAction::ShowWindow, TrayAction::Quit] {
            assert_eq!(TrayAction::from_id(action.id()), Some(action));
        }
        assert_eq!(TrayAction::from_id("nope"), None);
    }

    fn segment(recording_id: &str) -> LiveEvent {
        LiveEvent::SegmentOpened(SegmentStatus {
            recording_id: recording_id.into(),
            stream_code: "s".into(),
            format: "mp4".into(),
            file: "vod/f.mp4".into(),
            start_ms: 0,
            bytes: 0,
            duration_ms: 0,
            bitrate_kbps: 0,
            fps: 0.0,
            last_keyframe_ms: 0,
            width: None,
            height: None,
        })
    }

    fn live(event: LiveEvent) -> FeedEvent {
        FeedEvent::Live { event }
    }

    fn ended(recording_id: &str) -> FeedEvent {
        live(LiveEvent::RecordingEnded {
            recording_id: recording_id.into(),
            stream_code: "s".into(),
            reason: "stopped".into(),
        })
    }

    #[test]
    fn the_tray_follows_recordings_and_errors_and_reports_only_changes() {
        let mut activity = Activity::default();
        let unreachable = ApiError::with_detail(ErrorCode::ServerUnreachable, Lang::En, "");
        let steps = [
            (FeedEvent::Connected, Some(TrayState::Idle)),
            (live(segment("1")), Some(TrayState::Recording)),
            (live(segment("2")), None),
            (ended("1"), None),
            (ended("2"), Some(TrayState::Idle)),
            (
                FeedEvent::Disconnected { error: unreachable },
                Some(TrayState::Error),
            ),
            (live(segment("3")), None),
            (FeedEvent::Connected, Some(TrayState::Recording)),
            (live(LiveEvent::Resync), Some(TrayState::Idle)),
        ];
        for (i, (event, want)) in steps.into_iter().enumerate() {
            assert_eq!(activity.apply(&event), want, "step {i}: {event:?}");
        }
    }

    #[test]
    fn each_state_has_its_own_png_icon() {
        let icons = [TrayState::Idle, TrayState::Recording, TrayState::Error].map(|s| s.icon_png());
        for icon in icons {
            assert_eq!(&icon[..8], b"\x89PNG\r\n\x1a\n");
        }
        assert_ne!(icons[0], icons[1]);
        assert_ne!(icons[1], icons[2]);
    }
}
