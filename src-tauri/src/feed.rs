//! The server's live events inside the console: one follower per server connection, fanned
//! out to the window (over a Tauri `Channel`), the tray icon and desktop notifications.

use std::sync::Mutex;
use std::time::Instant;

use tally_client::http::TallyClient;
use tally_client::live::{follow, FeedEvent};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};

use crate::notify::{self, note_for, Coalescer};
use crate::tray::{self, Activity};

/// The running follower and the window's channel.
#[derive(Default)]
pub struct Feed {
    window: Mutex<Option<Channel<FeedEvent>>>,
    follower: Mutex<Option<JoinHandle<()>>>,
}

impl Feed {
    /// Follows `client`'s server from now on, replacing any earlier follower.
    pub fn follow(&self, app: AppHandle, client: TallyClient) {
        // Notifications follow the system's language; so do the server's error texts.
        let lang = crate::locale::system_lang();
        let client = client.with_lang(lang);
        let task = tauri::async_runtime::spawn(async move {
            let mut activity = Activity::default();
            let mut coalescer = Coalescer::default();
            follow(&client, |event| {
                if let Some(window) = lock(&app.state::<Feed>().window).as_ref() {
                    // A reloading window re-subscribes; a lost event there is not an error.
                    let _ = window.send(event.clone());
                }
                if let Some(state) = activity.apply(&event) {
                    tray::show(&app, state);
                }
                if let Some(note) = note_for(&event, lang)
                    .and_then(|note| coalescer.admit(note, Instant::now(), lang))
                {
                    notify::show(note);
                }
                true
            })
            .await
        });
        if let Some(old) = lock(&self.follower).replace(task) {
            old.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The window's live events: the present state, then every event from now on.
#[tauri::command]
pub fn watch_events(
    app: AppHandle,
    feed: tauri::State<'_, Feed>,
    console: tauri::State<'_, crate::live::Console>,
    on_event: Channel<FeedEvent>,
) {
    *lock(&feed.window) = Some(on_event);
    // A new connection starts with the present state, which the window has not seen yet.
    feed.follow(app, console.client());
}
