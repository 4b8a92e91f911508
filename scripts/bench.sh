#!/usr/bin/env bash
# Runs the scale benchmark (Tally against nginx-rtmp, same load, same run) and redraws
# BENCH.md's chart. Usage: scripts/bench.sh [Ns] [seconds]   (default 1,10,50,100,200 and 60)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p src-tauri/crates/server/bench
# Like for like with nginx (which makes no thumbnails), then what posters add at N = 200.
cargo bench -p tally-server --bench scale -- --ns "${1:-1,10,50,100,200}" --seconds "${2:-60}" \
  --posters false > src-tauri/crates/server/bench/scale.json
cargo bench -p tally-server --bench scale -- --ns 200 --seconds "${2:-60}" --posters true \
  > src-tauri/crates/server/bench/scale-posters-200.json
.venv/bin/pip install --quiet --disable-pip-version-check "matplotlib==3.9.*"
.venv/bin/python scripts/bench_chart.py src-tauri/crates/server/bench/scale.json src-tauri/crates/server/bench/cpu-per-stream.png
echo "wrote src-tauri/crates/server/bench/{scale.json,scale-posters-200.json,cpu-per-stream.png}"
