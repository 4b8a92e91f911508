//! Shared by the service's end-to-end tests: the server binary, publishers, a callback receiver.
#![allow(dead_code)] // each test binary uses part of this

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::{Json, Router};
use md5::{Digest, Md5};
use serde_json::Value;

pub struct ServerProcess {
    child: Child,
    pub http: String,
    pub rtmp: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// POSTs `body` as JSON to `path` (no token); the status and the JSON answer.
    pub async fn post_json(&self, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
        let res = http
            .post(format!("{}{path}", self.http))
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// Sends SIGTERM, as a service manager would, and waits for the process to exit.
    /// GETs `path` (no token) and parses the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.http))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        self.child.wait().expect("the server exits")
    }
}

/// An ffmpeg publishing test video and audio to `url` for `seconds`, in the background.
pub fn spawn_publisher(url: &str, seconds: u32) -> Child {
    ffmpeg_publish(url, seconds)
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg is installed (scripts/setup.sh)")
}

pub fn start_server(data: &Path, extra: &[&str]) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally-server"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--rtmp",
            "127.0.0.1:0",
            "--appid",
            "1400",
            "--bizid",
            "8888",
        ])
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tally-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addrs: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    ServerProcess {
        child,
        http: format!("http://{}", addrs["http"].as_str().unwrap()),
        rtmp: format!("rtmp://{}", addrs["rtmp"].as_str().unwrap()),
    }
}

/// Collects every callback body POSTed to it.
pub async fn callback_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

pub fn publish(url: &str, seconds: u32) {
    let status = ffmpeg_publish(url, seconds)
        .status()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success(), "ffmpeg publish failed");
}

fn ffmpeg_publish(url: &str, seconds: u32) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=320x240:rate=25:duration={seconds}"),
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:duration={seconds}"),
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-f",
            "flv",
            url,
        ]);
    cmd
}

pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}
