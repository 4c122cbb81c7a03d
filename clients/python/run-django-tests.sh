#!/usr/bin/env bash
# The Django integration's tests: a test project on SQLite, a real Warden server started by the
# tests (WARDEN_BIN, default <repo>/.build/debug/warden) and django-guardian beside it.
# Creates clients/python/.venv when missing (idempotent, shared with run-tests.sh), installs the
# package and requirements-django-test.txt into it, then runs pytest. Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-django-test.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here"

export WARDEN_BIN="${WARDEN_BIN:-$repo/.build/debug/warden}"
cd "$here/tests_django"
# A fresh folder for the database and the socket of each run.
WARDEN_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/warden-django-XXXXXX")"
export WARDEN_TEST_DIR
trap 'rm -rf "$WARDEN_TEST_DIR"' EXIT
"$venv/bin/python" -m pytest -c pytest.ini "$@"
