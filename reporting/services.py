"""Writes of reporting: report runs, the principal's sign-off, ledger exports and the download log.

Report runs: request, execute (in a Celery worker or inline), and never change once done.
``request_run`` returns the existing run for the same kind × period × scope unless asked to
regenerate, which adds a new generation and keeps the old one. ``execute_run`` is idempotent:
a run already done is left alone; a run whose worker died is simply built again from scratch,
and only a complete file with its checksum is ever marked done. :data:`BUILDERS` says which
builder (:mod:`reporting.reports`, :mod:`reporting.ledgers`) makes which kind of run.

The Celery task that executes a run is queued by its name, so that this module does not import
``reporting.tasks`` (which imports this one); ``ReportingConfig.ready`` registers the tasks in
every process.

Every download, a ledger exported in the request or a finished run's file, writes a DownloadLog
row (:func:`log_download`).
"""

import dataclasses
import datetime as dt
import hashlib
import io
import ipaddress
import logging

from celery import current_app
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accountability.signoffs import services as signoffs
from students import scoping
from students.errors import Conflict, InvalidInput, InvalidTransition, OutOfScope
from students.models import Classroom, School

from . import reports, selectors
from .building import Builder
from .ledgers import LEDGER_BY_KIND, LEDGERS, Ledger, context_for_user, direct_max_rows, filename_for
from .ledgers.shared import as_pk, user_county_id
from .models import DownloadLog, ReportRun, ReportSignature
from .periods import PERIODIC, WEEK_RE, period_bounds

logger = logging.getLogger(__name__)

K = ReportRun.Kind
GENERATE_REPORT = "reporting.tasks.generate_report"  # the Celery task that executes a run
# A queued or running county ledger younger than this is reused instead of starting another.
RUN_REUSE_MINUTES = 30

BUILDERS: dict[str, Builder] = {
    K.CLASS_WEEKLY: reports.build_class_weekly,
    K.SCHOOL_WEEKLY: reports.build_school_weekly,
    K.COUNTY_WEEKLY: reports.build_county,
    K.COUNTY_MONTHLY: reports.build_county,
    **{ledger.kind: ledger.build for ledger in LEDGERS.values()},
}


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
        scope_id = selectors.default_scope(user, scope_type)
    scope_id, scope_name, _county = selectors.resolve_scope(user, scope_type, scope_id)
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
        raced = ReportRun.objects.filter(**key).order_by("-generation").first()
        if raced is None:  # no run with this key: not a race but another integrity error
            raise
        return raced, False
    return run, True


def queue_run(run_id: int) -> None:
    """Hand the run to a worker (or run it inline when Celery is eager); a broker outage leaves it queued."""
    try:
        current_app.tasks[GENERATE_REPORT].apply_async(args=(run_id,), retry=False)
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


# --- sign-off ---------------------------------------------------------------------------------


@transaction.atomic
def sign_run(*, user, run_id, note: str = "") -> ReportSignature:
    """The principal signs off a finished school weekly report of their school, once.

    The signature is the school's weekly sign-off too: in the same transaction the school's week is
    signed through accountability (pending or returned → signed; a week already signed or received is
    left as it is). A week that is not over yet cannot be signed (400), so neither can its report.
    """
    run = (
        ReportRun.objects.select_for_update()
        .filter(pk__in=selectors.runs_visible_to(user).values("pk"))
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise OutOfScope("报表不存在或您无权查看")
    if run.kind != K.SCHOOL_WEEKLY:
        raise InvalidTransition("只有学校周报需要校长签发")
    if run.status != ReportRun.Status.DONE:
        raise InvalidTransition("报表尚未生成完成,不能签发")
    if not selectors.is_principal_of(user, run.scope_id):
        raise InvalidTransition("您的岗位不能签发该报表(须本校校长)")
    if ReportSignature.objects.filter(run=run).exists():
        raise Conflict("该报表已签发")
    note = (note or "")[:300]
    try:
        with transaction.atomic():
            signature = ReportSignature.objects.create(run=run, user=user, note=note)
    except IntegrityError as exc:
        raise Conflict("该报表已签发") from exc
    signoffs.sign_week(user=user, school_id=run.scope_id, week=run.period, note=note, if_not_signed=True)
    return signature


# --- ledger exports ---------------------------------------------------------------------------


@dataclasses.dataclass
class Export:
    """A finished file (content, filename, rows) or, for a big county-wide export, the run building it."""

    ledger: Ledger
    content: bytes = b""
    filename: str = ""
    rows: int = 0
    run: ReportRun | None = None
    created: bool = False


def request_county_ledger(user, kind: str) -> tuple[ReportRun, bool]:
    """Start (or join) the background build of a county-wide ledger for a bureau user.

    A ledger is a snapshot, so a finished one is not reused: asking again builds a fresh
    generation. A run still queued or running from the last half hour is joined instead.
    """
    if kind not in LEDGER_BY_KIND:
        raise InvalidInput("未知的台账类别")
    if not scoping.scope_for(user).county_level:
        raise OutOfScope("全县台账仅供教育局生成")
    county_id = selectors.default_scope(user, ReportRun.ScopeType.COUNTY)
    if county_id is not None:
        running = (
            selectors.runs_visible_to(user)
            .filter(
                kind=kind,
                scope_type=ReportRun.ScopeType.COUNTY,
                scope_id=county_id,
                status__in=[ReportRun.Status.QUEUED, ReportRun.Status.RUNNING],
                created_at__gte=timezone.now() - dt.timedelta(minutes=RUN_REUSE_MINUTES),
            )
            .order_by("-generation")
            .first()
        )
        if running is not None:
            return running, False
    return request_run(user=user, kind=kind, scope_type=ReportRun.ScopeType.COUNTY, scope_id=county_id, regenerate=True)


def export_ledger(user, slug: str, *, school=None, classroom=None, options: dict | None = None, request=None) -> Export:
    """A ledger for download: generated now and logged, or (county-wide and big) queued as a run.

    ``options``: the ledger's own query parameters (``Ledger.options``; others are ignored). An
    export narrowed by any of them is generated in the request, as one narrowed to a school or class.
    """
    ledger = LEDGERS.get(slug)
    if ledger is None:
        raise OutOfScope("台账不存在")
    given = {key: value for key, value in (options or {}).items() if key in ledger.options and value not in (None, "")}
    ctx = context_for_user(user, school=school, classroom=classroom, options=given)
    county_wide = not ctx.options and scoping.scope_for(user).is_bureau
    if county_wide and ledger.rows(ctx) >= direct_max_rows():
        run, created = request_county_ledger(user, ledger.kind)
        return Export(ledger=ledger, run=run, created=created)
    out = io.BytesIO()
    written = ledger.write(ctx, out)
    log_download(
        user,
        what=ledger.kind,
        label=f"{ledger.title}({ctx.scope_label})",
        row_count=written.rows,
        params={**ctx.options, **written.params},
        request=request,
        school_id=ctx.school_id,
        county_id=ctx.county_id,
    )
    return Export(ledger=ledger, content=out.getvalue(), filename=filename_for(ledger, ctx), rows=written.rows)


# --- the download log -------------------------------------------------------------------------


def _client_ip(request) -> str | None:
    if request is None:
        return None
    try:
        from axes.helpers import get_client_ip_address

        address = get_client_ip_address(request)
    except Exception:  # axes misconfigured or absent: fall back to the socket address
        address = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


def log_download(
    user,
    *,
    what: str,
    label: str,
    row_count: int,
    run: ReportRun | None = None,
    params: dict | None = None,
    request=None,
    school_id: int | None = None,
    county_id: int | None = None,
) -> DownloadLog:
    """Record one download (a direct export or a finished run's file): who, what, when, rows, where from.

    The school and county are taken from the run's scope or the ``school`` / ``classroom`` in
    ``params`` when not given, else from the user's posts, so the bureau sees it in its county's log.
    """
    params = dict(params or {})
    if run is not None:
        params.setdefault("run", run.pk)
        if run.scope_type == ReportRun.ScopeType.COUNTY:
            county_id = county_id or run.scope_id
        elif run.scope_type == ReportRun.ScopeType.SCHOOL:
            school_id = school_id or run.scope_id
        elif school_id is None:
            school_id = Classroom.objects.filter(pk=run.scope_id).values_list("school_id", flat=True).first()
    if school_id is None and params.get("classroom") and (classroom_id := as_pk(params["classroom"])) is not None:
        school_id = Classroom.objects.filter(pk=classroom_id).values_list("school_id", flat=True).first()
    if school_id is None and params.get("school"):
        school_id = as_pk(params["school"])
    if county_id is None and school_id is not None:
        county_id = School.objects.filter(pk=school_id).values_list("county_id", flat=True).first()
    if county_id is None:
        county_id = user_county_id(user)
    return DownloadLog.objects.create(
        user=user,
        what=what[:40],
        label=label[:200],
        params=params,
        row_count=max(0, int(row_count or 0)),
        run=run,
        school_id=school_id,
        county_id=county_id,
        ip_address=_client_ip(request),
    )


def log_run_download(request, run: ReportRun) -> DownloadLog:
    """A finished run's file was downloaded (page or API)."""
    params = {"kind": run.kind, "period": run.period, "scope_type": run.scope_type, "scope_id": run.scope_id}
    return log_download(
        request.user, what=run.kind, label=str(run), row_count=run.row_count, run=run, params=params, request=request
    )
