//! A PostgreSQL index for the server's tests. When `TALLY_TEST_POSTGRES` names a server
//! (`postgres://user@host:port`, started by `scripts/with-postgres.sh`), every data dir gets a
//! database of its own, made on first use, so a server restarted on the same data dir finds
//! its index again. Without it, servers keep SQLite in their data dir.

use std::path::Path;
use std::process::Command;

/// The variable naming the PostgreSQL server the tests use.
pub const ENV: &str = "TALLY_TEST_POSTGRES";

/// Whether the tests run on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var(ENV).is_ok_and(|v| !v.is_empty())
}

/// The `--index` URL for a server on `data`, when the tests run on PostgreSQL.
pub fn index_url(data: &Path) -> Option<String> {
    let base = std::env::var(ENV).ok().filter(|v| !v.is_empty())?;
    let base = base.trim_end_matches('/');
    let name = format!("t_{}", &crate::md5_hex(&data.display().to_string())[..24]);
    let out = psql(&format!("{base}/postgres"))
        .arg("-c")
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs (Debian's postgresql-client)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // It exists already when a server comes back on the same data dir.
    assert!(
        out.status.success() || stderr.contains("already exists"),
        "creating the test database {name}: {stderr}"
    );
    Some(format!("{base}/{name}"))
}

/// Starts `psql` on the test database of `data` running `script` read from its stdin, so that
/// each statement's result (unaligned, one per line) is printed as soon as it is done.
pub fn spawn_psql(data: &Path, script: &str) -> std::process::Child {
    use std::io::Write;
    let url = index_url(data).expect("the tests run on PostgreSQL");
    let mut child = psql(&url)
        .args(["-A", "-t"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(script.as_bytes())
        .expect("psql reads its script");
    child
}

/// Drops the test database of `data` (its index is gone, as if deleted); the next server on
/// `data` gets a new, empty one.
pub fn drop_database(data: &Path) {
    let url = index_url(data).expect("the tests run on PostgreSQL");
    let (base, name) = url.rsplit_once('/').expect("a database in the URL");
    let status = psql(&format!("{base}/postgres"))
        .arg("-c")
        .arg(format!("DROP DATABASE {name} WITH (FORCE)"))
        .status()
        .expect("psql runs");
    assert!(status.success(), "dropping {name}");
}

/// `psql` on the database at `url`, quiet, stopping at the first error.
fn psql(url: &str) -> Command {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    cmd
}
