//! Regenerates `ui/src/bindings` from the Rust types: `cargo run -p tally-api --bin tally-bindings`.

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui/src/bindings");
    tally_api::bindings::write_all(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}
