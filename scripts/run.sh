#!/usr/bin/env bash
# Runs the Tally console. Installs what is missing, builds the UI and the app, then starts it.
# With no display it runs under Xvfb, saves a screenshot and prints where.
set -euo pipefail
cd "$(dirname "$0")/.."
TALLY_SKIP_DRIVER=1 scripts/setup.sh
(cd ui && npm run --silent build)
# The console profile builds for size (Cargo.toml; docs/memory.md).
cargo build --profile console -p tally
app=target/console/tally

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$app"
fi

source scripts/headless-env.sh
mkdir -p artifacts
shot="$PWD/artifacts/screenshot.png"
echo "No display: starting Tally under Xvfb."
# xvfb-run gives the app a display; the inner script waits for the window, then screenshots it.
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
  "$1" & app=$!
  trap "kill $app 2>/dev/null" EXIT INT TERM
  win=root
  for _ in $(seq 1 100); do
    id=$(xwininfo -name Tally 2>/dev/null | sed -n "s/.*Window id: \(0x[0-9a-f]*\).*/\1/p")
    if [ -n "$id" ]; then win=$id; break; fi
    sleep 0.3
  done
  sleep 3 # let the page paint
  import -window "$win" "$2"
  echo "Screenshot of the window: $2"
  if [ "${TALLY_RUN_ONCE:-0}" = 1 ]; then exit 0; fi
  echo "Tally is running headless; press Ctrl-C to stop."
  wait $app
' _ "$app" "$shot"
