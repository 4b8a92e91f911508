//! The UI's checked-in bindings of the library types match the Rust types.

use std::path::Path;

#[test]
fn checked_in_library_bindings_are_not_stale() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui/src/bindings");
    let stale = tally_client::bindings::generate()
        .expect("bindings generate")
        .stale_in(&dir);
    assert!(
        stale.is_empty(),
        "stale in ui/src/bindings: {stale:?}; run `cargo run -p tally-client --bin tally-bindings`"
    );
}
