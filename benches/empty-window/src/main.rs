//! An empty Tauri window: what any Tauri 2 app on this WebKitGTK costs before its own code.
fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the empty window could not start");
}
