//! Pictures in the real app: the live preview of the demo stream, a recorded file's thumbnail
//! in the Recordings table, the player in the detail pane playing it, and the Usage page
//! counting the recording made here.

mod support;

use std::time::Duration;

use support::{Desktop, Launch};

/// True once the image matched by `css` has loaded a picture.
fn image_loaded(css: &str) -> String {
    format!(
        "const img = document.querySelector({css:?}); \
         return !!img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : 0;"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_stream_shows_a_preview_and_its_recording_a_thumbnail_a_player_and_usage() {
    // In both languages: the README's screenshots are these (`artifacts/*-en.png`, `*-zh.png`).
    for (lang, tag) in [("en_US.UTF-8", "en"), ("zh_CN.UTF-8", "zh")] {
        pictures(lang, tag).await;
    }
}

async fn pictures(lang: &str, tag: &str) {
    let desktop = Desktop::launch(Launch {
        lang,
        ..Launch::default()
    })
    .await;
    desktop.wait_for_text("[data-testid=live-join]").await;
    desktop.click("[data-testid=live-join]").await;
    desktop
        .wait_for_text("[data-testid=stream-state] .tag.on")
        .await;

    // The live preview: a JPEG of the demo stream's latest keyframe, 320 wide.
    let width = desktop
        .wait_for_script(
            "live preview",
            &image_loaded("[data-testid=live-preview]"),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(width, 320, "the preview is a 320-wide picture");

    desktop.click("[data-testid=record-button]").await;
    desktop.wait_for_text("[data-testid=stop-button]").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    desktop.screenshot(&format!("live-{tag}"));
    desktop.click("[data-testid=stop-button]").await;
    desktop
        .wait_for_text("[data-testid=file-ids] .file-id")
        .await;

    // The file arrives in the table with its poster.
    desktop.click("[data-testid=nav-recordings]").await;
    desktop
        .wait_for_text_containing(
            "[data-testid=library-row]",
            "demo-anchor",
            Duration::from_secs(40),
        )
        .await;
    let thumb = desktop
        .wait_for_script(
            "thumbnail in the table",
            &image_loaded("[data-testid=library-row] [data-testid=row-thumbnail]"),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(
        thumb, 320,
        "the poster is the recording's first keyframe at 320 wide"
    );

    // The player in the detail pane plays it: its clock moves.
    desktop.click("[data-testid=library-row] td.wrap").await;
    desktop.wait_for_text("[data-testid=library-detail]").await;
    desktop
        .wait_for_script(
            "player has a source",
            "const v = document.querySelector('[data-testid=player]'); return !!v && !!v.src;",
            Duration::from_secs(10),
        )
        .await;
    desktop
        .client
        .execute(
            "const v = document.querySelector('[data-testid=player]'); v.muted = true; v.play();",
            vec![],
        )
        .await
        .expect("play() runs");
    let at = desktop
        .wait_for_script(
            "player currentTime advances",
            "const v = document.querySelector('[data-testid=player]'); \
             return v.currentTime > 1 ? v.currentTime : 0;",
            Duration::from_secs(30),
        )
        .await;
    assert!(at.as_f64().unwrap() > 1.0, "played to {at} s");
    desktop.screenshot(&format!("recordings-{tag}"));

    // Usage counts this month's recording: one peak channel at 30 CNY.
    desktop.click("[data-testid=nav-usage]").await;
    desktop
        .wait_for_text_containing("[data-testid=usage-peak]", "1", Duration::from_secs(20))
        .await;
    // Give the charts a moment to draw before the picture is taken.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let price = desktop.wait_for_text("[data-testid=usage-price]").await;
    assert!(
        price.contains("30"),
        "one peak channel costs 30 CNY: {price}"
    );
    let files = desktop.wait_for_text("[data-testid=usage-files]").await;
    assert_eq!(files, "1", "one file recorded");
    desktop.screenshot(&format!("usage-{tag}"));
    desktop.close().await;
}
