//! The index in PostgreSQL (`--index postgres://…`): a server that cannot reach it does not
//! start and says where it looked (never with the password). The rest of the suite runs on
//! both backends (scripts/with-postgres.sh); `nodes.rs` runs several servers on one index.

mod common;

use std::process::{Command, Stdio};

use common::serve_command;

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
