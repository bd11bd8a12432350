"""A Celery worker killed with SIGKILL half-way through a report: another worker finishes it, whole.

Both workers are real processes (tests/reporting/worker_process.py) on the suite's Redis and the
test database. The first one builds slowly so that it can be killed while the run is running.
"""

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from django.db import connection

from reporting import services
from reporting.models import ReportRun
from tests.helpers import W47, celery_configured, wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def worker(redis_url: str, media: Path, *flags: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(media),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reporting.worker_process", *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_report_of_a_killed_worker_is_finished_by_another_and_its_file_is_whole(
    attendance,
    redis_url,
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path
    slow = worker(redis_url, tmp_path, "--slow-builds")
    rescuer = None
    try:
        with celery_configured(broker_url=redis_url, result_backend=redis_url, task_always_eager=False) as app:
            app.control.purge()
            run, created = services.request_run(user=attendance.principal, kind="school_weekly", period=W47)
            assert created
            running = wait_for(run.pk, "running")
            assert running.attempts == 1
            time.sleep(0.5)  # the slow build is sleeping after its first progress step
            slow.send_signal(signal.SIGKILL)
            slow.wait(timeout=10)
            killed = ReportRun.objects.get(pk=run.pk)
            assert (killed.status, killed.attempts, bool(killed.file)) == ("running", 1, False)

            rescuer = worker(redis_url, tmp_path, "--visibility-timeout", "2")
            done = wait_for(run.pk, "done", "failed")
    finally:
        for process in (slow, rescuer):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    assert done.status == "done", done.error
    assert done.attempts == 2  # built again from scratch by the second worker
    content = Path(done.file.path).read_bytes()
    assert hashlib.sha256(content).hexdigest() == done.checksum
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook["在校学生登记表"]["A3"].value == "序号"
