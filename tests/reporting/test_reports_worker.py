"""Reports through a real Celery worker against a real Redis, and runs that die half-way.

The worker runs in this process (``start_worker``, solo pool) and reads the same test database,
so the tests use ``transaction=True``: the request's ``on_commit`` really queues the task.
"""

import io

import openpyxl
import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from reporting import selectors, services, tasks
from reporting.models import DownloadLog, ReportRun
from tests import factories as f
from tests.helpers import DEADLINE_SECONDS, W47, celery_configured, wait_for


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def redis_worker(settings, redis_url):
    with (
        celery_configured(broker_url=redis_url, result_backend=redis_url, task_always_eager=False) as app,
        start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"),
    ):
        yield app


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_builds_the_report_and_the_file_downloads(redis_worker, attendance, api):
    client = api.as_user(attendance.principal)
    answer = client.post(reverse("api-report-generate"), {"kind": "school_weekly", "period": W47}, format="json")
    assert answer.status_code == 202
    assert answer.data["status"] in ("queued", "running", "done")
    run = wait_for(answer.data["id"], "done", "failed")
    assert run.status == "done", run.error
    assert run.attempts == 1
    assert run.data["summary"]["attendance_rate"] == 93.33  # 14 of 15
    assert len(run.checksum) == 64

    detail = client.get(reverse("api-report-detail", args=[run.pk])).data
    assert (detail["status"], detail["progress"]) == ("done", 100)
    download = client.get(reverse("api-report-file", args=[run.pk]))
    assert download.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert wb["在校学生登记表"]["A3"].value == "序号"
    assert DownloadLog.objects.filter(run=run, user=attendance.principal).count() == 1

    again = client.post(reverse("api-report-generate"), {"kind": "school_weekly", "period": W47}, format="json")
    assert (again.status_code, again.data["id"], again.data["status"]) == (202, run.pk, "done")
    assert ReportRun.objects.count() == 1


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_run_left_running_by_a_killed_worker_is_completed_on_redelivery(redis_worker, attendance):
    # A worker took the run, marked it running and died before writing anything.
    stuck = f.ReportRunFactory(
        kind="county_weekly", period=W47, scope=attendance.county, status="running", progress=40, attempts=1
    )
    assert not stuck.file
    # The broker redelivers the unacknowledged message: the run is built again from scratch.
    result = tasks.generate_report.delay(stuck.pk)
    assert result.get(timeout=DEADLINE_SECONDS)["status"] == "done"
    stuck.refresh_from_db()
    assert (stuck.status, stuck.progress, stuck.attempts) == ("done", 100, 2)
    assert stuck.file
    assert len(stuck.checksum) == 64
    assert stuck.data["schools"][0]["name"] == "清溪镇中学"


@pytest.mark.django_db(transaction=True)
def test_a_run_is_never_done_without_its_file(attendance):
    """The builder dies half-way: the run is not done, has no file and no checksum; a retry finishes it."""
    real = services.BUILDERS["school_weekly"]

    def dies_half_way(run, progress):
        progress(50)
        raise RuntimeError("worker killed")

    services.BUILDERS["school_weekly"] = dies_half_way
    try:
        run, _ = services.request_run(user=attendance.principal, kind="school_weekly", period=W47)
        # on_commit ran the (eager) task: it gave up and marked the run failed.
        run.refresh_from_db()
        assert run.status == "failed"
        assert "worker killed" in run.error
        assert not run.file
        assert run.checksum == ""
        assert run.progress == 50
        ReportRun.objects.filter(pk=run.pk).update(status="running", error="")
        with pytest.raises(RuntimeError):
            services.execute_run(run.pk)  # what a worker does: the exception propagates, nothing is kept
        run.refresh_from_db()
        assert run.status == "running"
        assert (bool(run.file), run.checksum, run.data) == (False, "", {})
    finally:
        services.BUILDERS["school_weekly"] = real
    done = services.execute_run(run.pk)
    assert (done.status, done.attempts) == ("done", 3)
    assert done.file
    assert done.checksum
    assert selectors.can_sign(attendance.principal, done)
