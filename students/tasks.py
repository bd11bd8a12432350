"""Celery tasks of the students core (attendance and risk tasks live in students/attendance/tasks.py)."""

from celery import shared_task

from students import ops
from students.models import School, Student


@shared_task(ignore_result=True, expires=50)
def beat_heartbeat() -> None:
    """Sent by beat every minute; the worker that runs it stamps the time for /healthz."""
    ops.record_heartbeat()


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
