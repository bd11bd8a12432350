"""A real Celery worker against a real Redis (started by ``make test``)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from students.tasks import school_enrolment
from tests.helpers import celery_configured

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def redis_celery(settings, redis_url):
    with celery_configured(broker_url=redis_url, result_backend=redis_url, task_always_eager=False) as app:
        yield app


@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_task_against_database(redis_celery, world):
    with start_worker(redis_celery, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        result = school_enrolment.delay(world.school.pk)
        answer = result.get(timeout=30)
    assert result.status == "SUCCESS"
    assert answer == {"school": world.school.code, "by_grade": {"7": 6}}


@pytest.mark.django_db(transaction=True)
def test_a_submit_is_evaluated_by_the_real_worker(redis_celery, world, term, today, api):
    """A submit's class waits in the Redis set; the drain it schedules runs on the worker and raises the flag."""
    import datetime as dt

    from students.models import RiskFlag
    from tests.helpers import report

    student = world.students_a[0]
    for day in (dt.date(2026, 11, 23), dt.date(2026, 11, 24)):
        report(world.class_a, day, {student: "unknown"}, by=world.teacher)
    with start_worker(redis_celery, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        answer = api.as_user(world.teacher).post(
            "/api/v1/attendance/",
            {
                "classroom": world.class_a.pk,
                "date": today.isoformat(),
                "absences": [{"student": student.pk, "kind": "unknown"}],
            },
            format="json",
        )
        assert answer.status_code == 201
        flags = RiskFlag.objects.filter(student=student, rule_code="consecutive_absence")
        deadline = time.monotonic() + 30
        while not flags.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert flags.get().level == "red"
