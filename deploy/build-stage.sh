#!/usr/bin/env bash
# The build stage of deploy/Dockerfile, run on this machine (Docker does not run here), then a
# proof that its binary works the way the image runs it.
#
# KEEP IN STEP WITH deploy/Dockerfile: the same apt packages, the same `swift build` line, the
# same linkage check (only the libraries the runtime stage installs). Change one, change the
# other.
#
#   deploy/build-stage.sh          # several minutes on a fresh clone, seconds when up to date
#
#   deploy/build-stage.sh --no-runtime   # skip step 3
#
# 1. The build stage: writes .build-deploy/ (its own scratch path: never touches .build) and the
#    binary .build-deploy/out/warden.
# 2. Starts it here on a temporary socket and database with the image's environment and the
#    systemd config file: `warden health`, the socket's mode, an import, a check, `warden
#    backup`, and SIGTERM: exit 0, the socket removed.
# 3. The runtime stage (root only: chroot and mounts): deploy/runtime_stage.py replays the
#    Dockerfile's runtime stage in a Debian 12 minbase root and runs the container it makes on a
#    read-only root with the allow lists of compose.yaml. About a minute the first time
#    (debootstrap, kept in .build-deploy/), seconds after.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=.build-deploy
OUT=$SCRATCH/out/warden
runtime=yes
[ "${1:-}" = --no-runtime ] && runtime=no
[ "$(id -u)" = 0 ] || runtime="no (not root)"
say() { printf 'build-stage: %s\n' "$*"; }

# --- Dockerfile: RUN apt-get install libsqlite3-dev libpq-dev pkg-config (only what is missing) ---
# (debootstrap is for step 3, not the Dockerfile.)
debs=(libsqlite3-dev libpq-dev pkg-config)
[ "$runtime" = yes ] && debs+=(debootstrap)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Dockerfile: RUN swift build ... && install ... && ldd ... ----------------------------------
t0=$SECONDS
mkdir -p "$SCRATCH"
if ! swift build -c release --product warden --static-swift-stdlib --scratch-path "$SCRATCH" >"$SCRATCH/build.log" 2>&1; then
    cat "$SCRATCH/build.log"
    say "swift build failed"
    exit 1
fi
# Stripped: 70 MB instead of 113 MB (the unstripped binary stays in the scratch path).
mkdir -p "$(dirname "$OUT")"
strip -o "$OUT" "$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/warden"
say "built $OUT ($(du -h "$OUT" | cut -f1)) in $((SECONDS - t0)) s"
# The runtime stage installs libsqlite3-0 and libpq5 (and has glibc, libstdc++6, libgcc-s1):
# nothing else may be needed directly (libpq5 brings its own dependencies).
extra=$(readelf -d "$OUT" | grep NEEDED | grep -v -E '\[(ld-linux[^]]*|lib(c|m|pthread|dl|rt|stdc\+\+|gcc_s|sqlite3|pq)\.so[^]]*)\]' || true)
if [ -n "$extra" ]; then
    say "the binary links libraries the runtime stage of deploy/Dockerfile does not install:"
    echo "$extra"
    exit 1
fi
"$OUT" --help >/dev/null

# --- The runtime stage's start, on a temporary folder ------------------------------------------
work=$(mktemp -d /tmp/warden-build-stage.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# As the image's ENV and the systemd unit's config file give them (flags win over the file).
export WARDEN_SOCKET=$work/run/warden.sock WARDEN_DATABASE=$work/lib/warden.db
"$OUT" serve --config deploy/systemd/warden.json --socket "$WARDEN_SOCKET" --database "$WARDEN_DATABASE" \
    --admin-uids "$(id -u)" --http-address 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
    "$OUT" health --timeout 1 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; say "serve exited at start"; exit 1; }
    sleep 0.1
done
fail() { say "$*"; cat "$work/serve.log"; exit 1; }
"$OUT" health --socket "$WARDEN_SOCKET" --timeout 3 >/dev/null || fail "warden health failed"
mode=$(stat -c %a "$WARDEN_SOCKET")
[ "$mode" = 660 ] || fail "socket mode $mode, expected 660 (warden.json socket_mode)"
"$OUT" import docs/demo/lab.jsonl >/dev/null || fail "warden import failed"
"$OUT" check ada lab.change_experiment --object lab.experiment:4 >/dev/null || fail "warden check: expected allow"
# The HTTP listener of this release binary: /readyz, /healthz, and /metrics read by
# prometheus_client's parser (from .venv-deploy, which deploy/validate.sh makes; without it,
# curl and grep check the families' TYPE lines).
http=$(sed -n 's/^warden: http listening on //p' "$work/serve.log" | head -1)
[ -n "$http" ] || fail "no 'warden: http listening on' line"
[ "$(curl -s "http://$http/readyz")" = ready ] || fail "GET /readyz did not answer ready"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$http/healthz")" = 200 ] || fail "GET /healthz not 200"
curl -sf "http://$http/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
if .venv-deploy/bin/python -c 'import prometheus_client' 2>/dev/null; then
    .venv-deploy/bin/python - "$work/metrics.txt" <<'PY' || fail "/metrics: prometheus_client's parser refused it"
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f.type for f in text_string_to_metric_families(open(sys.argv[1]).read())}
want = {"warden_requests": "counter", "warden_request_duration_seconds": "histogram"}
wrong = {name: families.get(name) for name, kind in want.items() if families.get(name) != kind}
if wrong:
    sys.exit(f"/metrics: expected {want}, got {wrong}")
PY
    metrics="/metrics parsed by prometheus_client"
else
    grep -q '^# TYPE warden_request_duration_seconds histogram' "$work/metrics.txt" || fail "/metrics has no request histogram"
    metrics="/metrics checked with grep (no .venv-deploy)"
fi
backup="no backup subcommand in this build"
if "$OUT" backup --help >/dev/null 2>&1; then
    "$OUT" backup "$work/backup.db" >/dev/null || fail "warden backup failed"
    [ -s "$work/backup.db" ] || fail "warden backup wrote nothing"
    backup="backup"
fi
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "serve exited $status after SIGTERM, expected 0"
[ ! -e "$WARDEN_SOCKET" ] || fail "the socket file is still there after SIGTERM"
grep -q '"index loaded"\|index loaded' "$work/serve.log" || fail "no 'index loaded' log line"
say "ok: health, socket mode 0660, import, check, /readyz, /healthz, $metrics, $backup, SIGTERM -> exit 0, socket removed"

# --- The runtime stage, in a chroot ------------------------------------------------------------
if [ "$runtime" = yes ]; then
    python3 deploy/runtime_stage.py "$OUT"
else
    say "runtime stage skipped: $runtime"
fi
