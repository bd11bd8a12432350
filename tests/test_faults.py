"""Faults cost speed, never a report: Redis (cache and broker) down during a submit.

The production settings put both the cache and the Celery broker on ``REDIS_URL``. Here a
private redis-server (its own port, so the suite's Redis is untouched) plays that Redis, with the
cache configured exactly as production configures it (``config.settings.base.cache_settings``);
the test stops it, submits, and starts it again.
"""

import datetime as dt
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from config.settings.base import cache_settings
from students.models import DailyReport
from tests.conftest import missing_service
from tests.helpers import celery_configured

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/attendance/"


class PrivateRedis:
    """A redis-server on a free loopback port that a test may stop and start again."""

    def __init__(self, binary: str, tmp_path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.binary, self.dir, self.process = binary, tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("needs redis-server (apt-get install redis-server)")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production_redis(settings, private_redis):
    """Cache and broker on the private Redis, configured as in production."""
    settings.CACHES = cache_settings(private_redis.url)
    with celery_configured(broker_url=private_redis.url, task_always_eager=False):
        yield private_redis
    cache.close()


def body(classroom, day: dt.date, absent=()) -> dict:
    return {
        "classroom": classroom.pk,
        "date": day.isoformat(),
        "absences": [{"student": s.pk, "kind": "unexcused", "note": ""} for s in absent],
    }


def test_redis_down_during_submits_loses_no_report(
    world, term, today, api, client, production_redis, django_capture_on_commit_callbacks, caplog
):
    # Warm: the dashboard is cached in Redis and the cache answers.
    client.force_login(world.principal)
    assert client.get(reverse("dashboard-school")).status_code == 200
    cache.set("probe", 1)
    assert cache.get("probe") == 1

    production_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        first = api.as_user(world.teacher).post(URL, body(world.class_a, today, world.students_a[:1]), format="json")
        second = api.as_user(world.teacher2).post(URL, body(world.class_b, today), format="json")
    assert first.status_code == 201, first.content
    assert second.status_code == 201, second.content
    assert DailyReport.objects.filter(date=today, classroom__in=[world.class_a, world.class_b]).count() == 2
    # Pages that read the cache still answer (from the database), and the cache says "nothing".
    assert client.get(reverse("dashboard-school")).status_code == 200
    assert cache.get("probe") is None
    assert any(r.name == "django_redis.cache" and r.levelname == "ERROR" for r in caplog.records)  # logged

    production_redis.start()
    cache.set("probe", 2)
    assert cache.get("probe") == 2  # the cache is back without restarting anything
    # The evaluation missed while the broker was down is caught up by the nightly run.
    from students.attendance.tasks import nightly_risk_evaluation

    summary = nightly_risk_evaluation.apply(args=(today.isoformat(),)).get()
    assert summary[str(world.county.pk)]["students_checked"] >= len(world.students_a) + len(world.students_b)
