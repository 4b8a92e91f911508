//! The UI's checked-in bindings match what the Rust types generate now.

use std::path::Path;

#[test]
fn checked_in_bindings_are_not_stale() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui/src/bindings");
    let generated = tally_api::bindings::generate().expect("bindings generate");
    for (name, content) in &generated {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            on_disk == *content,
            "ui/src/bindings/{name} is stale: run `cargo run -p tally-api --bin tally-bindings`"
        );
    }
}
