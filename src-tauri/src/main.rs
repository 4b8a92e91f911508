//! The Tally console: a thin Tauri shell over the `tally-*` crates.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod library;
mod locale;
mod tray;

use tauri::Manager;
use tracing_subscriber::EnvFilter;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            locale::system_locale,
            library::search_recordings,
            library::library_status,
        ])
        .setup(|app| {
            let data_dir = app.path().app_data_dir()?;
            let library = tauri::async_runtime::block_on(library::Library::open(&data_dir))?;
            app.manage(library);
            // A missing tray host (some desktops, Xvfb) must not stop the console.
            if let Err(err) = tray::install(app.handle()) {
                tracing::warn!(%err, "tray icon unavailable");
            }
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(err) = result {
        tracing::error!(%err, "the console stopped with an error");
        std::process::exit(1);
    }
}
