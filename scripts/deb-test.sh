#!/usr/bin/env bash
# The console's .deb, end to end: builds it (scripts/package.sh --debug), checks what it
# declares and holds, installs it with apt-get onto this machine, launches the installed
# /usr/bin/tally under Xvfb with a fresh home, and waits for its window and its embedded server's
# /healthz; then removes the package. Needs root or sudo (apt-get); exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }

deb=$(scripts/package.sh --debug | tail -1)
[ -f "$deb" ] || fail "no package built ($deb)"
echo "deb-test: built $deb"

name=$(dpkg-deb -f "$deb" Package)
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1 gstreamer1.0-plugins-good gstreamer1.0-libav; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
[ "$(dpkg-deb -f "$deb" Version)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ] \
  || fail "the package version is not the workspace's"
contents=$(dpkg-deb -c "$deb")
for f in usr/bin/tally usr/share/applications/Tally.desktop usr/share/icons/hicolor/128x128/apps/tally.png; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done

cleanup() { $SUDO apt-get remove -y -qq "$name" >/dev/null 2>&1 || true; rm -rf "${home:-}"; }
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
[ -x /usr/bin/tally ] || fail "apt-get install did not put /usr/bin/tally in place"
grep -q '^Exec=tally' /usr/share/applications/Tally.desktop || fail "desktop entry: $(cat /usr/share/applications/Tally.desktop)"
echo "deb-test: installed $name $(dpkg-query -W -f='${Version}' "$name")"

source scripts/headless-env.sh
home=$(mktemp -d)
HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" NO_COLOR=1 \
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
  log="$1/tally.log"
  /usr/bin/tally >"$log" 2>&1 & app=$!
  trap "kill $app 2>/dev/null; wait $app 2>/dev/null" EXIT
  for _ in $(seq 1 150); do
    xwininfo -name Tally >/dev/null 2>&1 && window=yes
    api=$(sed -n "s/.*embedded Tally server running api=\"\{0,1\}\([^ \"]*\).*/\1/p" "$log" | head -1)
    if [ -n "${window:-}" ] && [ -n "$api" ]; then break; fi
    kill -0 $app 2>/dev/null || { echo "deb-test: FAIL: tally exited"; cat "$log"; exit 1; }
    sleep 0.2
  done
  [ -n "${window:-}" ] || { echo "deb-test: FAIL: no Tally window"; cat "$log"; exit 1; }
  [ -n "$api" ] || { echo "deb-test: FAIL: the embedded server did not start"; cat "$log"; exit 1; }
  health=$(curl -fsS "$api/healthz") || { echo "deb-test: FAIL: $api/healthz"; cat "$log"; exit 1; }
  [ "$health" = ok ] || { echo "deb-test: FAIL: /healthz said $health"; exit 1; }
  if grep -E "panicked| ERROR " "$log"; then echo "deb-test: FAIL: errors in the log"; exit 1; fi
  echo "deb-test: the installed console shows its window; its embedded server at $api answers /healthz"
' _ "$home"
echo "deb-test: ok"
