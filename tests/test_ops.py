"""Operations: /healthz, the beat heartbeat, a database outage answered as a clean 503, the favicon."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.test import Client
from django.utils import timezone

from students import ops
from students.tasks import beat_heartbeat
from tests.helpers import free_port

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, json.loads(response.content)


def test_healthz_without_redis_is_inline_and_healthy(client, settings):
    settings.REDIS_URL = ""
    status, body = health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True}
    assert body["redis"]["mode"] == body["beat"]["mode"] == "inline"


@pytest.mark.celery_worker
def test_healthz_reports_the_beat_heartbeat(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    redis.Redis.from_url(redis_url).delete(ops.HEARTBEAT_KEY)
    status, body = health(client)
    assert status == 503
    assert body["redis"] == {"ok": True}
    assert body["beat"]["ok"] is False

    beat_heartbeat.apply()  # what the worker does when beat sends it
    status, body = health(client)
    assert status == 200, body
    assert body["beat"]["ok"] is True
    assert body["beat"]["age_seconds"] <= 5

    ops.record_heartbeat(timezone.now() - ops.HEARTBEAT_STALE - dt.timedelta(minutes=1))
    status, body = health(client)
    assert status == 503
    assert body["beat"]["ok"] is False
    assert body["beat"]["age_seconds"] > ops.HEARTBEAT_STALE.total_seconds()


def test_healthz_says_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, body = health(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_outage_is_a_clean_503_in_chinese_and_recovers_by_itself(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.teacher)
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())  # nothing listens there: as during a restart
    try:
        api = client.get("/api/v1/me/")
        page = client.get("/students/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert api.status_code == 503
    assert api["Retry-After"] == "30"
    assert json.loads(api.content)["detail"] == ops.DATABASE_DOWN
    assert page.status_code == 503
    assert "数据库暂时不可用" in page.content.decode()
    # The next request reconnects: no restart of the web process.
    assert client.get("/api/v1/me/").status_code == 200


def test_other_errors_stay_a_plain_500(rf):
    request = rf.get("/students/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = ops.server_error(request)
    assert response.status_code == 500


def test_favicon_is_served_from_static(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_production_refuses_to_start_without_redis():
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-9f8e7d6c",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "REDIS_URL must be set in production" in result.stderr


def test_gunicorn_workers_freeze_the_loaded_app_out_of_the_garbage_collector():
    """config/gunicorn.py's post_worker_init loads the URLconf and views, then gc.freeze()s them."""
    script = (
        "import django, gc, runpy; django.setup();"
        "hooks = runpy.run_path('config/gunicorn.py'); hooks['post_worker_init'](None);"
        "import sys; print(gc.get_freeze_count(), 'students.views' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    frozen, views_loaded = out.stdout.split()
    assert int(frozen) > 100_000, out.stderr
    assert views_loaded == "True"


def test_every_way_to_run_gunicorn_uses_its_config_file():
    import re

    for name in ("scripts/serve.sh", "deploy/systemd/kongchuo-web.service", "deploy/compose.yaml", "Dockerfile"):
        text = " ".join(re.sub(r"[\"',\[\]\\]", " ", (ROOT / name).read_text()).split())
        assert re.search(r"gunicorn -c config/gunicorn\.py config\.wsgi:application", text), name
    load = " ".join(re.sub(r"[\"',]", " ", (ROOT / "bench/load/run.py").read_text()).split())
    assert re.search(r"gunicorn \) -c config/gunicorn\.py config\.wsgi:application", load)
