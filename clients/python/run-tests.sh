#!/usr/bin/env bash
# Runs the Python client's tests against real `warden serve` processes.
#   clients/python/run-tests.sh [pytest arguments]
# Creates clients/python/.venv (python3 -m venv) on first use, installs the package (editable),
# pytest and prometheus_client (whose parser reads the server's /metrics) into it, then runs
# tests/. The server binary is $WARDEN_BIN, else .build/debug/warden (built by `swift build`).
# Idempotent: a second run only checks what is installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || {
        echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
        exit 2
    }
fi
# The package, editable (so the tests always run the source here), pytest and prometheus_client.
# Another script may have installed a copy of the package into this venv; then it is replaced.
if ! "$venv/bin/python" - "$here/src" <<'PY' 2>/dev/null; then
import sys, pathlib, warden_client, pytest, google.protobuf, prometheus_client
sys.exit(0 if pathlib.Path(warden_client.__file__).resolve().is_relative_to(pathlib.Path(sys.argv[1]).resolve()) else 1)
PY
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here" "pytest>=7" "prometheus_client>=0.20"
fi

export WARDEN_BIN="${WARDEN_BIN:-$repo/.build/debug/warden}"
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider tests "$@"
