"""Report runs: request, execute (in a Celery worker or inline), and never change once done.

A builder turns a run into a file and its numbers. Builders register per kind::

    @builder(ReportRun.Kind.SCHOOL_WEEKLY)
    def build_school_weekly(run: ReportRun, progress: Progress) -> BuildResult: ...

``request_run`` returns the existing run for the same kind × period × scope unless asked to
regenerate, which adds a new generation and keeps the old one. ``execute_run`` is idempotent:
a run already done is left alone; a run whose worker died is simply built again from scratch,
and only a complete file with its checksum is ever marked done.
"""

import calendar
import dataclasses
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from students import scoping
from students.errors import InvalidInput, OutOfScope
from students.models import Classroom, County, School

from .models import ReportRun

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclasses.dataclass
class BuildResult:
    content: bytes
    filename: str
    data: dict
    row_count: int


BUILDERS: dict[str, Callable[[ReportRun, Progress], BuildResult]] = {}

PERIODIC = {
    ReportRun.Kind.CLASS_WEEKLY: ("week", ReportRun.ScopeType.CLASSROOM),
    ReportRun.Kind.SCHOOL_WEEKLY: ("week", ReportRun.ScopeType.SCHOOL),
    ReportRun.Kind.COUNTY_WEEKLY: ("week", ReportRun.ScopeType.COUNTY),
    ReportRun.Kind.COUNTY_MONTHLY: ("month", ReportRun.ScopeType.COUNTY),
}


def builder(kind: str):
    def register(func):
        BUILDERS[kind] = func
        return func

    return register


# --- periods ----------------------------------------------------------------------------------

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """'2026-W47' → Monday..Sunday of that ISO week; '2026-11' → the month."""
    if match := WEEK_RE.match(period or ""):
        year, week = int(match[1]), int(match[2])
        try:
            start = dt.date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise InvalidInput(f"周次无效:{period}") from exc
        return start, start + dt.timedelta(days=6)
    if match := MONTH_RE.match(period or ""):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise InvalidInput(f"月份无效:{period}")
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    raise InvalidInput(f"期间格式错误:{period}(周报如 2026-W47,月报如 2026-11)")


def previous_iso_week(today: dt.date) -> str:
    year, week, _ = (today - dt.timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


# --- scope ------------------------------------------------------------------------------------


def resolve_scope(user, scope_type: str, scope_id) -> tuple[int, str, int]:
    """(scope id, display name, county id) if the user may see reports for that scope, else OutOfScope."""
    try:
        scope_id = int(scope_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("缺少或无效的范围编号 scope") from exc
    scope = scoping.scope_for(user)
    if scope_type == ReportRun.ScopeType.COUNTY:
        county = County.objects.filter(pk=scope_id).first()
        if county is None or not (scope.superuser or scope_id in scope.county_ids):
            raise OutOfScope("范围不存在或您无权查看")
        return county.pk, county.name, county.pk
    if scope_type == ReportRun.ScopeType.SCHOOL:
        school = School.objects.filter(pk=scope_id).first()
        if school is None or not (
            scope.superuser or school.pk in scope.school_ids or school.county_id in scope.county_ids
        ):
            raise OutOfScope("范围不存在或您无权查看")
        return school.pk, school.name, school.county_id
    if scope_type == ReportRun.ScopeType.CLASSROOM:
        classroom = scoping.manageable_classrooms(user).select_related("school").filter(pk=scope_id).first()
        if classroom is None:
            raise OutOfScope("范围不存在或您无权查看")
        return classroom.pk, f"{classroom.school.name} {classroom.name}", classroom.school.county_id
    raise InvalidInput("未知的范围类型")


def default_scope(user, scope_type: str) -> int | None:
    """The obvious scope for a user who did not name one (their county, school or class)."""
    scope = scoping.scope_for(user)
    pools = {
        ReportRun.ScopeType.COUNTY: scope.county_ids,
        ReportRun.ScopeType.SCHOOL: scope.school_ids,
        ReportRun.ScopeType.CLASSROOM: scope.classroom_ids,
    }
    ids = sorted(pools.get(scope_type, ()))
    return ids[0] if len(ids) == 1 else None


def runs_visible_to(user):
    """Runs whose scope the user may see."""
    scope = scoping.scope_for(user)
    qs = ReportRun.objects.select_related("requested_by")
    if scope.superuser:
        return qs
    schools = list(School.objects.filter(county_id__in=scope.county_ids).values_list("pk", flat=True))
    schools += list(scope.school_ids)
    classes = list(scoping.manageable_classrooms(user).values_list("pk", flat=True))
    return qs.filter(
        Q(scope_type=ReportRun.ScopeType.COUNTY, scope_id__in=scope.county_ids)
        | Q(scope_type=ReportRun.ScopeType.SCHOOL, scope_id__in=schools)
        | Q(scope_type=ReportRun.ScopeType.CLASSROOM, scope_id__in=classes)
    )


# --- request and execute ----------------------------------------------------------------------


def _check_kind_period(kind: str, period: str, scope_type: str) -> tuple[str, str]:
    if kind not in ReportRun.Kind.values:
        raise InvalidInput("未知的报表类别")
    if kind in PERIODIC:
        unit, expected_scope = PERIODIC[kind]
        scope_type = scope_type or expected_scope
        if scope_type != expected_scope:
            raise InvalidInput("该报表的范围类型不匹配")
        if (unit == "week") != bool(WEEK_RE.match(period or "")):
            raise InvalidInput("周报请用 2026-W47 格式,月报请用 2026-11 格式")
        start, _ = period_bounds(period)
        if start > timezone.localdate():
            raise InvalidInput("不能生成未来期间的报表")
        return period, scope_type
    return "", scope_type or ReportRun.ScopeType.COUNTY


def request_run(
    *, user, kind: str, period: str = "", scope_type: str = "", scope_id=None, regenerate: bool = False
) -> tuple[ReportRun, bool]:
    """The run for kind × period × scope: the existing one, or a new generation queued for a worker."""
    period, scope_type = _check_kind_period(kind, period, scope_type)
    if scope_id in (None, ""):
        scope_id = default_scope(user, scope_type)
    scope_id, scope_name, _county = resolve_scope(user, scope_type, scope_id)
    return _get_or_queue(kind, period, scope_type, scope_id, scope_name, user, regenerate)


def request_system_run(*, kind: str, period: str, scope_type: str, scope_id: int, name: str) -> tuple[ReportRun, bool]:
    """The scheduler's request (no user, no scope check): the weekly Monday reports."""
    period, scope_type = _check_kind_period(kind, period, scope_type)
    return _get_or_queue(kind, period, scope_type, scope_id, name, None, False)


def _get_or_queue(kind, period, scope_type, scope_id, scope_name, user, regenerate) -> tuple[ReportRun, bool]:
    key = {"kind": kind, "period": period, "scope_type": scope_type, "scope_id": scope_id}
    latest = ReportRun.objects.filter(**key).order_by("-generation").first()
    if latest is not None and not regenerate and latest.status != ReportRun.Status.FAILED:
        return latest, False
    try:
        with transaction.atomic():
            run = ReportRun.objects.create(
                **key,
                scope_name=scope_name,
                generation=(latest.generation + 1) if latest else 1,
                requested_by=user,
            )
            transaction.on_commit(lambda: queue_run(run.pk))
    except IntegrityError:  # the same request raced us: answer with its run
        return ReportRun.objects.filter(**key).order_by("-generation").first(), False
    return run, True


def queue_run(run_id: int) -> None:
    from .tasks import generate_report

    try:
        generate_report.apply_async(args=[run_id], retry=False)
    except Exception:
        logger.exception("could not queue report run %s; it stays queued", run_id)


def _set_progress(run_id: int, percent: int) -> None:
    ReportRun.objects.filter(pk=run_id, status=ReportRun.Status.RUNNING).update(progress=max(0, min(99, percent)))


def execute_run(run_id: int) -> ReportRun:
    """Build the run's file and numbers. Safe to call again: done runs are returned untouched."""
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=run_id)
        if run.status == ReportRun.Status.DONE:
            return run
        run.status = ReportRun.Status.RUNNING
        run.progress = 0
        run.attempts += 1
        run.started_at = timezone.now()
        run.error = ""
        run.save(update_fields=["status", "progress", "attempts", "started_at", "error"])
    data_as_of = timezone.now()
    build = BUILDERS.get(run.kind)
    if build is None:
        raise InvalidInput(f"报表类别尚未实现:{run.get_kind_display()}")
    result = build(run, lambda percent: _set_progress(run.pk, percent))
    checksum = hashlib.sha256(result.content).hexdigest()
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=run_id)
        if run.status == ReportRun.Status.DONE:  # another worker finished first
            return run
        run.file.save(result.filename, ContentFile(result.content), save=False)
        run.checksum = checksum
        run.data = result.data
        run.row_count = result.row_count
        run.data_as_of = data_as_of
        run.progress = 100
        run.status = ReportRun.Status.DONE
        run.finished_at = timezone.now()
        run.save()
    return run


def mark_failed(run_id: int, error: str) -> None:
    ReportRun.objects.filter(pk=run_id).exclude(status=ReportRun.Status.DONE).update(
        status=ReportRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def scope_classrooms(run: ReportRun):
    """Classrooms covered by a run's scope (for builders)."""
    if run.scope_type == ReportRun.ScopeType.CLASSROOM:
        return Classroom.objects.filter(pk=run.scope_id)
    if run.scope_type == ReportRun.ScopeType.SCHOOL:
        return Classroom.objects.filter(school_id=run.scope_id)
    return Classroom.objects.filter(school__county_id=run.scope_id)
