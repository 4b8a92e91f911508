//! The real console window renders, navigates and speaks both languages.

mod support;

use support::{Desktop, Launch};

#[tokio::test(flavor = "multi_thread")]
async fn window_renders_and_switches_to_chinese() {
    let desktop = Desktop::launch(Launch::default()).await;

    desktop
        .expect_text("[data-testid=page-title]", "Live")
        .await;
    desktop
        .expect_text("[data-testid=nav-recordings]", "Recordings")
        .await;
    desktop
        .expect_text("[data-testid=nav-settings]", "Settings")
        .await;

    desktop.click("[data-testid=nav-settings]").await;
    desktop
        .expect_text("[data-testid=page-title]", "Settings")
        .await;
    let version = desktop.wait_for_text("[data-testid=app-version]").await;
    assert_eq!(version, env!("CARGO_PKG_VERSION"));

    desktop.click("[data-testid=nav-live]").await;
    desktop
        .click("[data-testid=lang-select] option[value='zh-CN']")
        .await;
    desktop
        .expect_text("[data-testid=page-title]", "直播")
        .await;
    desktop
        .expect_text("[data-testid=nav-recordings]", "录制文件")
        .await;
    desktop
        .expect_text("[data-testid=nav-settings]", "设置")
        .await;

    let shot = desktop.screenshot("window-zh-CN");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 2_000,
        "the screenshot is blank"
    );
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn window_follows_a_chinese_system_locale() {
    let desktop = Desktop::launch(Launch {
        lang: "zh_CN.UTF-8",
        ..Launch::default()
    })
    .await;
    desktop
        .expect_text("[data-testid=page-title]", "直播")
        .await;
    desktop.expect_text("[data-testid=nav-live]", "直播").await;
    desktop.screenshot("window-system-zh-CN");
    desktop.close().await;
}
