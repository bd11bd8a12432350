"""Celery tasks of attendance and early warning. Thin wrappers: look up by id, call a service.

Their names are the ones they had as ``students.tasks.*`` so queued messages and the beat schedule
keep working across the move."""

import dataclasses
import datetime as dt

import redis
from celery import shared_task
from django.db import OperationalError

from students.attendance import evaluation_queue, risk
from students.models import Classroom


@shared_task(
    name="students.tasks.evaluate_classroom_risk",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def evaluate_classroom_risk(classroom_id: int, day: str) -> dict:
    """After a daily report is saved: re-evaluate that class's rules. Idempotent."""
    classroom = Classroom.objects.select_related("school").filter(pk=classroom_id).first()
    if classroom is None:
        return {}
    stats = risk.evaluate(
        county_id=classroom.school.county_id, as_of=dt.date.fromisoformat(day), classroom_ids=[classroom_id]
    )
    return dataclasses.asdict(stats)


@shared_task(
    name="students.tasks.evaluate_pending_classrooms",
    acks_late=True,
    autoretry_for=(OperationalError, redis.ConnectionError, redis.TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def evaluate_pending_classrooms() -> dict:
    """Evaluate every class waiting in the queue (see evaluation_queue), per county and day. Idempotent."""
    redis_client = evaluation_queue.client()
    if redis_client is None:
        return {"classrooms": 0}
    evaluation_queue.unschedule(redis_client)  # before popping: see evaluation_queue
    done = 0
    while members := evaluation_queue.take(redis_client):
        try:
            done += _evaluate_members(members)
        except Exception:
            evaluation_queue.put_back(redis_client, members)  # for the retry (or the next drain)
            raise
    return {"classrooms": done}


def _evaluate_members(members: list[bytes]) -> int:
    wanted = [parsed for raw in members if (parsed := evaluation_queue.parse(raw))]
    county_of = dict(
        Classroom.objects.filter(pk__in={c for c, _ in wanted}).order_by().values_list("pk", "school__county_id")
    )
    groups: dict[tuple[int, dt.date], list[int]] = {}
    for classroom_id, day in wanted:
        if classroom_id in county_of:
            groups.setdefault((county_of[classroom_id], day), []).append(classroom_id)
    for (county_id, day), classroom_ids in sorted(groups.items()):
        risk.evaluate(county_id=county_id, as_of=day, classroom_ids=sorted(classroom_ids))
    return sum(len(ids) for ids in groups.values())


@shared_task(
    name="students.tasks.nightly_risk_evaluation",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def nightly_risk_evaluation(day: str | None = None) -> dict:
    """Nightly: re-evaluate every county and raise "not reported" reminders. Idempotent."""
    return risk.nightly(as_of=dt.date.fromisoformat(day) if day else None)
