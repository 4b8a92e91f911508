//! A real S3-compatible server for the storage tests: `moto_server` (moto, from PyPI, installed
//! into `.venv` by `scripts/setup.sh`). It speaks the S3 REST API over HTTP (PUT, multipart,
//! HEAD with MD5 ETags, presigned GETs) and is pure Python, so nothing is downloaded at run
//! time. It keeps its objects in memory: a restarted server starts empty, which the tests use
//! as "the bucket was down" and create the bucket again.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ANY_SIGNATURE: &str = "Authorization: AWS4-HMAC-SHA256 \
    Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A running `moto_server`, killed when dropped.
pub struct S3Server {
    child: Option<Child>,
    port: u16,
}

impl S3Server {
    /// Starts one on a free loopback port and creates `bucket` in it.
    pub fn start(bucket: &str) -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = S3Server { child: None, port };
        server.restart(bucket);
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server (kill -9): requests in flight fail, new connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, with `bucket` created.
    pub fn restart(&mut self, bucket: &str) {
        self.stop();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let bin = root.join(".venv/bin/moto_server");
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} (run scripts/setup.sh): {e}", bin.display()));
        self.child = Some(child);
        let url = format!("{}/{bucket}", self.endpoint());
        let started = Instant::now();
        loop {
            // moto takes any credentials; creating the bucket is also the readiness probe.
            let created = std::process::Command::new("curl")
                .args(["-sf", "-o", "/dev/null", "-X", "PUT", &url])
                .status()
                .is_ok_and(|s| s.success());
            if created {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The object `key` of `bucket`, or `None` when there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        // Objects are private: moto wants a signed request, though it does not check the
        // signature.
        let out = Command::new("curl")
            .args(["-sf", "-H", ANY_SIGNATURE])
            .arg(format!("{}/{bucket}/{key}", self.endpoint()))
            .output()
            .expect("curl runs");
        out.status.success().then_some(out.stdout)
    }

    /// Every key in `bucket`.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}/{bucket}?list-type=2", self.endpoint())])
            .output()
            .expect("curl runs");
        let xml = String::from_utf8_lossy(&out.stdout);
        xml.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| k.to_owned()))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `tally-server` flags that upload to `bucket` at `endpoint` (moto takes any key).
pub fn bucket_flags(endpoint: &str, bucket: &str) -> Vec<String> {
    [
        "--s3-bucket",
        bucket,
        "--s3-endpoint",
        endpoint,
        "--s3-access-key-id",
        "test",
        "--s3-secret-access-key",
        "test",
    ]
    .map(str::to_owned)
    .to_vec()
}
