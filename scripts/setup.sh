#!/usr/bin/env bash
# Installs what Tally needs on a fresh Debian 12 machine; each step is skipped when already done.
# Used by both README commands (scripts/run.sh, scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

DEBS=(
  build-essential pkg-config curl file nasm
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  webkit2gtk-driver xvfb xauth dbus dbus-x11 imagemagick x11-utils
  fonts-noto-core fonts-wqy-microhei
  ffmpeg nginx-light libnginx-mod-rtmp procps systemd
  chromium python3-venv postgresql
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
  gstreamer1.0-tools gstreamer1.0-plugins-ugly
  obs-studio libgl1-mesa-dri
)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${TALLY_SKIP_DRIVER:-0}" != "1" ] && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked --version '^2'
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  (cd ui && npm ci --no-audit --no-fund)
fi

# Python test tools (scripts/requirements.txt) in a virtualenv of the checkout.
if [ ! -f .venv/.installed ] || [ scripts/requirements.txt -nt .venv/.installed ]; then
  echo "setup: installing scripts/requirements.txt into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  touch .venv/.installed
fi
