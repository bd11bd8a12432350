"""A real Celery worker against a real Redis (started by ``make test``)."""

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
