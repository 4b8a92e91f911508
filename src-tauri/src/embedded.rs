//! The recording service inside the console: a `tally-server` on loopback with data under the
//! app's data dir, and the demo room whose member publishes the bundled sample clip, so a
//! newcomer can record within a minute without OBS.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use tally_api::rooms::{Membership, RoomKind, Source};
use tally_api::ErrorCode;
use tally_client::http::TallyClient;
use tally_server::{FileConfig, Server, ServerConfig};

/// The demo room and its publishing member.
pub const DEMO_ROOM: &str = "demo";
pub const DEMO_USER: &str = "demo-anchor";

/// The first free loopback port of `ports`, or any free port when all are taken.
fn loopback_addr(ports: std::ops::Range<u16>) -> SocketAddr {
    ports
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .find(|addr| TcpListener::bind(addr).is_ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// RTMP on 1935, or the next free port when something else has it.
fn rtmp_addr() -> SocketAddr {
    loopback_addr(1935..1955)
}

/// The API on the same port from one run to the next when it is free: the library's cache
/// knows a server by its address, and the download URLs it holds name that address.
fn http_addr() -> SocketAddr {
    loopback_addr(18080..18100)
}

/// The embedded service and the token its API asks for.
pub struct Embedded {
    pub server: Server,
    /// Random for each launch and handed only to the console's own client: a web page or
    /// another local program cannot drive the API even though it listens on loopback.
    pub token: String,
}

/// Starts the embedded service on loopback, behind a fresh random token.
pub async fn start(data_dir: &Path) -> Result<Embedded, Box<dyn std::error::Error>> {
    let token = tally_server::signing::random_token()?;
    let server = start_with(data_dir, &token).await?;
    Ok(Embedded { server, token })
}

async fn start_with(data_dir: &Path, token: &str) -> Result<Server, Box<dyn std::error::Error>> {
    match start_on(data_dir, http_addr(), rtmp_addr(), token).await {
        Ok(server) => Ok(server),
        // Another process owns the data: other ports would not help.
        Err(err) if startup_error(err.as_ref()).0 == ErrorCode::DataDirInUse => Err(err),
        Err(err) => {
            // Another process can take a preferred port between our check and the bind.
            tracing::warn!(%err, "preferred ports unavailable; starting on any free ports");
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            start_on(data_dir, any, any, token).await
        }
    }
}

async fn start_on(
    data_dir: &Path,
    http: SocketAddr,
    rtmp: SocketAddr,
    token: &str,
) -> Result<Server, Box<dyn std::error::Error>> {
    let file = FileConfig {
        data: Some(data_dir.to_path_buf()),
        http: Some(http),
        rtmp: Some(rtmp),
        token: Some(token.to_owned()),
        ..FileConfig::default()
    };
    Ok(Server::start(ServerConfig::from_file(file)?).await?)
}

/// What the window shows when the built-in server could not start.
pub fn startup_error(err: &(dyn std::error::Error + 'static)) -> (ErrorCode, String) {
    use tally_server::data_lock::LockError;
    use tally_server::StartError;
    let code = match err.downcast_ref::<StartError>() {
        Some(StartError::DataDir(LockError::InUse { .. })) => ErrorCode::DataDirInUse,
        _ => ErrorCode::EmbeddedServerFailed,
    };
    (code, err.to_string())
}

/// Makes sure the demo room exists with its member, and keeps the sample clip publishing.
pub async fn start_demo(client: &TallyClient) -> Result<Membership, tally_api::ApiError> {
    match client.create_room(DEMO_ROOM, RoomKind::Multi).await {
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::RoomExists.as_u32() => {}
        Err(e) => return Err(e),
    }
    let member = client.join(DEMO_ROOM, DEMO_USER).await?;
    if let Some(camera) = member.push.iter().find(|p| p.source == Source::Camera) {
        let url = camera.url.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let clip = bytes::Bytes::from_static(tally_media::replay::SAMPLE_CLIP);
                if let Err(err) = tally_media::replay::replay(&url, clip, None).await {
                    tracing::warn!(%err, "demo publisher stopped; restarting in 3 s");
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        });
    }
    Ok(member)
}
