//! Property tests of the HTTP API from its own OpenAPI document: schemathesis (installed into
//! `.venv` by `scripts/setup.sh`) generates valid and invalid requests for every operation,
//! walks the links between them (create a room, join it, record) and checks every answer: no
//! 5xx, every status and body as documented, invalid input refused, valid input accepted, a
//! missing token refused, an undocumented method answered 405.
//!
//! The suite runs a bounded number of examples with a fixed seed; `scripts/api-fuzz.sh` runs
//! many more with a random one (`TALLY_API_FUZZ_EXAMPLES`, `TALLY_API_FUZZ_SEED`).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{publish, spawn_publisher, start_server};

const TOKEN: &str = "api-fuzz-token-0123456789";

fn schemathesis() -> PathBuf {
    std::env::var_os("TALLY_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../.venv/bin/schemathesis")
        })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The run's configuration: real file IDs for the routes that need one (half of the time, so
/// made-up ones are tried too), one event read from the live stream.
fn config(dir: &Path, file_ids: &[String]) -> PathBuf {
    let values = serde_json::to_string(file_ids).unwrap();
    let toml = format!(
        "request-timeout = 10\n\
         max-stream-events = 1\n\
         [dictionaries.recordings]\n\
         values = {values}\n\
         [parameters]\n\
         \"path.file_id\" = {{ dictionary = \"recordings\", probability = 0.5 }}\n"
    );
    let path = dir.join("schemathesis.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_as_its_document_says() {
    let st = schemathesis();
    assert!(
        st.exists(),
        "{} is missing: run scripts/setup.sh (it installs schemathesis into .venv)",
        st.display()
    );
    let data = tempfile::tempdir().unwrap();
    let token_file = data.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = start_server(
        data.path().join("server").as_path(),
        &["--token-file", token_file.to_str().unwrap()],
    )
    .with_token(TOKEN);

    // Recordings to look up, and a live stream, so the event stream has something to say.
    let push = format!("{}/live/8888_fuzz?record=flv,mp4,hls", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 3))
        .await
        .unwrap();
    let rows = server.wait_recordings(3).await;
    let file_ids: Vec<String> = rows
        .iter()
        .map(|r| r["file_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(file_ids.len(), 3, "{rows:?}");
    let mut live = spawn_publisher(&format!("{}/live/8888_fuzz_live", server.rtmp), 600);

    let examples = env_or("TALLY_API_FUZZ_EXAMPLES", "15");
    let seed = env_or("TALLY_API_FUZZ_SEED", "20261202");
    let mut cmd = Command::new(&st);
    // Its cache goes in the temporary directory, not the checkout.
    cmd.current_dir(data.path())
        .arg("--config-file")
        .arg(config(data.path(), &file_ids))
        .arg("run")
        .arg(format!("{}/v1/openapi.json", server.http))
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--checks", "all", "--max-examples", &examples])
        .arg("--no-color");
    if seed != "random" {
        cmd.args(["--seed", &seed]);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("schemathesis runs");
    let _ = live.kill();
    let _ = live.wait();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found failures (above)");
    // It really ran: every operation, and a fair number of cases.
    let doc = server.get_json("/v1/openapi.json").await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert!(
        report.contains(&format!("Tested: {operations}")),
        "not all {operations} operations were tested"
    );
    let generated: u32 = report
        .lines()
        .find_map(|l| l.trim().split_once(" generated").map(|(n, _)| n.to_owned()))
        .and_then(|n| n.trim().parse().ok())
        .expect("the report counts its test cases");
    assert!(generated >= 100, "only {generated} test cases");
}
