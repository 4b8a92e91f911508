//! The shipped service files: the systemd unit passes `systemd-analyze verify`, the command it
//! runs (its ExecStart, environment and credential, on the sample `tally.toml`) serves with a
//! token and finishes an open recording on SIGTERM within its TimeoutStopSec, and
//! `check-config` accepts the sample and refuses bad configurations with a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{ffprobe_plays, spawn_publisher, start_command};

const BIN: &str = env!("CARGO_BIN_EXE_tally-server");

fn packaging(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../packaging")
        .join(name)
}

fn unit_text() -> String {
    std::fs::read_to_string(packaging("tally-server.service")).expect("the unit file")
}

/// Every value of `key=` in the unit, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

fn check_config(args: &[&str], token_file: Option<&Path>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("check-config").args(args).env_remove("TALLY_TOKEN");
    match token_file {
        Some(path) => cmd.env("TALLY_TOKEN_FILE", path),
        None => cmd.env_remove("TALLY_TOKEN_FILE"),
    };
    cmd.output().expect("tally-server runs")
}

#[test]
fn the_unit_passes_systemd_analyze_verify_and_is_sandboxed() {
    let unit = unit_text();
    for (key, want) in [
        ("User", "tally"),
        ("StateDirectory", "tally"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("LoadCredential", "token:/etc/tally/token"),
        ("Environment", "TALLY_TOKEN_FILE=%d/token"),
    ] {
        assert_eq!(unit_values(&unit, key), [want], "{key}= in the unit");
    }
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tally-server.service");
    std::fs::write(&copy, unit.replace("/usr/bin/tally-server", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze is installed (scripts/setup.sh installs systemd)");
    let said = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on unknown keys too, only warning: any word from it is a failure.
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_units_command_serves_and_finishes_files_on_sigterm_in_time() {
    let unit = unit_text();
    let exec = unit_values(&unit, "ExecStart").remove(0);
    let stop_limit: u64 = unit_values(&unit, "TimeoutStopSec")[0].parse().unwrap();

    // The unit's paths, moved into a temporary root: config, state and credentials.
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc");
    let state = root.path().join("state");
    let creds = root.path().join("credentials");
    for dir in [&etc, &state, &creds] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::copy(packaging("tally.toml"), etc.join("tally.toml")).unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    std::fs::write(creds.join("token"), format!("{token}\n")).unwrap();
    let exec = exec
        .replace("/usr/bin/tally-server", BIN)
        .replace("/etc/tally", etc.to_str().unwrap())
        .replace("/var/lib/tally", state.to_str().unwrap());
    let mut words = exec.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap());
    cmd.args(words)
        // Loopback ports of its own instead of the sample's 0.0.0.0:8080 and :1935.
        .args(["--http", "127.0.0.1:0", "--rtmp", "127.0.0.1:0"]);
    for env in unit_values(&unit, "Environment") {
        let (key, value) = env.split_once('=').unwrap();
        cmd.env(key, value.replace("%d", creds.to_str().unwrap()));
    }
    let mut server = start_command(cmd).with_token(token);

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let anonymous = http
        .get(format!("{}/v1/version", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "the credential's token guards the API"
    );
    let version = server.get_json("/v1/version").await;
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["name"], "tally-server");

    // The sample records MP4 when a push URL names no format.
    let code = "8888_0c1d2e3a4b5c6d7e8f9012345678901a";
    let mut publisher = spawn_publisher(&format!("{}/live/{code}", server.rtmp), 30);
    let vod = state.join("vod");
    let until = Instant::now() + Duration::from_secs(15);
    while !tally_testkit::files::walk(&vod)
        .iter()
        .any(|p| p.to_string_lossy().ends_with(".part") && p.metadata().unwrap().len() > 20_000)
    {
        assert!(
            Instant::now() < until,
            "no recording opened: {:?}",
            tally_testkit::files::walk(&vod)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stopped_at = Instant::now();
    let status = server.terminate();
    let took = stopped_at.elapsed();
    let _ = publisher.kill();
    let _ = publisher.wait();
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert!(
        took < Duration::from_secs(stop_limit),
        "SIGTERM took {took:?}, past TimeoutStopSec"
    );
    let files = tally_testkit::files::walk(&vod);
    assert!(
        !files.iter().any(|p| p.to_string_lossy().ends_with(".part")),
        "{files:?}"
    );
    let mp4: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(mp4.len(), 1, "{files:?}");
    assert!(ffprobe_plays(mp4[0]));
}

#[test]
fn check_config_prints_what_the_sample_resolves_to() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token-value\n").unwrap();
    let sample = packaging("tally.toml");
    let out = check_config(&["--config", sample.to_str().unwrap()], Some(&token_file));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "data = \"/var/lib/tally\"",
        "http = \"0.0.0.0:8080\"",
        "record = \"mp4\"",
        "idle_timeout = 60",
        "max_http_connections = 2048",
        "posters = true",
        "# token: set (hidden)",
        "# push_key: not set",
    ] {
        assert!(
            said.lines().any(|l| l == line),
            "missing {line:?} in:\n{said}"
        );
    }
    assert!(!said.contains("s3cret"), "the token is shown:\n{said}");
    // What it prints is itself a valid tally.toml that resolves the same way.
    let again = dir.path().join("resolved.toml");
    std::fs::write(&again, said.as_bytes()).unwrap();
    let out = check_config(&["--config", again.to_str().unwrap()], Some(&token_file));
    assert_eq!(String::from_utf8_lossy(&out.stdout), said);
}

#[test]
fn check_config_refuses_a_bad_config_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("idel_timeout = 30\n", "unknown field `idel_timeout`"),
        ("record = \"flv,avi\"\n", "unknown record format \"avi\""),
        (
            "callback_url = \"ftp://biz.example.com/cb\"\n",
            "must be an http:// or https:// URL",
        ),
        ("http = \"0.0.0.0:8080\"\n", "set a token"),
        ("http = \"localhost\"\n", "invalid socket address"),
        ("appid = -1\n", "appid"),
    ];
    for (i, (text, reason)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = check_config(&["--config", path.to_str().unwrap()], None);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text:?} accepted: {said}");
        assert!(out.stdout.is_empty(), "{text:?} printed a config");
        assert!(
            said.contains(reason),
            "{text:?}: {said:?} does not say {reason:?}"
        );
    }
    // A config file that is not there is named.
    let out = check_config(&["--config", "/nonexistent/tally.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/tally.toml"));
}
