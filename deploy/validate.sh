#!/usr/bin/env bash
# Validates the deployment files without Docker or a cluster:
#   1. the Kubernetes manifests (the SQLite variant in deploy/kubernetes/, the PostgreSQL one
#      in deploy/kubernetes/postgres/) against the Kubernetes 1.29 (the first with native
#      sidecars on by default) and 1.37 schemas, strict (unknown fields refused):
#      kubernetes-validate, which bundles the schemas, so nothing is fetched at run time;
#   2. compose.yaml, its postgres profile included, against the Compose specification's schema
#      (check-jsonschema's builtin vendor.compose-spec, bundled too; `docker compose config`
#      needs the compose plugin, which the project's machines do not have);
#   3. the files against each other and docs/cli.md (deploy/check_deploy.py: setting names,
#      allow lists against the uids/gids that share the socket, health checks, stop timeouts,
#      one pod per SQLite file, the PostgreSQL variants' Secret, URI and password file), and
#      deploy/test_check_deploy.py, which breaks the files one way at a time in a scratch copy
#      and expects check_deploy.py to say so;
#   4. the systemd unit with `systemd-analyze verify`, if systemd-analyze is installed;
#   5. the Dockerfile with hadolint and the shell scripts with shellcheck (both from PyPI):
#      deploy/*.sh, and scripts/postgres-cluster.sh, which .ci/run uses.
# Tools live in a virtualenv, .venv-deploy/, made on the first run and kept while
# deploy/requirements.txt is unchanged. Quiet on success; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-deploy
REQ=deploy/requirements.txt
fail=0
note() { printf 'validate: %s\n' "$*"; }
run() { # run NAME COMMAND...: print the command's output only when it fails
    local name=$1 out
    shift
    if ! out=$("$@" 2>&1); then
        note "FAILED: $name"
        printf '%s\n' "$out"
        fail=1
    fi
}

# The virtualenv, (re)made when the requirements change.
stamp=$VENV/.requirements
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$stamp"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$stamp"
fi
bin=$VENV/bin

# 1. Kubernetes
for version in 1.29.0 1.37.0; do
    run "kubernetes $version" "$bin/kubernetes-validate" --strict --quiet -k "$version" \
        deploy/kubernetes/*.yaml deploy/kubernetes/postgres/*.yaml
done

# 2. Compose
run "compose schema" "$bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml

# 3. The files against each other
run "consistency" "$bin/python" deploy/check_deploy.py
run "consistency checks' own test" "$bin/python" deploy/test_check_deploy.py

# 4. systemd: the unit as written, but for ExecStart's path, which verify needs to exist: it
#    points at a stand-in in a scratch folder.
if command -v systemd-analyze >/dev/null; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    install -m 0755 /dev/null "$scratch/warden"
    sed "s#^ExecStart=/usr/local/bin/warden #ExecStart=$scratch/warden #" deploy/systemd/warden.service \
        >"$scratch/warden.service"
    # shellcheck disable=SC2329 # called through run
    verify_unit() { # fails on a non-zero exit or on any output (verify's warnings exit 0)
        local out rc=0
        out=$(systemd-analyze verify --man=no "$1" 2>&1) || rc=$?
        printf '%s' "$out"
        [ "$rc" = 0 ] && [ -z "$out" ]
    }
    run "systemd-analyze verify" verify_unit "$scratch/warden.service"
else
    note "skipped: systemd-analyze is not installed (Debian's systemd package has it)"
fi

# 5. Linters
run "hadolint" "$bin/hadolint" --failure-threshold warning deploy/Dockerfile
run "shellcheck" "$bin/shellcheck" deploy/*.sh scripts/postgres-cluster.sh

exit "$fail"
