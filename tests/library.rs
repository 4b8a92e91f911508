//! The recordings library in the real app: it opens its SQLite cache and syncs the embedded
//! server into it, and a damaged cache is moved aside with a clear message instead of being
//! silently dropped.

mod support;

use std::time::Duration;

use support::{Desktop, Launch};

#[tokio::test(flavor = "multi_thread")]
async fn library_opens_its_cache_syncs_and_shows_the_empty_state() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.click("[data-testid=nav-recordings]").await;
    desktop
        .expect_text("[data-testid=page-title]", "Recordings")
        .await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-status]",
            "Last synced",
            Duration::from_secs(20),
        )
        .await;
    desktop
        .expect_text("[data-testid=empty-state] h2", "No recordings yet")
        .await;
    assert!(desktop.data_dir().join("recordings-cache.db").exists());
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_cache_is_moved_aside_with_a_message() {
    let garbage: &[u8] = b"not a database at all, just bytes that used to be a cache file";
    let desktop = Desktop::launch(Launch {
        data_files: vec![("recordings-cache.db", garbage)],
        ..Launch::default()
    })
    .await;
    desktop.click("[data-testid=nav-recordings]").await;
    let banner = desktop.wait_for_text("[data-testid=library-rebuilt]").await;
    assert!(banner.contains("moved aside"), "{banner}");
    assert!(banner.contains("damaged or not a database"), "{banner}");
    let kept: Vec<_> = std::fs::read_dir(desktop.data_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("unusable"))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "the damaged file is kept beside the new cache"
    );
    assert_eq!(std::fs::read(kept[0].path()).unwrap(), garbage);
    desktop.screenshot("library-rebuilt");
    desktop.close().await;
}
