#!/usr/bin/env bash
# Builds the console's Debian package with the Tauri bundler (tauri-cli 2.x from crates.io,
# installed into target/tools the first time). The package holds the console with its embedded
# recording service, the desktop entry and icons, and declares WebKitGTK, GTK, the tray library
# and the GStreamer plugins the player needs. Only .deb: AppImage's bundler downloads
# linuxdeploy while building, which this build does not allow.
# Usage: scripts/package.sh [--debug]. Without --debug it builds the console profile, as
# scripts/run.sh does; --debug reuses the test suite's debug build. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
TALLY_SKIP_DRIVER=1 scripts/setup.sh >&2
tools="$PWD/target/tools"
if ! "$tools/bin/cargo-tauri" --version 2>/dev/null | grep -q '^tauri-cli 2\.'; then
  echo "package: installing tauri-cli 2 into $tools" >&2
  # Unoptimized, without debug info: it compiles in half the time, and bundling is not the slow
  # part of a build.
  CARGO_PROFILE_DEV_DEBUG=0 cargo install tauri-cli --version '^2' --locked --debug --root "$tools" >&2
fi
(cd ui && npm run --silent build) >&2
export PATH="$tools/bin:$PATH"
if [ "${1:-}" = "--debug" ]; then
  cargo tauri build --ci --debug --bundles deb >&2
  dir=target/debug/bundle/deb
else
  cargo tauri build --ci --bundles deb -- --profile console >&2
  dir=target/console/bundle/deb
fi
ls -t "$PWD/$dir"/*.deb | head -1
