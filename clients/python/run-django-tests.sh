#!/usr/bin/env bash
# The Django integration's tests: test projects on SQLite, a real Warden server started by the
# tests (WARDEN_BIN, default <repo>/.build/debug/warden) and django-guardian beside it.
# Creates clients/python/.venv when missing (idempotent, shared with run-tests.sh), installs the
# package and requirements-django-test.txt into it, then runs pytest once per suite:
#   tests_django                     auth.User (testproject.settings)
#   tests_django_custom              a custom user model with PermissionsMixin and its own pk
#                                    (customproject.settings)
#   tests_django_custom (team)       a user model whose groups are a Group subclass through a
#                                    custom model (customproject.settings_team)
#   tests_django_compat              WARDEN_GUARDIAN_COMPAT on, guardian's backend and imports kept
#                                    (compatproject.settings; the package's pytest plugin)
# Extra arguments go to pytest. A test file or node id (foo.py, foo.py::test) runs only in the
# suite whose folder holds it; a suite that selects no test (pytest exit 5, e.g. -k) is skipped.
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

# Whether every file argument (foo.py or foo.py::node) exists in folder $1.
holds_files() {
    local dir="$1" arg
    shift
    for arg in "$@"; do
        case "$arg" in
            -*) ;;
            *.py | *.py::*) [ -e "$dir/${arg%%::*}" ] || return 1 ;;
        esac
    done
    return 0
}

dirs=()
trap 'rm -rf "${dirs[@]}"' EXIT
failed=0
ran=0
for suite in "tests_django testproject.settings" "tests_django_custom customproject.settings" \
    "tests_django_custom customproject.settings_team" "tests_django_compat compatproject.settings"; do
    read -r folder settings <<<"$suite"
    holds_files "$here/$folder" "$@" || continue
    # A fresh folder for the database and the socket of each run.
    WARDEN_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/warden-django-XXXXXX")"
    dirs+=("$WARDEN_TEST_DIR")
    export WARDEN_TEST_DIR
    echo "== $folder ($settings)"
    status=0
    (cd "$here/$folder" && "$venv/bin/python" -m pytest -c pytest.ini --ds="$settings" "$@") || status=$?
    if [ "$status" -eq 5 ]; then
        continue # no test selected in this suite
    fi
    ran=$((ran + 1))
    [ "$status" -eq 0 ] || failed=$status
done
if [ "$ran" -eq 0 ]; then
    echo "run-django-tests.sh: no suite selected a test for: $*" >&2
    exit 5
fi
exit "$failed"
