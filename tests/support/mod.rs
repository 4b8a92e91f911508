//! Launches the real `tally` binary under its own Xvfb display and D-Bus session, driven over
//! WebDriver (tauri-driver + WebKitWebDriver), and takes screenshots of the X display (the
//! WebDriver screenshot endpoint of WebKitWebDriver hangs under Xvfb).

#![allow(dead_code)] // each test binary uses a different part of this harness

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// A Tally server inside the test process, on loopback, for the console to use as its remote
/// server. `http` may be port 0.
pub async fn remote_server(
    data: &Path,
    http: std::net::SocketAddr,
    idle_timeout_s: Option<u64>,
) -> tally_server::Server {
    remote_server_with(tally_server::FileConfig {
        data: Some(data.to_path_buf()),
        http: Some(http),
        rtmp: Some(([127, 0, 0, 1], 0).into()),
        idle_timeout: idle_timeout_s,
        ..tally_server::FileConfig::default()
    })
    .await
}

/// A Tally server started in this process with exactly these settings.
pub async fn remote_server_with(file: tally_server::FileConfig) -> tally_server::Server {
    tally_server::Server::start(tally_server::ServerConfig::from_file(file).unwrap())
        .await
        .unwrap()
}

/// The console's `settings.json` pointing at the server on `addr`.
pub fn remote_settings(addr: std::net::SocketAddr) -> String {
    format!(r#"{{"remote": {{"url": "http://{addr}", "token": null}}}}"#)
}

/// Every regular file anywhere below `dir` (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Those of `files_under(dir)` that are MP4 files.
pub fn mp4s_under(dir: &Path) -> Vec<PathBuf> {
    let mut mp4s = files_under(dir);
    mp4s.retain(|p| p.extension().is_some_and(|e| e == "mp4"));
    mp4s
}

/// Where tests leave screenshots: `<repo>/artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An Xvfb server on a display number no one else uses.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        // Parallel tests race for display numbers: the loser's Xvfb exits and we try the next.
        for number in (100 + std::process::id() % 400)..1000 {
            if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
                continue;
            }
            let display = format!(":{number}");
            let mut child = Command::new("Xvfb")
                .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb is installed (scripts/setup.sh)");
            let socket = format!("/tmp/.X11-unix/X{number}");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if Path::new(&socket).exists() {
                    return Xvfb { child, display };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The console running under test, and a WebDriver session on its window.
pub struct Desktop {
    pub client: Client,
    driver: Child,
    xvfb: Xvfb,
    home: tempfile::TempDir,
    /// The built-in server's data dir, held by this test process (as another Tally would).
    _held: Option<tally_server::data_lock::DataDirLock>,
}

/// How to start the console.
pub struct Launch<'a> {
    /// The system locale the app sees (`LANG`).
    pub lang: &'a str,
    /// Files to put in the app's data dir before it starts (name, content).
    pub data_files: Vec<(&'a str, &'a [u8])>,
    /// A D-Bus session bus to run on (to watch what the app sends); by default each run
    /// gets a private one.
    pub session_bus: Option<&'a str>,
    /// Hold the built-in server's data dir before the app starts, as a second Tally process
    /// would.
    pub hold_server_data: bool,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            lang: "en_US.UTF-8",
            data_files: Vec::new(),
            session_bus: None,
            hold_server_data: false,
        }
    }
}

/// The console's data dir under a test home (Tauri's app_data_dir: XDG data + identifier).
pub fn app_data_dir(home: &Path) -> PathBuf {
    home.join("data/app.tally.console")
}

impl Desktop {
    /// Starts Xvfb, tauri-driver (in its own D-Bus session) and the app, and waits for the UI.
    pub async fn launch(launch: Launch<'_>) -> Desktop {
        let xvfb = Xvfb::start();
        let home = tempfile::tempdir().expect("temp home");
        let data_dir = app_data_dir(home.path());
        std::fs::create_dir_all(&data_dir).expect("data dir");
        for (name, content) in &launch.data_files {
            std::fs::write(data_dir.join(name), content).expect("seed data file");
        }
        let held = launch.hold_server_data.then(|| {
            tally_server::data_lock::DataDirLock::acquire(&data_dir.join("server"))
                .expect("the test takes the server's data dir")
        });
        let port = free_port();
        let native_port = free_port();
        let mut driver = match launch.session_bus {
            Some(address) => {
                let mut driver = Command::new("tauri-driver");
                driver.env("DBUS_SESSION_BUS_ADDRESS", address);
                driver
            }
            None => {
                let mut driver = Command::new("dbus-run-session");
                driver.args(["--", "tauri-driver"]);
                driver
            }
        };
        let driver = driver
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("DISPLAY", &xvfb.display)
            .env("LANG", launch.lang)
            .env("LANGUAGE", launch.lang.split('.').next().unwrap_or("en_US"))
            .env("LC_ALL", launch.lang)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("NO_AT_BRIDGE", "1")
            .env("GDK_BACKEND", "x11")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the session bus, the driver and the app end together.
            .process_group(0)
            .spawn()
            .expect("tauri-driver is installed (scripts/setup.sh)");
        wait_until("tauri-driver", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });

        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": env!("CARGO_BIN_EXE_tally") }),
        );
        // tauri-driver listens before WebKitWebDriver behind it does: retry until both answer.
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    eprintln!("WebDriver not ready yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("WebDriver session with the tally window: {e}"),
            }
        };
        let desktop = Desktop {
            client,
            driver,
            xvfb,
            home,
            _held: held,
        };
        desktop.wait_for_text("[data-testid=page-title]").await;
        desktop
    }

    /// The text of the first element matching `css`, once it has some.
    pub async fn wait_for_text(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
        element.text().await.expect("element text")
    }

    /// The text of `css` once it equals `expected` (the UI updates asynchronously).
    pub async fn expect_text(&self, css: &str, expected: &str) {
        let start = Instant::now();
        loop {
            let text = self.wait_for_text(css).await;
            if text == expected {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{css}: expected {expected:?}, the window shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css` once it contains `needle`.
    pub async fn wait_for_text_containing(
        &self,
        css: &str,
        needle: &str,
        timeout: Duration,
    ) -> String {
        let start = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < timeout,
                "{css}: expected text containing {needle:?}, the window shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} not found: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Joins `room` as `user` in the live view and returns the camera's push URL.
    pub async fn join(&self, room: &str, user: &str) -> String {
        self.type_into("[data-testid=live-room]", room).await;
        self.type_into("[data-testid=live-user]", user).await;
        self.click("[data-testid=live-join]").await;
        self.wait_for_text("[data-testid=push-camera] code").await
    }

    /// Types `text` into the input matching `css`, replacing what it held.
    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} not found: {e}"));
        input
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Polls the script `js` (its `return` value) until it is truthy; returns that value.
    pub async fn wait_for_script(
        &self,
        what: &str,
        js: &str,
        timeout: Duration,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let value = self.client.execute(js, vec![]).await.unwrap_or_default();
            let truthy = match &value {
                serde_json::Value::Null => false,
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                serde_json::Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                start.elapsed() < timeout,
                "{what}: still {value} after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a PNG of the whole X display to `artifacts/<name>.png` and returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let path = artifacts_dir().join(format!("{name}.png"));
        let window = self.window_id().unwrap_or_else(|| "root".to_owned());
        let status = Command::new("import")
            .args(["-display", &self.xvfb.display, "-window", &window])
            .arg(&path)
            .status()
            .expect("imagemagick's import is installed (scripts/setup.sh)");
        assert!(status.success(), "screenshot failed");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// The console's data dir for this run.
    pub fn data_dir(&self) -> PathBuf {
        app_data_dir(self.home.path())
    }

    /// The X id of the console's top-level window, from `xwininfo`.
    fn window_id(&self) -> Option<String> {
        let out = Command::new("xwininfo")
            .args(["-display", &self.xvfb.display, "-name", "Tally"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.contains("Window id:"))?;
        line.split_whitespace()
            .find(|w| w.starts_with("0x"))
            .map(str::to_owned)
    }

    /// Ends the WebDriver session (which closes the app) and the helpers.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
