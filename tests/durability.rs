//! What the console shows when recording cannot go on as asked: a task that ended on its own
//! (the seed's crash case: the stream went quiet, the recording closed after the idle timeout,
//! the anchor comes back), and a built-in server whose data another Tally process holds.

mod support;

use std::time::Duration;

use support::{remote_server, remote_settings, Desktop, Launch};

async fn publish_clip(push: String, seconds: u64) {
    let clip = bytes::Bytes::from_static(tally_media::replay::SAMPLE_CLIP);
    tally_media::replay::replay(&push, clip, Some(Duration::from_secs(seconds)))
        .await
        .expect("the clip was published");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_ended_by_idle_shows_why_and_the_anchor_records_again() {
    let data = tempfile::tempdir().unwrap();
    // Recordings close after 2 s without media.
    let server = remote_server(data.path(), ([127, 0, 0, 1], 0).into(), Some(2)).await;
    let settings = remote_settings(server.http_addr());
    let desktop = Desktop::launch(Launch {
        data_files: vec![("settings.json", settings.as_bytes())],
        ..Launch::default()
    })
    .await;

    let push = desktop.join("idle-room", "anchor").await;
    let publisher = tokio::spawn(publish_clip(push.clone(), 4));
    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    publisher.await.unwrap();

    // The stream went quiet: the task ends by itself and the view says so.
    let note = desktop
        .wait_for_text_containing("[data-testid=task-ended]", "idle", Duration::from_secs(20))
        .await;
    assert!(note.contains("Everything recorded is kept"), "{note}");
    let reason = desktop
        .client
        .find(fantoccini::Locator::Css("[data-testid=task-ended]"))
        .await
        .unwrap()
        .attr("data-reason")
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("idle_timeout"));
    desktop.wait_for_text("[data-testid=file-ids] code").await;
    desktop.screenshot("live-task-ended-by-idle");

    // The anchor comes back: Record works again.
    let publisher = tokio::spawn(publish_clip(push, 4));
    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    desktop.click("[data-testid=stop-button]").await;
    desktop.wait_for_text("[data-testid=record-button]").await;
    publisher.abort();
    desktop.close().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_dir_held_by_another_tally_is_shown_in_the_window() {
    let desktop = Desktop::launch(Launch {
        hold_server_data: true,
        ..Launch::default()
    })
    .await;
    let banner = desktop
        .wait_for_text_containing(
            "[data-testid=startup-error]",
            "in use by another Tally process",
            Duration::from_secs(20),
        )
        .await;
    assert!(banner.contains("30000517"), "{banner}");
    assert!(banner.contains("Close the other Tally console"), "{banner}");
    desktop.screenshot("startup-data-dir-in-use");
    desktop.close().await;
}
