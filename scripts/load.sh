#!/usr/bin/env bash
# make load: gunicorn (production settings + the bare yardstick route, bench/load/settings.py) under
# wrk on the demo county, against DATABASE_URL and REDIS_URL. `make load` runs it under
# scripts/with-services.sh (throwaway PostgreSQL + Redis on loopback); see bench/load/run.py.
#
# Knobs (environment): LOAD_STUDENTS (100000), LOAD_DURATION (15 s), LOAD_CONNECTIONS (40),
# LOAD_THREADS (2), LOAD_PRINCIPALS (20), LOAD_SEED (1). Needs wrk on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin

[ -n "${DATABASE_URL:-}" ] || { echo "load: set DATABASE_URL (PostgreSQL)" >&2; exit 2; }
[ -n "${REDIS_URL:-}" ] || { echo "load: set REDIS_URL (Celery broker and cache)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "load: wrk not found (apt-get install wrk; make load installs it)" >&2; exit 2; }

state=$(mktemp -d "${TMPDIR:-/tmp}/kc-load-sh.XXXXXX")
export DJANGO_SETTINGS_MODULE=bench.load.settings
export SECRET_KEY=${SECRET_KEY:-$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}
export STATIC_ROOT=$state/static
export MEDIA_ROOT=$state/media
export LOAD_GUNICORN_PIDFILE=$state/gunicorn.pid

# run.py stops gunicorn itself; this is the backstop if run.py is killed outright.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -s "$state/gunicorn.pid" ]; then
        pid=$(cat "$state/gunicorn.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$state"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"$bin/python" -m bench.load.run &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 143' TERM
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 129' HUP
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 130' INT
wait $child
