//! A recording made in the real app reaches the library by background sync, is found by typing
//! part of its Chinese file name, downloads to 100 %, byte for byte, and is exported as CSV.

mod support;

use std::time::Duration;

use support::{mp4s_under, Desktop, Launch};

const FILE_NAME: &str = "物理第三讲复习";

#[tokio::test(flavor = "multi_thread")]
async fn recording_with_a_chinese_name_is_found_and_downloaded() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.wait_for_text("[data-testid=live-join]").await;
    desktop.click("[data-testid=live-join]").await;
    desktop.wait_for_text("[data-testid=push-camera]").await;
    desktop
        .type_into("[data-testid=file-name]", FILE_NAME)
        .await;
    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    desktop.click("[data-testid=stop-button]").await;
    desktop
        .wait_for_text("[data-testid=file-ids] .file-id")
        .await;

    desktop.click("[data-testid=nav-recordings]").await;
    desktop
        .type_into("[data-testid=library-search]", "第三讲")
        .await;
    // The file arrives with the next background sync (at most 10 s) and the page refreshes.
    let row = desktop
        .wait_for_text_containing(
            "[data-testid=library-row]",
            FILE_NAME,
            Duration::from_secs(40),
        )
        .await;
    assert!(row.contains("demo-anchor"), "{row}");
    desktop
        .wait_for_text_containing(
            "[data-testid=library-status]",
            "Last synced",
            Duration::from_secs(10),
        )
        .await;

    desktop
        .click("[data-testid=library-row] [data-testid=download-button]")
        .await;
    let progress = desktop
        .wait_for_text_containing(
            "[data-testid=library-row] [data-testid=download-progress]",
            "100 %",
            Duration::from_secs(30),
        )
        .await;
    desktop.click("[data-testid=library-row] td").await;
    desktop.wait_for_text("[data-testid=library-detail]").await;
    desktop.screenshot("library-downloaded");

    // No Downloads folder is configured in the test home: the app's data dir is used.
    let saved: Vec<_> = std::fs::read_dir(desktop.data_dir().join("downloads"))
        .expect("downloads dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(saved.len(), 1, "one file saved: {saved:?} ({progress})");
    let name = saved[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(FILE_NAME) && name.ends_with(".mp4"),
        "{name}"
    );
    let recorded = mp4s_under(&desktop.data_dir().join("server/vod"))
        .pop()
        .expect("recorded mp4");
    assert_eq!(
        std::fs::read(&saved[0]).unwrap(),
        std::fs::read(&recorded).unwrap(),
        "the download is the recorded file"
    );

    // Export of the current result set, next to the downloads.
    desktop.click("[data-testid=library-export]").await;
    let exported = desktop
        .wait_for_text_containing(
            "[data-testid=library-exported]",
            ".csv",
            Duration::from_secs(10),
        )
        .await;
    let csv_path = exported.split_whitespace().last().unwrap();
    let csv = std::fs::read_to_string(csv_path).expect("exported CSV");
    assert_eq!(
        csv.lines().count(),
        2,
        "header and the one matching row: {csv}"
    );
    assert!(csv.contains(FILE_NAME), "{csv}");
    desktop.close().await;
}
