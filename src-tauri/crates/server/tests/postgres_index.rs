//! The index in PostgreSQL (`--index postgres://…`): a server that cannot reach it does not
//! start and says where it looked (never with the password); a second server on the same
//! database refuses, as one on the same data dir does. The rest of the suite runs on both
//! backends (scripts/with-postgres.sh).

mod common;

use std::process::{Command, Stdio};

use common::{serve_command, start_server};
use tally_testkit::postgres;

#[test]
fn an_unreachable_index_stops_the_start_naming_it_without_its_password() {
    let data = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://tally:hunter2@127.0.0.1:{port}/tally");
    let out = serve_command(common::server_bin(), data.path(), &["--index", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("hunter2"), "the password is hidden: {err}");
    assert!(out.stdout.is_empty(), "it never served");
}

#[test]
fn an_index_url_that_is_not_postgres_is_refused() {
    let out = Command::new(common::server_bin())
        .args(["check-config", "--index", "mysql://root:pw@db/tally"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a postgres:// URL"), "{err}");
    assert!(!err.contains(":pw@"), "the password is hidden: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_server_on_the_same_index_database_refuses_and_the_first_serves_on() {
    if !postgres::enabled() {
        eprintln!("PostgreSQL only: run under scripts/with-postgres.sh");
        return;
    }
    let (first_data, second_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = postgres::index_url(first_data.path()).unwrap();
    let first = start_server(first_data.path(), &["--index", &url]);
    let out = serve_command(common::server_bin(), second_data.path(), &["--index", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another tally-server"), "{err}");
    assert!(out.stdout.is_empty(), "the second server never served");

    let push = format!("{}/live/8888_owner?record=flv", first.rtmp);
    tokio::task::spawn_blocking(move || common::publish(&push, 2))
        .await
        .unwrap();
    let rows = first.wait_recordings(1).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");

    // Once the first is gone (killed: its connection and lock go with it), another may start.
    drop(first);
    let again = start_server(second_data.path(), &["--index", &url]);
    assert_eq!(again.wait_recordings(1).await.len(), 1);
}
