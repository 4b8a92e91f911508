//! Regenerates `ui/src/bindings` from the Rust wire types of `tally-api` and `tally-client`:
//! `cargo run -p tally-client --bin tally-bindings`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ui/src/bindings");
    tally_api::bindings::generate()?.write_all(&dir)?;
    tally_client::bindings::generate()?.write_all(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}
