#!/usr/bin/env bash
# The production process model on this machine: gunicorn (config.wsgi, production settings), a
# Celery worker and Celery beat, against DATABASE_URL and REDIS_URL. `make serve` runs it.
#
#   DATABASE_URL=postgres://… REDIS_URL=redis://… scripts/serve.sh
#
# Knobs (environment): PORT (8000), WEB_CONCURRENCY (gunicorn workers, 2), CELERY_CONCURRENCY (2),
# SECRET_KEY (a random one for this run if unset), ALLOWED_HOSTS (127.0.0.1,localhost),
# SECURE_SSL_REDIRECT (false here: no TLS on loopback; behind nginx with HTTPS leave it true).
# Ctrl-C or SIGTERM stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin

[ -n "${DATABASE_URL:-}" ] || { echo "serve: 请设置 DATABASE_URL / set DATABASE_URL (PostgreSQL)" >&2; exit 2; }
[ -n "${REDIS_URL:-}" ] || { echo "serve: 请设置 REDIS_URL / set REDIS_URL (Celery broker and cache)" >&2; exit 2; }
export DJANGO_SETTINGS_MODULE=config.settings.prod
export SECRET_KEY=${SECRET_KEY:-$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
port=${PORT:-8000}

"$bin/python" manage.py migrate --noinput
"$bin/python" manage.py collectstatic --noinput --verbosity 0

state=$(mktemp -d)
pids=()
stop() {
    trap - EXIT INT TERM
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$state"
}
trap stop EXIT INT TERM

"$bin/celery" -A config worker --loglevel INFO --concurrency "${CELERY_CONCURRENCY:-2}" &
pids+=($!)
"$bin/celery" -A config beat --loglevel INFO --schedule "$state/celerybeat-schedule" &
pids+=($!)
"$bin/gunicorn" -c config/gunicorn.py config.wsgi:application --bind "127.0.0.1:$port" --workers "${WEB_CONCURRENCY:-2}" \
    --access-logfile - --graceful-timeout 20 --no-control-socket &  # gunicorn 27's socket path is per user
pids+=($!)
echo "serve: http://127.0.0.1:$port (gunicorn ×${WEB_CONCURRENCY:-2}, Celery worker, Celery beat); Ctrl-C stops" >&2
wait -n "${pids[@]}"  # any of the three ending ends the run
