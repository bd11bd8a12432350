"""Risk evaluations wait in one Redis set and are drained together (students/attendance/evaluation_queue.py).

On the suite's real Redis as the broker (a database of its own), with tasks not run inline: a
submit adds its class to the set, the first one schedules a single drain, and the drain evaluates
every class waiting. A real worker doing the same is in tests/test_celery_worker.py.
"""

import datetime as dt
import json

import pytest
import redis

from students.attendance import evaluation_queue as queue
from students.attendance.tasks import evaluate_pending_classrooms
from students.models import RiskFlag
from tests.helpers import celery_configured, report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/attendance/"
D = dt.date


def body(classroom, day, absent=()) -> dict:
    return {
        "classroom": classroom.pk,
        "date": day.isoformat(),
        "absences": [{"student": s.pk, "kind": "unknown"} for s in absent],
    }


@pytest.fixture
def broker(own_redis_db):
    with celery_configured(broker_url=own_redis_db, task_always_eager=False):
        yield redis.Redis.from_url(own_redis_db)


def queued_tasks(r: redis.Redis) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in r.lrange("celery", 0, -1)]


def absent_two_days_before(world, student):
    for day in (D(2026, 11, 23), D(2026, 11, 24)):  # Monday, Tuesday; today is Wednesday the 25th
        report(world.class_a, day, {student: "unknown"}, by=world.teacher)


def test_submits_wait_in_one_set_and_schedule_one_drain(
    world, term, today, api, broker, django_capture_on_commit_callbacks
):
    student = world.students_a[0]
    absent_two_days_before(world, student)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.as_user(world.teacher).post(URL, body(world.class_a, today, [student]), format="json")
        second = api.as_user(world.teacher2).post(URL, body(world.class_b, today), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert broker.smembers(queue.PENDING_KEY) == {
        f"{world.class_a.pk}:{today}".encode(),
        f"{world.class_b.pk}:{today}".encode(),
    }
    assert queued_tasks(broker) == ["students.tasks.evaluate_pending_classrooms"]  # one drain for both
    assert not RiskFlag.objects.filter(student=student).exists()  # nothing evaluated in the request

    result = evaluate_pending_classrooms.apply().get()

    assert result == {"classrooms": 2}
    assert broker.scard(queue.PENDING_KEY) == 0
    assert RiskFlag.objects.get(student=student, rule_code="consecutive_absence").level == "red"


def test_a_drain_clears_the_mark_so_the_next_submit_schedules_again(
    world, term, today, api, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api.as_user(world.teacher).post(URL, body(world.class_a, today), format="json")
    evaluate_pending_classrooms.apply().get()
    broker.delete("celery")
    with django_capture_on_commit_callbacks(execute=True):
        api.as_user(world.teacher2).post(URL, body(world.class_b, today), format="json")
    assert queued_tasks(broker) == ["students.tasks.evaluate_pending_classrooms"]
    assert broker.smembers(queue.PENDING_KEY) == {f"{world.class_b.pk}:{today}".encode()}


def test_taken_classes_can_be_put_back_and_a_malformed_one_is_skipped(world, term, today, broker):
    members = [f"{world.class_a.pk}:{today}".encode(), f"{world.class_b.pk}:not-a-day".encode()]
    broker.sadd(queue.PENDING_KEY, *members)
    taken = queue.take(broker)
    assert sorted(taken) == sorted(members)
    assert broker.scard(queue.PENDING_KEY) == 0
    queue.put_back(broker, taken)
    assert broker.smembers(queue.PENDING_KEY) == set(members)
    # A malformed member is skipped, the good one evaluated.
    assert evaluate_pending_classrooms.apply().get() == {"classrooms": 1}


def test_inline_tasks_evaluate_at_once(world, term, today, api, django_capture_on_commit_callbacks):
    student = world.students_a[0]
    absent_two_days_before(world, student)
    with django_capture_on_commit_callbacks(execute=True):
        api.as_user(world.teacher).post(URL, body(world.class_a, today, [student]), format="json")
    assert RiskFlag.objects.filter(student=student, rule_code="consecutive_absence").exists()
