"""Celery tasks of reporting: thin, idempotent, acks_late, retried with backoff.

Their names are fixed (``name=``): services queue ``generate_report`` by name and the beat
schedule (config/settings/base.py) names ``weekly_reports``.
"""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from students.models import County, School

from . import services
from .models import ReportRun
from .periods import previous_iso_week


@shared_task(
    name="reporting.tasks.generate_report",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=3,
)
def generate_report(self, run_id: int) -> dict:
    """Build one report run. A worker killed mid-run leaves the message unacknowledged: it is redelivered."""
    try:
        run = services.execute_run(run_id)
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            services.mark_failed(run_id, f"{type(exc).__name__}: {exc}")
        if self.request.is_eager:
            return {"run": run_id, "status": ReportRun.Status.FAILED}
        raise
    return {"run": run.pk, "status": run.status, "checksum": run.checksum}


@shared_task(name="reporting.tasks.weekly_reports", acks_late=True)
def weekly_reports(day: str | None = None) -> dict:
    """Monday 06:00 (Asia/Shanghai): the previous ISO week's school and county reports. Idempotent."""
    today = dt.date.fromisoformat(day) if day else timezone.localdate()
    period = previous_iso_week(today)
    queued = 0
    for county in County.objects.all():
        _run, created = services.request_system_run(
            kind=ReportRun.Kind.COUNTY_WEEKLY,
            period=period,
            scope_type=ReportRun.ScopeType.COUNTY,
            scope_id=county.pk,
            name=county.name,
        )
        queued += created
        for school_id, name in School.objects.filter(county=county).values_list("pk", "name"):
            _run, created = services.request_system_run(
                kind=ReportRun.Kind.SCHOOL_WEEKLY,
                period=period,
                scope_type=ReportRun.ScopeType.SCHOOL,
                scope_id=school_id,
                name=name,
            )
            queued += created
    return {"period": period, "queued": queued}
