//! Settings in the real app: a bad server address and an unreachable server are refused with
//! their advice and nothing is saved; going back to the built-in server works and is remembered.

mod support;

use support::{Desktop, Launch};

#[tokio::test(flavor = "multi_thread")]
async fn choosing_a_server_checks_it_before_saving() {
    let desktop = Desktop::launch(Launch::default()).await;
    desktop.click("[data-testid=nav-settings]").await;
    let current = desktop.wait_for_text("[data-testid=server-current]").await;
    assert!(current.contains("built into this console"), "{current}");

    desktop.click("[data-testid=server-remote]").await;
    for (address, code) in [
        ("not a server", "30000509"),
        ("http://127.0.0.1:9", "30000511"),
    ] {
        desktop.type_into("[data-testid=server-url]", address).await;
        desktop.click("[data-testid=server-save]").await;
        desktop.expect_text("[data-testid=error-code]", code).await;
        let advice = desktop.wait_for_text("[data-testid=error-advice]").await;
        assert!(!advice.is_empty(), "{address}: advice is shown");
    }
    let settings = desktop.data_dir().join("settings.json");
    assert!(!settings.exists(), "a refused server is not saved");

    desktop.click("[data-testid=server-embedded]").await;
    desktop.click("[data-testid=server-save]").await;
    desktop.wait_for_text("[data-testid=server-saved]").await;
    let saved = std::fs::read_to_string(&settings).expect("the choice is saved");
    assert!(saved.contains("\"remote\": null"), "{saved}");
    desktop.screenshot("settings-server");
    desktop.close().await;
}
