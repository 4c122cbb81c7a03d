#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI, in one folder, reachable only through a Unix
# socket in that folder:
#
#   scripts/postgres-cluster.sh start DIR     # initdb (first time) and start; DIR is created
#   scripts/postgres-cluster.sh uri DIR       # postgresql:///warden?host=DIR&port=5432&user=warden
#   scripts/postgres-cluster.sh psql DIR ...  # psql on that URI, e.g. psql DIR -c 'select 1'
#   scripts/postgres-cluster.sh restart DIR   # pg_ctl restart -m fast (clients are cut off)
#   scripts/postgres-cluster.sh status DIR    # exit 0 when the server runs
#   scripts/postgres-cluster.sh stop DIR      # pg_ctl stop -m fast, then DIR is removed
#
# The server is Debian's (the newest /usr/lib/postgresql/N/bin), installed with apt-get when
# missing. It refuses to run as root, so when this script runs as root the cluster belongs to
# an unprivileged system user, warden-pg (created when missing), and DIR is given to it. DIR is
# 0755 and the socket 0777, so any local user can connect: authentication is `trust` for local
# connections, and the only role is the superuser `warden`, owner of the database `warden`.
# Nothing listens on TCP (listen_addresses ''). fsync and synchronous_commit keep their
# defaults (on); max_connections is 200 (three servers' connections and the tests' own).
#
# DIR must be empty or missing for a first start; `stop` removes DIR only if this script made
# the cluster in it (DIR/.postgres-cluster marks it).
set -euo pipefail

readonly OWNER=warden-pg ROLE=warden DATABASE=warden PORT=5432 MAX_CONNECTIONS=200
readonly MARK=.postgres-cluster

die() { printf 'postgres-cluster: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 start|stop|restart|status|uri DIR | psql DIR [PSQL-ARGS...]"; }

# The newest Debian PostgreSQL's bin folder, installing the server first when there is none.
bin_dir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        [ "$(id -u)" = 0 ] || die "PostgreSQL's server is not installed: run as root, or apt-get install postgresql"
        printf 'postgres-cluster: installing postgresql with apt-get\n' >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
        dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n 1)
        [ -x "$dir/initdb" ] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb"
    fi
    printf '%s\n' "$dir"
}

# as_owner COMMAND...: runs COMMAND as the cluster's owner (warden-pg under root, else oneself),
# from /, with none of the caller's PG* variables (PGPORT would move the server's port).
as_owner() {
    local -a env_clean=(env -u PGDATA -u PGPORT -u PGHOST -u PGUSER -u PGDATABASE -u PGOPTIONS)
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$OWNER" -- "${env_clean[@]}" "$@")
    else
        (cd / && "${env_clean[@]}" "$@")
    fi
}

owner_name() { if [ "$(id -u)" = 0 ]; then echo "$OWNER"; else id -un; fi; }

ensure_owner() {
    [ "$(id -u)" = 0 ] || return 0
    id -u "$OWNER" >/dev/null 2>&1 && return 0
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$OWNER" 2>/dev/null || id -u "$OWNER" >/dev/null 2>&1 \
        || die "could not create the user $OWNER"
}

uri() { printf 'postgresql:///%s?host=%s&port=%s&user=%s\n' "$DATABASE" "$DIR" "$PORT" "$ROLE"; }

# Whether the cluster's postmaster runs. pg_ctl status alone says yes for a postmaster killed
# with -9 and not yet reaped (a zombie; some containers' init reaps them seconds late).
running() {
    local pid state
    [ -f "$DIR/data/postmaster.pid" ] || return 1
    pid=$(head -n 1 "$DIR/data/postmaster.pid")
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != Z ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

# pg_ctl_run ACTION [ARGS...]: pg_ctl on the cluster, waiting up to 60 s; the log's tail on failure.
pg_ctl_run() {
    local action=$1
    shift
    if ! as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 "$action" "$@" >/dev/null; then
        tail -n 20 "$DIR/postgres.log" >&2 2>/dev/null || true
        die "pg_ctl $action failed in $DIR (log: $DIR/postgres.log)"
    fi
}

init_cluster() {
    if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
        die "$DIR is not empty and holds no cluster of this script"
    fi
    ensure_owner
    local made=
    [ -e "$DIR" ] || made=1
    mkdir -p "$DIR"
    chmod 0755 "$DIR"
    if [ "$(id -u)" = 0 ]; then
        chown "$OWNER:$OWNER" "$DIR"
    fi
    if ! as_owner test -w "$DIR" -a -x "$DIR"; then
        [ -z "$made" ] || rmdir "$DIR"
        die "$DIR is out of $(owner_name)'s reach: a folder above it is closed to it (use one under /tmp)"
    fi
    # The cluster's own files sync at the server's checkpoints; initdb's sync of a new,
    # throwaway folder would only slow the start.
    as_owner "$BIN/initdb" -D "$DIR/data" -U "$ROLE" --auth=trust -E UTF8 --locale=C --no-sync >/dev/null \
        || die "initdb failed in $DIR/data"
    cat >>"$DIR/data/postgresql.conf" <<EOF

# scripts/postgres-cluster.sh: a Unix socket in $DIR only.
listen_addresses = ''
unix_socket_directories = '$DIR'
unix_socket_permissions = 0777
port = $PORT
max_connections = $MAX_CONNECTIONS
EOF
    touch "$DIR/$MARK"
}

start() {
    if [ ! -f "$DIR/$MARK" ]; then
        init_cluster
    fi
    if running; then
        return 0
    fi
    # The server refuses to start while the pid in postmaster.pid exists, a zombie included.
    local pid tries=0
    pid=$(head -n 1 "$DIR/data/postmaster.pid" 2>/dev/null) || true
    while [ -n "$pid" ] && [ -e "/proc/$pid" ] && [ "$tries" -lt 600 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    pg_ctl_run start
    if [ -z "$(as_owner "$BIN/psql" -X -At -d "postgresql:///postgres?host=$DIR&port=$PORT&user=$ROLE" \
        -c "select 1 from pg_database where datname = '$DATABASE'")" ]; then
        as_owner "$BIN/createdb" -h "$DIR" -p "$PORT" -U "$ROLE" "$DATABASE" \
            || die "could not create the database $DATABASE"
    fi
}

stop() {
    [ -e "$DIR" ] || return 0
    [ -f "$DIR/$MARK" ] || die "$DIR holds no cluster of this script; left alone"
    if running; then
        pg_ctl_run stop -m fast
    fi
    rm -rf "$DIR"
}

[ $# -ge 2 ] || usage
command=$1
DIR=$2
shift 2
case $DIR in
    /*) ;;
    *) DIR=$(pwd)/$DIR ;;
esac
DIR=${DIR%/}
# The folder goes into postgresql.conf and a URI's query string unquoted, and into the socket's
# path, which Linux caps at 107 bytes.
[[ $DIR =~ ^[A-Za-z0-9._/+-]+$ ]] || die "DIR may hold only letters, digits and ._/+- (got $DIR)"
socket="$DIR/.s.PGSQL.$PORT"
[ "${#socket}" -le 107 ] || die "DIR is too long: the socket path $socket passes 107 bytes"
readonly DIR

case $command in
    start) BIN=$(bin_dir); start ;;
    stop) BIN=$(bin_dir); stop ;;
    restart)
        BIN=$(bin_dir)
        [ -f "$DIR/$MARK" ] || die "$DIR holds no cluster: start it first"
        pg_ctl_run restart -m fast
        ;;
    status) BIN=$(bin_dir); [ -f "$DIR/$MARK" ] && running ;;
    uri) [ $# -eq 0 ] || usage; uri ;;
    psql) BIN=$(bin_dir); "$BIN/psql" -X "$(uri)" "$@" ;;
    *) usage ;;
esac
