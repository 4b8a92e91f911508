//! A `tally-server` child process: started with port 0, its chosen addresses read from the
//! one JSON line it prints, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server.
pub struct ServerProcess {
    child: Child,
    /// `http://host:port`.
    pub http: String,
    /// `rtmp://host:port`.
    pub rtmp: String,
    /// `srt://host:port`, when the server takes SRT.
    pub srt: Option<String>,
    /// Sent as the bearer token by the helpers below, once set with [`ServerProcess::with_token`].
    token: Option<String>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command for `bin serve` on `data` with loopback port 0 and the test appid / bizid.
pub fn serve_command(bin: &Path, data: &Path, extra: &[&str]) -> Command {
    serve_command_on(bin, data, "127.0.0.1:0", extra)
}

/// [`serve_command`] with the API on `http` (to come back on the same port after a restart).
pub fn serve_command_on(bin: &Path, data: &Path, http: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "serve",
        "--http",
        http,
        "--rtmp",
        "127.0.0.1:0",
        "--srt",
        "127.0.0.1:0",
    ])
    .args(["--appid", "1400", "--bizid", "8888"])
    .arg("--data")
    .arg(data)
    .args(extra);
    // The whole server suite also runs on PostgreSQL (scripts/with-postgres.sh).
    if !extra.contains(&"--index") {
        if let Some(url) = crate::postgres::index_url(data) {
            cmd.arg("--index").arg(url);
        }
    }
    cmd
}

/// Starts `bin serve` (see [`serve_command`]) and waits for its address line.
pub fn start_server(bin: &Path, data: &Path, extra: &[&str]) -> ServerProcess {
    start_command(serve_command(bin, data, extra))
}

/// Starts a prepared `serve` command and waits for its address line.
pub fn start_command(mut cmd: Command) -> ServerProcess {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tally-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("reads the address line");
    let addrs: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("tally-server did not print its addresses ({line:?}): {e}"));
    ServerProcess {
        child,
        http: format!("http://{}", addrs["http"].as_str().expect("http address")),
        rtmp: format!("rtmp://{}", addrs["rtmp"].as_str().expect("rtmp address")),
        srt: addrs["srt"].as_str().map(|a| format!("srt://{a}")),
        token: None,
    }
}

impl ServerProcess {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The helpers send `token` from now on (a server started with one).
    pub fn with_token(mut self, token: &str) -> ServerProcess {
        self.token = Some(token.to_owned());
        self
    }

    /// POSTs `body` as JSON to `path` (no token); the status and the JSON answer.
    pub async fn post_json(&self, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
        let res = http
            .post(format!("{}{path}", self.http))
            .json(&body)
            .send()
            .await
            .expect("request sent");
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    /// Creates the multi-person room `room` (channel mode records only those).
    pub async fn create_multi_room(&self, http: &reqwest::Client, room: &str) {
        let body = serde_json::json!({"room_id": room, "kind": "multi"});
        let (status, answer) = self.post_json(http, "/v1/rooms", body).await;
        assert_eq!(status, 200, "creating room {room}: {answer}");
    }

    /// GETs `path` (with the token, if set) and parses the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.http));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// Polls the recordings until at least `n` are listed (or 10 s pass); returns them.
    pub async fn wait_recordings(&self, n: usize) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let rows = self.recordings().await;
            if rows.len() >= n || Instant::now() > until {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every recording the server lists (all pages).
    pub async fn recordings(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self
                .get_json(&format!("/v1/recordings?limit=1000{cursor}"))
                .await;
            out.extend(page["recordings"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return out,
            }
        }
    }

    /// Sends SIGTERM, as a service manager would, and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        self.child.wait().expect("the server exits")
    }

    /// Waits up to `limit` for the process to exit on its own (a crash point, say).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}
