#!/usr/bin/env bash
# Run the whole test suite through PgBouncer in transaction mode in front of PostgreSQL 15:
# locally, the closest thing to Supabase's transaction pooler (port 6543).
#
#   scripts/test-pooler.sh [pytest arguments]
#
# Both servers run as the `postgres` system user (they refuse root), from a throwaway
# directory, on free loopback ports; they are stopped and the directory removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PGBOUNCER=/usr/sbin/pgbouncer
SERVER_USER=postgres
DATABASE=quire_test
PYTEST=.venv/bin/pytest
# A hung test must not hang CI: interrupt pytest (it then reports where it was) after this long.
TIMEOUT_SECONDS=${TEST_POOLER_TIMEOUT:-1800}

log() { printf 'test-pooler: %s\n' "$*" >&2; }

install_missing() {
    local packages=()
    [[ -x $PG_BIN/postgres ]] || packages+=("postgresql-$PG_MAJOR")
    [[ -x $PGBOUNCER ]] || packages+=(pgbouncer)
    ((${#packages[@]})) || return 0
    log "installing ${packages[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null
}

# Run a server binary as the server user when we are root (PostgreSQL and PgBouncer refuse it).
as_server() {
    if ((EUID == 0)); then
        (cd "$WORKDIR" && runuser -u "$SERVER_USER" -- "$@")
    else
        (cd "$WORKDIR" && "$@")
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until `psql` gets an answer on the given port (PostgreSQL or PgBouncer).
wait_for() {
    local port=$1 database=$2
    for _ in $(seq 100); do
        if "$PG_BIN/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d "$database" -qAtc 'SELECT 1' \
            >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    log "nothing answers on port $port"
    return 1
}

start_postgres() {
    as_server "$PG_BIN/initdb" -D "$WORKDIR/pgdata" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        -U postgres >"$WORKDIR/initdb.log"
    # A throwaway cluster: durability off for speed.
    local options="-h 127.0.0.1 -p $PG_PORT -k $WORKDIR -c max_connections=200"
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    as_server "$PG_BIN/pg_ctl" -D "$WORKDIR/pgdata" -l "$WORKDIR/postgres.log" -w -t 60 \
        -o "$options" start >/dev/null
    wait_for "$PG_PORT" postgres
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$DATABASE"
}

write_pgbouncer_config() {
    printf '"postgres" ""\n' >"$WORKDIR/userlist.txt"
    cat >"$WORKDIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $WORKDIR
pidfile = $WORKDIR/pgbouncer.pid
logfile = $WORKDIR/pgbouncer.log
auth_type = trust
auth_file = $WORKDIR/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
server_round_robin = 0
ignore_startup_parameters = extra_float_digits,options
log_connections = 0
log_disconnections = 0
EOF
    # PgBouncer 1.21+ can track prepared statements itself; keep that off to stay as strict
    # as a pooler that cannot (the suite must not depend on it).
    if pgbouncer_at_least 1.21; then
        echo "max_prepared_statements = 0" >>"$WORKDIR/pgbouncer.ini"
    fi
}

pgbouncer_at_least() {
    local version
    version=$("$PGBOUNCER" --version | awk 'NR == 1 { print $2 }')
    [[ $(printf '%s\n' "$1" "$version" | sort -V | head -n 1) == "$1" ]]
}

start_pgbouncer() {
    write_pgbouncer_config
    # Room for max_client_conn sockets.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 4096 2>/dev/null || true
    as_server "$PGBOUNCER" -q -d "$WORKDIR/pgbouncer.ini"
    wait_for "$BOUNCER_PORT" "$DATABASE"
}

stop_all() {
    local status=$?
    trap - EXIT INT TERM
    if ((status != 0)) && [[ -d ${WORKDIR:-} ]]; then
        for file in pgbouncer.log postgres.log; do
            [[ -f $WORKDIR/$file ]] && { log "last lines of $file:"; tail -n 20 "$WORKDIR/$file" >&2; }
        done
    fi
    if [[ -s ${WORKDIR:-}/pgbouncer.pid ]]; then
        local pid
        pid=$(<"$WORKDIR/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if [[ -f ${WORKDIR:-}/pgdata/postmaster.pid ]]; then
        as_server "$PG_BIN/pg_ctl" -D "$WORKDIR/pgdata" -m fast -w stop >/dev/null 2>&1 || true
    fi
    [[ -n ${WORKDIR:-} ]] && rm -rf "$WORKDIR"
    exit "$status"
}

main() {
    [[ -x $PYTEST ]] || { log "run 'make install' first"; exit 2; }
    install_missing
    # Under /tmp: the server user must reach it, and socket paths must stay short.
    WORKDIR=$(mktemp -d /tmp/quire-pooler.XXXXXX)
    trap stop_all EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ((EUID != 0)) || chown "$SERVER_USER:" "$WORKDIR"
    chmod 700 "$WORKDIR"
    PG_PORT=$(free_port)
    BOUNCER_PORT=$(free_port)
    while [[ $BOUNCER_PORT == "$PG_PORT" ]]; do BOUNCER_PORT=$(free_port); done

    start_postgres
    start_pgbouncer
    log "PostgreSQL $PG_MAJOR on 127.0.0.1:$PG_PORT, PgBouncer (transaction mode) on :$BOUNCER_PORT"
    TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$BOUNCER_PORT/$DATABASE" \
    TEST_DATABASE_DIRECT_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$DATABASE" \
    TEST_DATABASE_POOL_MODE=transaction \
        env -u DATABASE_URL -u DATABASE_DIRECT_URL \
        timeout --foreground --signal=INT --kill-after=60 "$TIMEOUT_SECONDS" \
        "$PYTEST" -q -p no:cacheprovider "$@"
}

main "$@"
