//! The tray icon: shows idle / recording / error at a glance and offers a small menu.
//!
//! The menu is computed from state by [`menu_entries`], a pure function, so it can be tested
//! without a desktop; [`install`] only turns it into Tauri objects.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

/// What the tray shows.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "recording and error states are set once the live view records"
    )
)]
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
    TrayIconBuilder::with_id("tally")
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
