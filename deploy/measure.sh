#!/usr/bin/env bash
# Measures the sizing figures of docs/operations.md with a real `warden serve` process: disk per
# grant, cold start to serving, resident memory after the load and at its peak, and `warden
# backup` time and size. Uses the release binary deploy/build-stage.sh built (or $WARDEN).
#
#   deploy/measure.sh [GRANTS]        # default 1000000; about a minute for 1M
#
# The data set is shaped like docs/benchmarks.md's (10,000 users, 200 groups, 100,000 objects,
# a tenth of the grants held by groups), generated from a fixed seed, and goes in through
# `warden import` (one BulkGrant stream), as an operator's would.
set -euo pipefail
cd "$(dirname "$0")/.."
GRANTS=${1:-1000000}
WARDEN=${WARDEN:-.build-deploy/out/warden}
RUNS=${RUNS:-3}
[ -x "$WARDEN" ] || { echo "measure: $WARDEN not found: run deploy/build-stage.sh first" >&2; exit 2; }

work=$(mktemp -d /tmp/warden-measure.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
export WARDEN_SOCKET=$work/warden.sock WARDEN_DATABASE=$work/warden.db

python3 - "$GRANTS" >"$work/data.jsonl" <<'PY'
import json, random, sys
grants = int(sys.argv[1])
rnd = random.Random(20261122)
out = sys.stdout
w = lambda o: out.write(json.dumps(o, separators=(",", ":")) + "\n")
w({"kind": "content_type", "content_type": "lab.experiment", "custom": ["publish_experiment"]})
w({"kind": "content_type", "content_type": "drivers.car"})
for u in range(1, 10001):
    w({"kind": "user", "user": str(u), "username": f"user{u}"})
for g in range(200):
    w({"kind": "group", "group": f"group{g}"})
for u in range(102, 10001):
    for g in rnd.sample(range(200), rnd.randint(1, 3)):
        w({"kind": "member", "user": str(u), "group": f"group{g}"})
seen = set()
exp = ["view_experiment", "change_experiment", "delete_experiment", "publish_experiment"]
car = ["view_car", "change_car", "delete_car"]
while len(seen) < grants:
    if rnd.random() < 0.8:
        perm, pk = "lab." + rnd.choice(exp), str(rnd.randint(1, 80000))
    else:
        perm, pk = "drivers." + rnd.choice(car), str(rnd.randint(1, 20000))
    subject = ("group", f"group{rnd.randrange(200)}") if rnd.random() < 0.1 else ("user", str(rnd.randint(1, 10000)))
    key = (subject, perm, pk)
    if key in seen:
        continue
    seen.add(key)
    w({"kind": "grant", subject[0]: subject[1], "perm": perm, "pk": pk})
PY

start() {
    "$WARDEN" serve --log-level info >>"$work/serve.log" 2>&1 &
    pid=$!
}
stop() { kill -TERM "$pid"; wait "$pid"; pid=; }
wait_serving() {
    until "$WARDEN" health --timeout 1 >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
        sleep 0.02
    done
}
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

start; wait_serving
base_rss=$(kib "$pid" VmRSS)
t0=$(date +%s.%N)
"$WARDEN" import "$work/data.jsonl" >"$work/import.txt"
t1=$(date +%s.%N)
after_import_rss=$(kib "$pid" VmRSS)
stop
db_bytes=$(stat -c %s "$WARDEN_DATABASE")
wal_bytes=$(stat -c %s "$WARDEN_DATABASE-wal" 2>/dev/null || echo 0)
# Bytes per table and index (SQLite's dbstat), and per changelog event.
tables=$(python3 - "$WARDEN_DATABASE" <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
sizes = c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
print(", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in sizes if b >= 100_000))
events = c.execute("SELECT COUNT(*) FROM changelog").fetchone()[0]
log = sum(b for n, b in sizes if n == "changelog")
print(f"changelog: {events} events, {log / max(events, 1):.0f} bytes per event")
PY
)

cold=()
load=()
for _ in $(seq "$RUNS"); do
    sync; t0c=$(date +%s.%N)
    start; wait_serving
    t1c=$(date +%s.%N)
    cold+=("$(echo "$t1c - $t0c" | bc)")
    load+=("$(grep 'index loaded' "$work/serve.log" | tail -1 | sed -E 's/.*seconds=([0-9.]+).*/\1/')")
    rss=$(kib "$pid" VmRSS); hwm=$(kib "$pid" VmHWM)
    stop
done
start; wait_serving
grants_loaded=$("$WARDEN" stats --json | python3 -c 'import json,sys; d = json.loads(sys.stdin.readline()); print(d["object_grants"] + d["model_grants"])' 2>/dev/null || echo "?")
backup="(no backup subcommand)"
if "$WARDEN" backup --help >/dev/null 2>&1; then
    b0=$(date +%s.%N)
    "$WARDEN" backup "$work/backup.db" >/dev/null
    b1=$(date +%s.%N)
    backup="$(echo "$b1 - $b0" | bc) s, $(stat -c %s "$work/backup.db") bytes"
fi
stop

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "grants requested:        $GRANTS (loaded: $grants_loaded)"
echo "import:                  $(cat "$work/import.txt") [$(echo "$t1 - $t0" | bc) s wall]"
echo "database file:           $db_bytes bytes after shutdown (WAL $wal_bytes) = $(echo "scale=1; $db_bytes / $GRANTS" | bc) bytes per grant"
echo "tables:                  $(echo "$tables" | head -1)"
echo "                         $(echo "$tables" | tail -1)"
echo "cold start to serving:   ${cold[*]} s (median $(median "${cold[@]}")): process start to the first SERVING"
echo "index load (log):        ${load[*]} s (median $(median "${load[@]}")): the 'index loaded' line's seconds"
echo "RSS empty server:        $base_rss KiB"
echo "RSS after import:        $after_import_rss KiB (same process that imported)"
echo "RSS after cold start:    $rss KiB, peak (VmHWM) $hwm KiB"
echo "backup:                  $backup"
