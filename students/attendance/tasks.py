"""Celery tasks of attendance and early warning. Thin wrappers: look up by id, call a service.

Their names are the ones they had as ``students.tasks.*`` so queued messages and the beat schedule
keep working across the move."""

import dataclasses
import datetime as dt

from celery import shared_task
from django.db import OperationalError

from students.attendance import risk
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
    name="students.tasks.nightly_risk_evaluation",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def nightly_risk_evaluation(day: str | None = None) -> dict:
    """Nightly: re-evaluate every county and raise "not reported" reminders. Idempotent."""
    return risk.nightly(as_of=dt.date.fromisoformat(day) if day else None)
