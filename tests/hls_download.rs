//! An HLS recording (stream-code mode, `record=hls` on a member's push URL) reaches the
//! library and downloads to 100 %: every chunk the playlist lists, as one playable TS file.

mod support;

use std::time::Duration;

use support::{files_under, Desktop, Launch};

#[tokio::test(flavor = "multi_thread")]
async fn an_hls_recording_downloads_to_100_percent() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.wait_for_text("[data-testid=live-join]").await;
    desktop.click("[data-testid=live-join]").await;
    // The screen source's push URL: nobody else publishes it.
    let push = desktop
        .wait_for_text("[data-testid=push-screen] code")
        .await;
    let url = if push.contains('?') {
        format!("{push}&record=hls")
    } else {
        format!("{push}?record=hls")
    };
    tokio::task::spawn_blocking(move || tally_testkit::publish(&url, 5))
        .await
        .unwrap();

    desktop.click("[data-testid=nav-recordings]").await;
    let row = desktop
        .wait_for_text_containing("[data-testid=library-row]", "HLS", Duration::from_secs(40))
        .await;
    assert!(row.contains("HLS"), "{row}");
    desktop.screenshot("recordings-hls");
    desktop
        .click("[data-testid=library-row] [data-testid=download-button]")
        .await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-row] [data-testid=download-progress]",
            "100 %",
            Duration::from_secs(30),
        )
        .await;
    // Saved as one MPEG-TS file: the playlist's chunks in order, which play as one stream.
    let saved = files_under(&desktop.data_dir().join("downloads"));
    assert_eq!(saved.len(), 1, "one file saved: {saved:?}");
    assert_eq!(saved[0].extension().and_then(|e| e.to_str()), Some("ts"));
    let chunks: Vec<_> = files_under(&desktop.data_dir().join("server/vod"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ts"))
        .collect();
    let recorded: u64 = chunks.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert_eq!(
        saved[0].metadata().unwrap().len(),
        recorded,
        "every chunk, whole"
    );
    let seconds = tally_testkit::ffprobe_duration(&saved[0]).expect("ffprobe reads the download");
    assert!((seconds - 5.0).abs() < 0.5, "plays for {seconds} s");
    desktop.close().await;
}
