//! The tray icon: shows idle / recording / error at a glance and offers a small menu.
//!
//! The menu is computed from state by [`menu_entries`], a pure function, so it can be tested
//! without a desktop; [`install`] only turns it into Tauri objects.

use std::collections::BTreeSet;

use tally_api::events::LiveEvent;
use tally_api::Lang;
use tally_client::live::FeedEvent;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_opener::OpenerExt;

use crate::live::Console;

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
pub fn show(app: &AppHandle, state: TrayState) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let shown = Image::from_bytes(state.icon_png())
        .and_then(|icon| tray.set_icon(Some(icon)))
        .and_then(|()| tray.set_tooltip(Some(state.tooltip())))
        .and_then(|()| tray.set_menu(Some(build_menu(app, state)?)));
    if let Err(err) = shown {
        tracing::warn!(%err, "updating the tray icon failed");
    }
}

const TRAY_ID: &str = "tally";

/// One action of the tray menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayAction {
    ShowWindow,
    /// Record the source recorded last again.
    StartLast,
    /// Stop recording the source recorded last.
    StopLast,
    OpenRecordings,
    Quit,
}

impl TrayAction {
    const ALL: [TrayAction; 5] = [
        TrayAction::ShowWindow,
        TrayAction::StartLast,
        TrayAction::StopLast,
        TrayAction::OpenRecordings,
        TrayAction::Quit,
    ];

    fn id(self) -> &'static str {
        match self {
            TrayAction::ShowWindow => "show",
            TrayAction::StartLast => "start-last",
            TrayAction::StopLast => "stop-last",
            TrayAction::OpenRecordings => "open-recordings",
            TrayAction::Quit => "quit",
        }
    }

    fn from_id(id: &str) -> Option<TrayAction> {
        TrayAction::ALL.into_iter().find(|a| a.id() == id)
    }

    fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (TrayAction::ShowWindow, Lang::En) => "Show Tally",
            (TrayAction::ShowWindow, Lang::ZhCn) => "显示 Tally",
            (TrayAction::StartLast, Lang::En) => "Record the last source again",
            (TrayAction::StartLast, Lang::ZhCn) => "再次录制上一个视频源",
            (TrayAction::StopLast, Lang::En) => "Stop recording",
            (TrayAction::StopLast, Lang::ZhCn) => "停止录制",
            (TrayAction::OpenRecordings, Lang::En) => "Open recordings folder",
            (TrayAction::OpenRecordings, Lang::ZhCn) => "打开录制文件夹",
            (TrayAction::Quit, Lang::En) => "Quit",
            (TrayAction::Quit, Lang::ZhCn) => "退出",
        }
    }
}

/// The menu for a state, top to bottom. Record/Stop appears once something was recorded.
pub fn menu_entries(state: TrayState, last_source: bool) -> Vec<TrayAction> {
    let mut entries = vec![TrayAction::ShowWindow];
    if last_source {
        entries.push(if state == TrayState::Recording {
            TrayAction::StopLast
        } else {
            TrayAction::StartLast
        });
    }
    entries.extend([TrayAction::OpenRecordings, TrayAction::Quit]);
    entries
}

fn build_menu(app: &AppHandle, state: TrayState) -> tauri::Result<Menu<Wry>> {
    let lang = crate::locale::system_lang();
    let last_source = app.state::<Console>().last_start().is_some();
    let menu = Menu::new(app)?;
    for action in menu_entries(state, last_source) {
        menu.append(&MenuItem::with_id(
            app,
            action.id(),
            action.label(lang),
            true,
            None::<&str>,
        )?)?;
    }
    Ok(menu)
}

/// Puts the tray icon up in the idle state.
pub fn install(app: &AppHandle) -> tauri::Result<TrayIcon> {
    let state = TrayState::Idle;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(state.icon_png())?)
        .tooltip(state.tooltip())
        .menu(&build_menu(app, state)?)
        .on_menu_event(|app, event| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                act(app, action);
            }
        })
        .build(app)
}

fn act(app: &AppHandle, action: TrayAction) {
    match action {
        TrayAction::ShowWindow => {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.show();
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }
        TrayAction::StartLast | TrayAction::StopLast => {
            let Some(mut request) = app.state::<Console>().last_start() else {
                return;
            };
            if action == TrayAction::StopLast {
                request.op = Some("stop".into());
            }
            let client = app.state::<Console>().client();
            tauri::async_runtime::spawn(async move {
                // The outcome reaches the window and the tray as live events; a failure is
                // a notification, since the window may be hidden.
                if let Err(error) = client.record(&request).await {
                    let lang = crate::locale::system_lang();
                    crate::notify::show(crate::notify::error_note(&error, lang));
                }
            });
        }
        TrayAction::OpenRecordings => {
            let folder = if app.state::<Console>().is_embedded() {
                app.path()
                    .app_data_dir()
                    .map(|d| d.join("server").join("vod"))
            } else {
                crate::library::downloads::downloads_dir(app)
            };
            let opened = folder.map_err(|e| e.to_string()).and_then(|dir| {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                app.opener()
                    .open_path(dir.to_string_lossy(), None::<&str>)
                    .map_err(|e| e.to_string())
            });
            if let Err(err) = opened {
                tracing::warn!(%err, "opening the recordings folder failed");
            }
        }
        TrayAction::Quit => app.exit(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_api::events::SegmentStatus;
    use tally_api::{ApiError, ErrorCode};

    #[test]
    fn the_menu_offers_record_or_stop_of_the_last_source_once_there_is_one() {
        use TrayAction::*;
        for state in [TrayState::Idle, TrayState::Recording, TrayState::Error] {
            assert_eq!(
                menu_entries(state, false),
                [ShowWindow, OpenRecordings, Quit]
            );
        }
        assert_eq!(
            menu_entries(TrayState::Idle, true),
            [ShowWindow, StartLast, OpenRecordings, Quit]
        );
        assert_eq!(
            menu_entries(TrayState::Error, true),
            [ShowWindow, StartLast, OpenRecordings, Quit]
        );
        assert_eq!(
            menu_entries(TrayState::Recording, true),
            [ShowWindow, StopLast, OpenRecordings, Quit]
        );
    }

    #[test]
    fn menu_ids_round_trip_and_labels_exist_in_both_languages() {
        for action in TrayAction::ALL {
            assert_eq!(TrayAction::from_id(action.id()), Some(action));
            assert_ne!(action.label(Lang::En), action.label(Lang::ZhCn));
        }
        assert_eq!(TrayAction::from_id("nope"), None);
    }

    fn segment(recording_id: &str) -> LiveEvent {
        LiveEvent::SegmentOpened(SegmentStatus::opened(
            recording_id.into(),
            "s".into(),
            tally_api::recordings::FileFormat::Mp4,
            "vod/f.mp4".into(),
            0,
        ))
    }

    fn live(event: LiveEvent) -> FeedEvent {
        FeedEvent::Live { event }
    }

    fn ended(recording_id: &str) -> FeedEvent {
        live(LiveEvent::RecordingEnded {
            recording_id: recording_id.into(),
            stream_code: "s".into(),
            reason: tally_api::events::EndReason::Stopped,
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
