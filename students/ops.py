"""Operations: the health check, the beat heartbeat and the answer when the database is down.

- ``GET /healthz``: the database, Redis and the last beat heartbeat, as JSON; 200 when all are
  well, 503 (with what failed) otherwise. Without ``REDIS_URL`` (``make run``) Redis and beat are
  "inline" and count as well.
- The heartbeat: Celery beat sends ``students.tasks.beat_heartbeat`` every minute; the worker that
  runs it stamps the time in Redis. A stamp older than ``HEARTBEAT_STALE`` means beat or the
  workers are not running (weekly reports, nightly rules and deadline reminders would not happen).
- ``server_error`` (``handler500``): a database that is down or restarting answers 503 with a
  Chinese message (JSON under ``/api/``), not a bare 500; any other error is the usual 500 page.
  With ``CONN_HEALTH_CHECKS`` the next request after a restart reconnects by itself.
"""

import datetime as dt
import logging
import sys

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as django_server_error

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "kc:beat:heartbeat"
HEARTBEAT_EVERY = dt.timedelta(minutes=1)
HEARTBEAT_STALE = dt.timedelta(minutes=10)
REDIS_TIMEOUT = 0.5  # seconds: a health check must answer even when Redis hangs
DATABASE_DOWN = "数据库暂时不可用(可能正在重启或维护),您的操作未保存,请稍后重试。"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)


def record_heartbeat(now: dt.datetime | None = None) -> None:
    """Stamp "beat and a worker are alive" in Redis (what the beat task does every minute)."""
    _redis().set(HEARTBEAT_KEY, (now or timezone.now()).isoformat(), ex=int(HEARTBEAT_STALE.total_seconds()) * 6)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _check_redis_and_beat(now: dt.datetime) -> tuple[dict, dict]:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "inline"}, {"ok": True, "mode": "inline"}
    try:
        client = _redis()
        client.ping()
        stamp = client.get(HEARTBEAT_KEY)
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}, {"ok": False, "error": "Redis unreachable"}
    if stamp is None:
        return {"ok": True}, {"ok": False, "last_run": None, "error": "no heartbeat yet"}
    last = dt.datetime.fromisoformat(stamp.decode())
    age = (now - last).total_seconds()
    beat = {"ok": age <= HEARTBEAT_STALE.total_seconds(), "last_run": last.isoformat(), "age_seconds": round(age)}
    return {"ok": True}, beat


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page says: send them to the static icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    checks = {"database": _check_database()}
    checks["redis"], checks["beat"] = _check_redis_and_beat(now)
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checked_at": now.isoformat(), **checks}
    return JsonResponse(body, status=200 if healthy else 503)


def _database_down() -> bool:
    exc = sys.exc_info()[1]
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a database outage is a 503 with a message a teacher understands."""
    if not _database_down():
        return django_server_error(request)
    logger.error("database unavailable: %s %s", request.method, request.path)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": DATABASE_DOWN}, status=503)
    else:
        response = HttpResponse(
            f'<!doctype html><html lang="zh-hans"><meta charset="utf-8"><title>服务暂时不可用</title>'
            f"<h1>服务暂时不可用</h1><p>{DATABASE_DOWN}</p></html>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = "30"
    return response
