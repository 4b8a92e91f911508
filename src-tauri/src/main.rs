//! The Tally console: a thin Tauri shell over the `tally-*` crates.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod embedded;
mod feed;
mod library;
mod live;
mod locale;
mod notify;
mod settings;
mod tray;
mod usage;

use std::sync::Mutex;

use tally_client::http::TallyClient;
use tauri::Manager;
use tracing_subscriber::EnvFilter;

/// The embedded service, finalized when the console exits.
struct EmbeddedServer(Mutex<Option<tally_server::Server>>);

fn main() {
    // The window's script is a small UI that JavaScriptCore's interpreter runs fast enough;
    // its JIT costs the web process about 6 MB at idle (docs/memory.md). Set before any thread
    // starts: WebKit's processes inherit the environment. `JSC_useJIT=true` brings it back.
    if std::env::var_os("JSC_useJIT").is_none() {
        std::env::set_var("JSC_useJIT", "false");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(commands::handler())
        .setup(|app| {
            let data_dir = app.path().app_data_dir()?;
            let library = tauri::async_runtime::block_on(library::Library::open(&data_dir))?;
            app.manage(library);

            // A server that cannot start (another Tally owns its data, say) is shown in the
            // window; the console still opens and can use a remote server.
            let (server, startup_error) =
                match tauri::async_runtime::block_on(embedded::start(&data_dir.join("server"))) {
                    Ok(embedded) => (Some(embedded), None),
                    Err(err) => {
                        tracing::error!(%err, "the built-in Tally server did not start");
                        (None, Some(embedded::startup_error(err.as_ref())))
                    }
                };
            let embedded = match &server {
                Some(e) => live::Connection {
                    client: TallyClient::new(
                        &format!("http://{}", e.server.http_addr()),
                        Some(e.token.clone()),
                    ),
                    rtmp_url: format!("rtmp://{}/live", e.server.rtmp_addr()),
                },
                // Port 0 answers nothing: calls fail as "server unreachable".
                None => live::Connection {
                    client: TallyClient::new("http://127.0.0.1:0", None),
                    rtmp_url: String::new(),
                },
            };
            let demo = std::sync::Arc::new(embedded::DemoPublisher::default());
            if server.is_some() {
                tracing::info!(api = embedded.client.base_url(), rtmp = %embedded.rtmp_url, "embedded Tally server running");
                let (demo_client, demo) = (embedded.client.clone(), demo.clone());
                tauri::async_runtime::spawn(async move {
                    if let Err(err) = embedded::prepare_demo(&demo_client, &demo).await {
                        tracing::warn!(%err, "demo room unavailable");
                    }
                });
            }
            let settings_file = data_dir.join("settings.json");
            let saved = tally_client::settings::ConsoleSettings::load(&settings_file);
            let current = settings::connection_for(&saved, &embedded);
            // Managed before it follows: the follower reads it back from the app's state.
            app.manage(feed::Feed::default());
            app.state::<feed::Feed>()
                .follow(app.handle().clone(), current.client.clone());
            app.manage(live::Console::new(embedded, current, startup_error, demo));
            app.manage(settings::SettingsFile(settings_file));
            app.manage(EmbeddedServer(Mutex::new(server.map(|e| e.server))));
            library::sync::start(app.handle());

            // A missing tray host (some desktops, Xvfb) must not stop the console.
            if let Err(err) = tray::install(app.handle()) {
                tracing::warn!(%err, "tray icon unavailable");
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(%err, "the console could not start");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Finalize open recordings so nothing recorded is left as a .part file.
            let server = handle
                .state::<EmbeddedServer>()
                .0
                .lock()
                .ok()
                .and_then(|mut s| s.take());
            if let Some(server) = server {
                tauri::async_runtime::block_on(server.shutdown());
            }
        }
    });
}
