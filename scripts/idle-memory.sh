#!/usr/bin/env bash
# Measures the console's idle memory: PSS of the whole process tree (the app with its embedded
# server, and WebKit's web and network processes) after it has settled, under Xvfb.
# Usage: scripts/idle-memory.sh [path/to/tally] [settle-seconds]. Prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
app="${1:-target/release/tally}"
settle="${2:-30}"
source scripts/headless-env.sh
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" \
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
  "$1" >/dev/null 2>&1 & app=$!
  trap "kill $app 2>/dev/null" EXIT
  sleep "$2"
  # The app and every descendant.
  tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done; }
  total=0; parts=""
  for pid in $(tree "$app"); do
    pss=$(awk "/^Pss:/ {print \$2}" /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
    name=$(cat /proc/"$pid"/comm 2>/dev/null || echo gone)
    total=$((total + pss)); parts="$parts{\"pid\":$pid,\"name\":\"$name\",\"pss_kb\":$pss},"
  done
  echo "{\"settle_s\":$2,\"total_pss_mb\":$((total / 1024)),\"target_mb\":150,\"processes\":[${parts%,}]}"
' _ "$app" "$settle"
