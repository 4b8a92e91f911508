//! A recording error and a recording that ends because its stream went quiet each raise a
//! desktop notification: the app runs on a D-Bus session bus the test watches with `dbus-monitor`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{files_under, remote_server, remote_server_with, remote_settings, Desktop, Launch};

/// A child process killed on drop.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private session bus and its address.
fn session_bus() -> (Reaped, String) {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon is installed (scripts/setup.sh)");
    let mut address = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    (Reaped(daemon), address.trim().to_owned())
}

/// Everything `dbus-monitor` prints about notification requests on `address`.
fn watch_notifications(address: &str) -> (Reaped, Arc<Mutex<String>>) {
    let mut monitor = Command::new("dbus-monitor")
        .args(["--address", address])
        .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-monitor is installed (scripts/setup.sh)");
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    let out = monitor.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let mut seen = sink.lock().unwrap();
            seen.push_str(&line);
            seen.push('\n');
        }
    });
    (Reaped(monitor), seen)
}

/// The console, pointed at `server`, on the session bus at `bus`.
async fn console_on(server: &tally_server::Server, bus: &str) -> Desktop {
    let settings = remote_settings(server.http_addr());
    Desktop::launch(Launch {
        data_files: vec![("settings.json", settings.as_bytes())],
        session_bus: Some(bus),
        ..Launch::default()
    })
    .await
}

/// Waits until a notification holding `summary`, sent as Tally, has crossed the bus.
async fn wait_for_notification(notifications: &Mutex<String>, summary: &str) {
    let started = Instant::now();
    loop {
        let seen = notifications.lock().unwrap().clone();
        if seen.contains(summary) {
            assert!(seen.contains("Tally"), "sent as Tally: {seen}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no notification {summary:?}; the bus saw: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_close_is_notified_on_the_desktop() {
    let (_bus, address) = session_bus();
    let (_monitor, notifications) = watch_notifications(&address);
    let data = tempfile::tempdir().unwrap();
    // Recordings close after 2 s without media.
    let server = remote_server(data.path(), ([127, 0, 0, 1], 0).into(), Some(2)).await;
    let desktop = console_on(&server, &address).await;

    let push = desktop.join("notify-room", "anchor").await;
    // Four seconds of the sample clip, then silence.
    let publisher = tokio::spawn(async move {
        let clip = bytes::Bytes::from_static(tally_media::replay::SAMPLE_CLIP);
        tally_media::replay::replay(&push, clip, Some(Duration::from_secs(4))).await
    });
    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    publisher.await.unwrap().expect("the clip was published");

    wait_for_notification(&notifications, "Recording closed: the stream went quiet").await;
    desktop.close().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_error_is_notified_on_the_desktop() {
    let (_bus, address) = session_bus();
    let (_monitor, notifications) = watch_notifications(&address);
    let data = tempfile::tempdir().unwrap();
    // No disk can meet this reserve: the recorder refuses to open a file (error 2).
    let server = remote_server_with(tally_server::FileConfig {
        data: Some(data.path().to_path_buf()),
        http: Some(([127, 0, 0, 1], 0).into()),
        rtmp: Some(([127, 0, 0, 1], 0).into()),
        reserve_mb: Some(u64::MAX),
        ..tally_server::FileConfig::default()
    })
    .await;
    let desktop = console_on(&server, &address).await;

    let push = desktop.join("notify-room", "anchor").await;
    // The push URL asks for an FLV recording, which fails as soon as media arrives.
    let push = format!(
        "{push}{}record=flv",
        if push.contains('?') { '&' } else { '?' }
    );
    let publisher = tokio::spawn(async move {
        let clip = bytes::Bytes::from_static(tally_media::replay::SAMPLE_CLIP);
        tally_media::replay::replay(&push, clip, Some(Duration::from_secs(3))).await
    });
    wait_for_notification(&notifications, "Recording error 2").await;
    publisher.await.unwrap().expect("the clip was published");
    let written = files_under(&data.path().join("vod"));
    assert!(
        written.is_empty(),
        "nothing was written below the reserve: {written:?}"
    );
    desktop.close().await;
    server.shutdown().await;
}
