"""Celery tasks of the students app. Thin wrappers: look up by id, call a selector/service."""

import dataclasses
import datetime as dt

from celery import shared_task
from django.db import OperationalError

from . import risk
from .models import Classroom, School, Student


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def school_enrolment(school_id: int) -> dict:
    """Enrolled students of a school by grade; used by health checks and the worker test."""
    school = School.objects.get(pk=school_id)
    rows = (
        Student.objects.filter(school=school, status=Student.Status.ENROLLED)
        .values_list("classroom__grade__level")
        .order_by("classroom__grade__level")
    )
    by_grade: dict[str, int] = {}
    for (level,) in rows:
        by_grade[str(level)] = by_grade.get(str(level), 0) + 1
    return {"school": school.code, "by_grade": by_grade}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def evaluate_classroom_risk(classroom_id: int, day: str) -> dict:
    """After a daily report is saved: re-evaluate that class's rules. Idempotent."""
    classroom = Classroom.objects.select_related("school").filter(pk=classroom_id).first()
    if classroom is None:
        return {}
    stats = risk.evaluate(
        county_id=classroom.school.county_id, as_of=dt.date.fromisoformat(day), classroom_ids=[classroom_id]
    )
    return dataclasses.asdict(stats)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def nightly_risk_evaluation(day: str | None = None) -> dict:
    """Nightly: re-evaluate every county and raise "not reported" reminders. Idempotent."""
    return risk.nightly(as_of=dt.date.fromisoformat(day) if day else None)
