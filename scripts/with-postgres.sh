#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server (Debian's package, see setup.sh) with
# TALLY_TEST_POSTGRES naming it: the server tests then keep their index there, one database
# per data dir (src-tauri/crates/testkit/src/postgres.rs). The server and its files are
# removed afterwards.
#   scripts/with-postgres.sh cargo nextest run -p tally-server
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "with-postgres: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/tally-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# PostgreSQL will not run as root: as root, run it as Debian's postgres user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi
stop() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U tally --auth=trust --locale=C -E UTF8 >/dev/null
# A test server: fsync off (the tests crash Tally, never PostgreSQL), room for many small
# databases and the connections of servers running side by side.
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

export TALLY_TEST_POSTGRES="postgres://tally@127.0.0.1:$port"
status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "with-postgres: the command failed ($status); the end of PostgreSQL's log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
fi
exit "$status"
