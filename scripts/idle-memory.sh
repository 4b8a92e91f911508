#!/usr/bin/env bash
# Measures the console's idle memory against its floor, an empty Tauri 2 window built with the
# same Tauri features (benches/empty-window): PSS of each whole process tree (the app, and
# WebKit's web and network processes) after it has settled under Xvfb, one after the other in
# the same run, so that neither shares library pages with the other.
# Usage: scripts/idle-memory.sh [settle-seconds] [runs]. Builds both when missing or stale (the
# console as scripts/run.sh does, the floor as a plain release build); TALLY_APP=path measures
# another console build. Prints one JSON line per run; exits 1 when the console is more than
# 25 MB above the floor in the median run.
set -euo pipefail
cd "$(dirname "$0")/.."
settle="${1:-30}"
runs="${2:-1}"
budget_mb=25
source scripts/headless-env.sh

if [ -z "${TALLY_APP:-}" ]; then
  (cd ui && npm run --silent build) >&2
  cargo build --profile console --locked -p tally >&2
fi
app="${TALLY_APP:-target/console/tally}"
# The floor shares the workspace's lock file and target dir, so it uses the same crate versions
# and reuses what the workspace has built.
cp Cargo.lock benches/empty-window/Cargo.lock
cargo build --release --manifest-path benches/empty-window/Cargo.toml --target-dir target >&2
floor=target/release/tally-empty-window

# One app's tree: JSON {"total_pss_mb":…,"processes":[…]} after `settle` seconds.
measure() {
  local home
  home=$(mktemp -d)
  HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
    "$1" >/dev/null 2>&1 & app=$!
    trap "kill $app 2>/dev/null; wait $app 2>/dev/null" EXIT
    sleep "$2"
    # The app and every descendant.
    tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done; }
    total=0; parts=""
    for pid in $(tree "$app"); do
      pss=$(awk "/^Pss:/ {print \$2}" /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
      rss=$(awk "/^Rss:/ {print \$2}" /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
      anon=$(awk "/^Anonymous:/ {print \$2}" /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
      name=$(cat /proc/"$pid"/comm 2>/dev/null || echo gone)
      total=$((total + pss))
      parts="$parts{\"name\":\"$name\",\"pss_kb\":$pss,\"rss_kb\":$rss,\"anon_kb\":$anon},"
    done
    echo "{\"total_pss_mb\":$((total / 1024)),\"processes\":[${parts%,}]}"
  ' _ "$1" "$settle" | grep '^{"total_pss_mb"'
  rm -rf "$home"
}

# Another WebKit process would share its library pages and lower both figures.
if pgrep -f WebKitWebProcess >/dev/null; then
  echo "warning: another WebKit process is running; PSS will read low" >&2
fi

deltas=()
for _ in $(seq "$runs"); do
  empty=$(measure "$floor")
  console=$(measure "$app")
  e=$(sed -E 's/^\{"total_pss_mb":([0-9]+).*/\1/' <<<"$empty")
  c=$(sed -E 's/^\{"total_pss_mb":([0-9]+).*/\1/' <<<"$console")
  deltas+=($((c - e)))
  echo "{\"settle_s\":$settle,\"budget_mb\":$budget_mb,\"above_floor_mb\":$((c - e)),\"empty_window\":$empty,\"console\":$console}"
done
median=$(printf '%s\n' "${deltas[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
[ "$median" -le "$budget_mb" ]
