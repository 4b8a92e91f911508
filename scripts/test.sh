#!/usr/bin/env bash
# Runs every Tally test: installs what is missing, then UI checks and tests, Rust formatting,
# clippy, the whole Rust suite (unit, integration with ffmpeg, the desktop app over WebDriver),
# and the console's .deb installed and launched.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh

echo "== ui: type check, unit tests, build"
(cd ui && npm run --silent check && npm test --silent && npm run --silent build)

echo "== rust: format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== rust: tests"
# The full-disk tests mount a small tmpfs: they run where that is allowed (root with mount rights).
ignored=default
probe=$(mktemp -d)
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$probe" 2>/dev/null; then
  umount "$probe"; ignored=all
else
  echo "(cannot mount a tmpfs here: skipping the full-disk tests)"
fi
rmdir "$probe"
cargo nextest run --workspace --locked --no-fail-fast --run-ignored "$ignored"

echo "== rust: the server suite again, its index in PostgreSQL"
scripts/with-postgres.sh cargo nextest run -p tally-server --locked --no-fail-fast --run-ignored "$ignored"

echo "== packaging: the console's .deb built, installed with apt-get, launched, removed"
scripts/deb-test.sh

echo "== all tests passed in $(( $(date +%s) - start )) s"
