//! No recording is lost: an index locked by another process, an index deleted or damaged, a
//! second server on the same data dir, and the seed's crash case in channel mode. On
//! PostgreSQL the lock is a table lock and the deletion a dropped database.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{finished_files, publish, serve_command, spawn_publisher, start_server};
use reqwest::Client;
use serde_json::{json, Value};
use tally_testkit::{postgres, ServerProcess};

async fn wait_rows(server: &ServerProcess, want: usize) -> Vec<Value> {
    server.wait_recordings(want).await
}

/// The fields a rebuilt index must give back, by file id.
fn identity(rows: &[Value]) -> BTreeMap<String, Value> {
    rows.iter()
        .map(|r| {
            let keep = [
                "room_id",
                "user_id",
                "file_name",
                "record_id",
                "tags",
                "format",
            ];
            let mut fields: serde_json::Map<String, Value> = keep
                .iter()
                .map(|k| (k.to_string(), r[*k].clone()))
                .collect();
            // The port changes from one run to the next; the path does not.
            fields.insert(
                "path".into(),
                common::vod_path(r["url"].as_str().unwrap()).into(),
            );
            (
                r["file_id"].as_str().unwrap().to_owned(),
                Value::Object(fields),
            )
        })
        .collect()
}

/// Every finished file on disk has exactly one row.
fn assert_one_row_per_file(data: &Path, rows: &[Value]) {
    for file in finished_files(data) {
        let n = rows
            .iter()
            .filter(|r| format!("vod/{}", common::vod_path(r["url"].as_str().unwrap())) == file)
            .count();
        assert_eq!(n, 1, "{file} has {n} rows");
    }
}

async fn member(http: &Client, server: &ServerProcess, room: &str, user: &str) -> String {
    let (status, _) = server
        .post_json(http, "/v1/rooms", json!({"room_id": room, "kind": "multi"}))
        .await;
    assert!(status == 200 || status == 409, "room: {status}");
    let (status, member) = server
        .post_json(
            http,
            &format!("/v1/rooms/{room}/members"),
            json!({"user_id": user}),
        )
        .await;
    assert_eq!(status, 200, "{member}");
    common::camera_url(&member)
}

fn record_op(op: &str, room: &str, user: &str) -> Value {
    json!({"op": op, "room_id": room, "user_id": user, "file_name": "第一课", "class_id": 0,
        "tags": ["math", "grade 3"], "record_type": "video", "source": "camera", "sdk_type": "normal"})
}

#[tokio::test(flavor = "multi_thread")]
async fn files_closed_while_another_process_locks_the_index_are_indexed_once_it_lets_go() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    // Another process takes the index's write lock and holds it for 12 s.
    let mut locker = if postgres::enabled() {
        postgres::spawn_psql(
            data.path(),
            // Nothing more is printed: the test stops reading after "locked".
            "BEGIN;\nLOCK TABLE recordings, callbacks IN EXCLUSIVE MODE;\nSELECT 'locked';\n\
             \\o /dev/null\nSELECT pg_sleep(12);\nCOMMIT;\n",
        )
    } else {
        Command::new("python3")
            .args(["-c", "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(12)\nc.execute('COMMIT')"])
            .arg(data.path().join("index.db"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs")
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let push = format!(
        "{}/live/8888_locked?record=flv,mp4,hls&recordId=r1",
        server.rtmp
    );
    tokio::task::spawn_blocking(move || publish(&push, 3))
        .await
        .unwrap();
    let mut files_while_locked = finished_files(data.path());
    for _ in 0..50 {
        if files_while_locked.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        files_while_locked = finished_files(data.path());
    }
    assert_eq!(files_while_locked.len(), 3, "{files_while_locked:?}");
    assert!(
        locker.try_wait().unwrap().is_none(),
        "the lock outlived the closes"
    );
    assert!(
        locker.wait().unwrap().success(),
        "the locker ran to the end"
    );
    let rows = wait_rows(&server, 3).await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert_one_row_per_file(data.path(), &rows);
}

async fn record_a_room_and_a_stream(server: &ServerProcess) -> Vec<Value> {
    let http = Client::new();
    let camera = member(&http, server, "class-9", "alice").await;
    let (status, started) = server
        .post_json(&http, "/v1/record", record_op("start", "class-9", "alice"))
        .await;
    assert_eq!(status, 200, "{started}");
    let auto = format!("{}/live/8888_plain?record=flv&recordId=r7", server.rtmp);
    let both = tokio::task::spawn_blocking(move || {
        let a = spawn_publisher(&camera, 3);
        publish(&auto, 3);
        a
    });
    let mut camera_publisher = both.await.unwrap();
    camera_publisher.wait().unwrap();
    let (status, stopped) = server
        .post_json(&http, "/v1/record", record_op("stop", "class-9", "alice"))
        .await;
    assert_eq!(status, 200, "{stopped}");
    wait_rows(server, 2).await
}

fn restart(data: &Path) -> ServerProcess {
    start_server(data, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_index_is_rebuilt_from_the_files_on_disk() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_server(data.path(), &[]);
    let before = record_a_room_and_a_stream(&server).await;
    assert_eq!(before.len(), 2, "{before:#?}");
    assert!(server.terminate().success());
    if postgres::enabled() {
        postgres::drop_database(data.path());
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.path().join(format!("index.db{suffix}")));
    }
    let server = restart(data.path());
    let after = wait_rows(&server, 2).await;
    assert_eq!(identity(&after), identity(&before));
    let alice = after.iter().find(|r| r["room_id"] == "class-9").unwrap();
    assert_eq!(alice["user_id"], "alice");
    assert_eq!(alice["file_name"], "第一课");
    assert_eq!(alice["tags"], json!(["math", "grade 3"]));
    assert_one_row_per_file(data.path(), &after);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_truncated_to_half_is_moved_aside_and_rebuilt() {
    if postgres::enabled() {
        eprintln!("SQLite's own file only: PostgreSQL keeps its files itself");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut server = start_server(data.path(), &[]);
    let before = record_a_room_and_a_stream(&server).await;
    assert!(server.terminate().success());
    let db = data.path().join("index.db");
    let checkpoint = Command::new("python3")
        .args(["-c", "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.execute('PRAGMA wal_checkpoint(TRUNCATE)')\nc.close()"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(checkpoint.success());
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let server = restart(data.path());
    let after = wait_rows(&server, 2).await;
    assert_eq!(identity(&after), identity(&before));
    let aside: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("index.db.damaged-")
        })
        .collect();
    assert!(!aside.is_empty(), "the damaged index is kept aside");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_server_on_the_same_data_dir_refuses_and_the_first_records_on() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &[]);
    let push = format!("{}/live/8888_owner?record=flv,mp4", server.rtmp);
    let publisher = tokio::task::spawn_blocking(move || publish(&push, 4));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = serve_command(common::server_bin(), data.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another Tally process"), "{err}");
    assert!(second.stdout.is_empty(), "the second server never served");
    publisher.await.unwrap();
    let rows = wait_rows(&server, 2).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let file = data
            .path()
            .join("vod")
            .join(common::vod_path(row["url"].as_str().unwrap()));
        assert!(common::ffprobe_plays(&file), "{}", file.display());
        assert!(row["duration_ms"].as_i64().unwrap() >= 3_500, "{row}");
    }
    let leftovers: Vec<_> = tally_testkit::walk(&data.path().join("vod"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The seed's crash case: the anchor's app dies mid-recording, the recording closes after the
/// idle timeout keeping what it recorded, the anchor comes back and starts again.
#[tokio::test(flavor = "multi_thread")]
async fn after_an_idle_close_the_anchor_can_start_again_and_both_tasks_keep_their_files() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--idle-timeout", "2"]);
    let http = Client::new();
    let camera = member(&http, &server, "class-5", "bob").await;
    let (status, first) = server
        .post_json(&http, "/v1/record", record_op("start", "class-5", "bob"))
        .await;
    assert_eq!(status, 200, "{first}");
    // The publisher dies without a goodbye.
    let url = camera.clone();
    let mut crashed = tokio::task::spawn_blocking(move || spawn_publisher(&url, 30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    crashed.kill().unwrap();
    crashed.wait().unwrap();
    // Within the idle window the task is still on: a start is refused as a repeat.
    let (status, _) = server
        .post_json(&http, "/v1/record", record_op("start", "class-5", "bob"))
        .await;
    assert_eq!(status, 409, "the task goes on within the idle window");
    // The idle timeout (2 s) passes: the task ends by itself, keeping its file.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let rows = server.recordings().await;
    assert_eq!(rows.len(), 1, "the first task's file is indexed: {rows:#?}");
    assert_eq!(rows[0]["record_id"], first["task_id"]);
    // The anchor comes back: a new start succeeds.
    let url = camera.clone();
    let publisher = tokio::task::spawn_blocking(move || spawn_publisher(&url, 4))
        .await
        .unwrap();
    let (status, second) = server
        .post_json(&http, "/v1/record", record_op("start", "class-5", "bob"))
        .await;
    assert_eq!(
        status, 200,
        "a start after an idle end is accepted: {second}"
    );
    assert_ne!(first["task_id"], second["task_id"]);
    tokio::task::spawn_blocking(move || {
        let mut p = publisher;
        p.wait().unwrap()
    })
    .await
    .unwrap();
    let (status, stopped) = server
        .post_json(&http, "/v1/record", record_op("stop", "class-5", "bob"))
        .await;
    assert_eq!(status, 200, "{stopped}");
    let second_files = stopped["file_ids"].as_array().unwrap().clone();
    assert!(!second_files.is_empty(), "{stopped}");
    let rows = wait_rows(&server, 2).await;
    let by_task = |task: &Value| rows.iter().filter(|r| r["record_id"] == *task).count();
    assert_eq!(by_task(&first["task_id"]), 1, "{rows:#?}");
    assert_eq!(by_task(&second["task_id"]), second_files.len(), "{rows:#?}");
}
