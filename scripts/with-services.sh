#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster and Redis server.
#
#   scripts/with-services.sh CMD [ARGS...]
#
# Both servers listen on free TCP ports on 127.0.0.1 only and keep all their files in one
# temporary directory. The command runs with
#
#   DATABASE_URL=postgres://kc:kc@127.0.0.1:<port>/kc   (role kc has CREATEDB, for test_ databases)
#   REDIS_URL=redis://127.0.0.1:<port>/0
#
# exported. Whatever happens (success, failure, Ctrl-C, SIGTERM) both servers are stopped and the
# temporary directory is deleted; the script exits with the command's exit status.
#
# PostgreSQL refuses to run as root, so when run as root the cluster runs as the `postgres`
# system user (created by the Debian `postgresql` package). Needs: postgresql, redis-server
# (Debian packages; `make test` installs them) and python3 (to pick free ports).
#
# Environment knobs:
#   WITH_SERVICES_TIMEOUT   seconds to wait for each server to become ready (default 60)
#   WITH_SERVICES_KEEP_LOGS directory to copy the server logs into before cleaning up (optional)
set -euo pipefail

prog=with-services
die() {
    echo "$prog: error: $*" >&2
    exit 1
}
log() { echo "$prog: $*" >&2; }

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

timeout_s=${WITH_SERVICES_TIMEOUT:-60}

# --- locate binaries --------------------------------------------------------------------------
pg_bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bindir" ] && [ -x "$pg_bindir/initdb" ] && [ -x "$pg_bindir/pg_ctl" ] ||
    die "no PostgreSQL server found under /usr/lib/postgresql/*/bin (install the 'postgresql' package)"
command -v redis-server >/dev/null 2>&1 || die "redis-server not found (install the 'redis-server' package)"
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (install the 'redis-server' package)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
psql=$pg_bindir/psql
[ -x "$psql" ] || psql=$(command -v psql) || die "psql not found"
pg_isready=$pg_bindir/pg_isready
[ -x "$pg_isready" ] || pg_isready=$(command -v pg_isready) || die "pg_isready not found"

# Run a command as the user that owns the cluster.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user (install the 'postgresql' package)"
    if command -v runuser >/dev/null 2>&1; then
        as_pg() { runuser -u postgres -- "$@"; }
    else
        as_pg() { su -s /bin/sh postgres -c "$(printf '%q ' "$@")"; }
    fi
    tmp_base=/tmp # must be reachable by the postgres user, so do not follow TMPDIR
else
    as_pg() { "$@"; }
    tmp_base=${TMPDIR:-/tmp}
fi

# --- state and cleanup ------------------------------------------------------------------------
tmp=""
pgdata=""
pg_started=0
redis_pid=""

# True if the process exists and is not a zombie (a reparented postmaster may linger as one
# until init reaps it).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    set +e
    if [ -n "$redis_pid" ] && alive "$redis_pid"; then
        kill -TERM "$redis_pid" 2>/dev/null
        for _ in $(seq 1 50); do
            alive "$redis_pid" || break
            sleep 0.1
        done
        kill -KILL "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
    fi
    if [ "$pg_started" = 1 ] && [ -f "$pgdata/postmaster.pid" ]; then
        local pg_pid
        pg_pid=$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null)
        if ! (cd "$tmp" && as_pg "$pg_bindir/pg_ctl" -D "$pgdata" -m immediate -w -t 20 stop) >/dev/null 2>&1 &&
            [ -n "$pg_pid" ] && alive "$pg_pid"; then
            log "PostgreSQL did not stop, killing it"
            kill -KILL "$pg_pid" 2>/dev/null
            sleep 0.5
        fi
    fi
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        if [ -n "${WITH_SERVICES_KEEP_LOGS:-}" ]; then
            mkdir -p "$WITH_SERVICES_KEEP_LOGS" && cp -f "$tmp"/*.log "$WITH_SERVICES_KEEP_LOGS"/ 2>/dev/null
        fi
        cd /
        rm -rf "$tmp"
    fi
    exit "$rc"
}
# Before the command starts a signal just ends the script (the EXIT trap cleans up). While it
# runs, the signal is passed on to it and the script waits for it to finish, so the exit status
# is the command's own. SIGINT is not passed on when stdin is a terminal: Ctrl-C already reaches
# the command through the process group.
child=""
on_signal() {
    local sig=$1 code=$2
    if [ -z "$child" ]; then
        exit "$code"
    fi
    if [ "$sig" != INT ] || [ ! -t 0 ]; then
        kill -"$sig" "$child" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

show_log() {
    if [ -f "$1" ]; then
        echo "---- last lines of $(basename "$1") ----" >&2
        tail -n 30 "$1" >&2
        echo "----" >&2
    fi
}

# --- temp dir and ports -----------------------------------------------------------------------
tmp=$(mktemp -d "$tmp_base/kc-services.XXXXXX")
chmod 711 "$tmp" # postgres user must be able to traverse it
pgdata=$tmp/pgdata
pgsock=$tmp/pgsock
mkdir -m 700 "$pgdata"
mkdir -m 755 "$pgsock"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pgdata" "$pgsock"
    touch "$tmp/postgres.log" && chown postgres: "$tmp/postgres.log"
fi

# Two distinct free ports (both sockets are held open until both are chosen).
read -r pg_port redis_port < <(python3 -c '
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
')
[ -n "${pg_port:-}" ] && [ -n "${redis_port:-}" ] || die "could not pick free ports"

# --- PostgreSQL -------------------------------------------------------------------------------
(cd "$tmp" && as_pg "$pg_bindir/initdb" -D "$pgdata" -U postgres --encoding=UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 --no-instructions >"$tmp/initdb.log" 2>&1) || {
    show_log "$tmp/initdb.log"
    die "initdb failed"
}

cat >>"$pgdata/postgresql.conf" <<EOF

# --- throwaway test cluster (scripts/with-services.sh) ---
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pgsock'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 1GB
logging_collector = off
log_min_messages = warning
EOF

pg_started=1
(cd "$tmp" && as_pg "$pg_bindir/pg_ctl" -D "$pgdata" -l "$tmp/postgres.log" -w -t "$timeout_s" start >/dev/null 2>&1) || {
    show_log "$tmp/postgres.log"
    die "PostgreSQL did not start (see log above)"
}

deadline=$((SECONDS + timeout_s))
until "$pg_isready" -q -h 127.0.0.1 -p "$pg_port" -d postgres -t 2; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        show_log "$tmp/postgres.log"
        die "PostgreSQL on 127.0.0.1:$pg_port not ready after ${timeout_s}s"
    fi
    sleep 0.2
done

"$psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p "$pg_port" -U postgres -d postgres >/dev/null <<'EOF' ||
CREATE ROLE kc LOGIN PASSWORD 'kc' CREATEDB;
CREATE DATABASE kc OWNER kc;
EOF
    die "could not create the kc role and database"
# PostgreSQL 15+: kc may ask for a CHECKPOINT (make load settles the database before measuring).
"$psql" -X -q -h "$pgsock" -p "$pg_port" -U postgres -d postgres -c "GRANT pg_checkpoint TO kc" >/dev/null 2>&1 || true

# --- Redis ------------------------------------------------------------------------------------
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    --daemonize no --loglevel warning </dev/null >"$tmp/redis.log" 2>&1 &
redis_pid=$!

deadline=$((SECONDS + timeout_s))
until [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = "PONG" ]; do
    if ! alive "$redis_pid"; then
        show_log "$tmp/redis.log"
        die "redis-server exited during startup (see log above)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        show_log "$tmp/redis.log"
        die "Redis on 127.0.0.1:$redis_port not ready after ${timeout_s}s"
    fi
    sleep 0.1
done

# --- run the command --------------------------------------------------------------------------
export DATABASE_URL="postgres://kc:kc@127.0.0.1:$pg_port/kc"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export KC_REQUIRE_SERVICES=1 # tests needing PostgreSQL, Redis or Chromium fail instead of skipping
log "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"

# The command runs in the background so that the traps above fire while it runs (bash defers
# traps until a foreground command finishes). Background commands of a non-interactive shell
# start with SIGINT/SIGQUIT ignored and stdin on /dev/null; the small exec wrapper restores the
# default signal handling and stdin is passed on explicitly.
set +e
python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as e:
    print(f"{sys.argv[1]}: {e.strerror}", file=sys.stderr)
    sys.exit(127 if isinstance(e, FileNotFoundError) else 126)
' "$@" <&0 &
child=$!
wait "$child"
rc=$?
while alive "$child"; do # wait was interrupted by a trapped signal
    wait "$child"
    rc=$?
done
wait "$child" 2>/dev/null # collect the real status if a signal interrupted the last wait
rc=$?
set -e
exit "$rc"
