//! Settings commands: which server the console talks to, kept in the app's data dir.

use std::path::PathBuf;

use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::http::{ConsoleInfo, TallyClient};
use tally_client::settings::{ConsoleSettings, RemoteServer};
use tauri::{AppHandle, Manager};

use crate::feed::Feed;
use crate::live::{Connection, Console};

/// Where the settings file is.
pub struct SettingsFile(pub PathBuf);

/// The connection the settings ask for, given the embedded one.
pub fn connection_for(settings: &ConsoleSettings, embedded: &Connection) -> Connection {
    match &settings.remote {
        Some(remote) => Connection {
            client: TallyClient::new(&remote.url, remote.token.clone()),
            rtmp_url: String::new(),
        },
        None => embedded.clone(),
    }
}

/// The saved settings.
#[tauri::command]
pub fn server_settings(file: tauri::State<'_, SettingsFile>) -> ConsoleSettings {
    ConsoleSettings::load(&file.0).for_window()
}

/// Switches to a remote server (after checking it answers and accepts the token) or back to
/// the embedded one (`remote: null`), and remembers the choice.
#[tauri::command]
pub async fn set_server(
    app: AppHandle,
    file: tauri::State<'_, SettingsFile>,
    console: tauri::State<'_, Console>,
    feed: tauri::State<'_, Feed>,
    remote: Option<RemoteServer>,
    lang: Lang,
) -> Result<ConsoleInfo, ApiError> {
    let bad = |e: tally_client::settings::SettingsError, code| {
        ApiError::with_detail(code, lang, &e.to_string())
    };
    let saved = ConsoleSettings::load(&file.0);
    let remote = remote
        .map(RemoteServer::normalized)
        .transpose()
        .map_err(|e| bad(e, ErrorCode::BadParameter))?
        .map(|r| r.with_saved_token(&saved));
    let settings = ConsoleSettings { remote };
    let connection = connection_for(&settings, &console.embedded());
    connection.client.with_lang(lang).verify().await?;
    settings
        .save(&file.0)
        .map_err(|e| bad(e, ErrorCode::Internal))?;
    console.switch(connection.clone());
    feed.follow(app.clone(), connection.client);
    // The library shows the new server's recordings without waiting for the next period.
    app.state::<crate::library::sync::LibrarySync>().sync_now();
    Ok(crate::live::console_info(console))
}
