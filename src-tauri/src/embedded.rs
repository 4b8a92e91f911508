//! The recording service inside the console: a `tally-server` on loopback with data under the
//! app's data dir, and the demo room whose member publishes the bundled sample clip once the
//! room is joined, so a newcomer can record within a minute without OBS.

use std::net::{SocketAddr, TcpListener, UdpSocket};
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

/// SRT (UDP) on 9000, or the next free port.
fn srt_addr() -> SocketAddr {
    (9000..9020)
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .find(|addr| UdpSocket::bind(addr).is_ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
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
    match start_on(data_dir, http_addr(), rtmp_addr(), srt_addr(), token).await {
        Ok(server) => Ok(server),
        // Another process owns the data: other ports would not help.
        Err(err) if startup_error(err.as_ref()).0 == ErrorCode::DataDirInUse => Err(err),
        Err(err) => {
            // Another process can take a preferred port between our check and the bind.
            tracing::warn!(%err, "preferred ports unavailable; starting on any free ports");
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            start_on(data_dir, any, any, any, token).await
        }
    }
}

async fn start_on(
    data_dir: &Path,
    http: SocketAddr,
    rtmp: SocketAddr,
    srt: SocketAddr,
    token: &str,
) -> Result<Server, Box<dyn std::error::Error>> {
    let file = FileConfig {
        data: Some(data_dir.to_path_buf()),
        http: Some(http),
        rtmp: Some(rtmp),
        srt: Some(srt.to_string()),
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

/// Makes sure the demo room exists with its member, whose camera `publisher` then pushes.
pub async fn prepare_demo(
    client: &TallyClient,
    publisher: &DemoPublisher,
) -> Result<Membership, tally_api::ApiError> {
    match client.create_room(DEMO_ROOM, RoomKind::Multi).await {
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::RoomExists.as_u32() => {}
        Err(e) => return Err(e),
    }
    let member = client.join(DEMO_ROOM, DEMO_USER).await?;
    if let Some(camera) = member.push.iter().find(|p| p.source == Source::Camera) {
        publisher.push_to(camera.url.clone());
    }
    Ok(member)
}

/// The demo member's publisher of the bundled clip. It starts when someone joins the demo room
/// and then keeps publishing: an idle console spends no CPU or memory on a stream nobody
/// watches (docs/memory.md).
#[derive(Default)]
pub struct DemoPublisher(std::sync::Mutex<DemoState>);

#[derive(Default)]
struct DemoState {
    url: Option<String>,
    wanted: bool,
    started: bool,
}

impl DemoPublisher {
    /// Where the demo member pushes, once the room is ready.
    pub fn push_to(&self, url: String) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.url = Some(url);
        state.start_if_due();
    }

    /// Someone joined the demo room: publish (at once, or as soon as the room is ready).
    pub fn wanted(&self) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.wanted = true;
        state.start_if_due();
    }
}

impl DemoState {
    /// The URL to start publishing to, once: when the room is both ready and wanted.
    fn due(&mut self) -> Option<String> {
        let url = self.url.clone().filter(|_| self.wanted && !self.started)?;
        self.started = true;
        Some(url)
    }

    fn start_if_due(&mut self) {
        let Some(url) = self.due() else {
            return;
        };
        tracing::info!("demo room joined: its member starts publishing the sample clip");
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
}

#[cfg(test)]
mod tests {
    use super::DemoState;

    #[test]
    fn the_demo_publishes_once_when_its_room_is_both_ready_and_joined() {
        let mut joined_first = DemoState {
            wanted: true,
            ..DemoState::default()
        };
        assert_eq!(joined_first.due(), None, "the room is not ready yet");
        joined_first.url = Some("rtmp://demo".into());
        assert_eq!(joined_first.due().as_deref(), Some("rtmp://demo"));
        assert_eq!(joined_first.due(), None, "already publishing");

        let mut idle = DemoState {
            url: Some("rtmp://demo".into()),
            ..DemoState::default()
        };
        assert_eq!(idle.due(), None, "nobody joined: nothing publishes");
        idle.wanted = true;
        assert_eq!(idle.due().as_deref(), Some("rtmp://demo"));
    }
}
