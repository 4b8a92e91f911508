//! The Tally console: a thin Tauri shell over the `tally-*` crates.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod locale;
mod tray;

use tracing_subscriber::EnvFilter;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![locale::system_locale])
        .setup(|app| {
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
