#!/usr/bin/env bash
# Runs bench against a server of its own: starts `warden serve` (WARDEN_SERVER, default the
# repository's .build/release/warden) in a temporary directory, runs build/bench with the given
# arguments, then stops the server and removes the directory.
#   bench/run.sh [--seconds S] [--rounds N] [--depth D]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
server=${WARDEN_SERVER:-$here/../../.build/release/warden}
[ -x "$server" ] || { echo "bench: no server binary at $server (swift build -c release --product warden, or set WARDEN_SERVER)" >&2; exit 2; }
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
# The database is the default ./var/warden.db, relative to the temporary directory.
(cd "$dir" && exec "$server" serve --socket "$dir/s.sock" >"$dir/server.log" 2>&1) &
pid=$!
for _ in $(seq 500); do [ -S "$dir/s.sock" ] && break; sleep 0.02; done
[ -S "$dir/s.sock" ] || { echo "bench: the server did not start:" >&2; cat "$dir/server.log" >&2; exit 2; }
"$here/build/bench" "$dir/s.sock" "$@"
