"""Report pages: the list with the "生成报表" form, a run's page (progress, numbers, download, sign).

Thin: parse, call :mod:`reporting.selectors` / :mod:`reporting.services`, render. A run outside
the user's scope is a 404; a refused request becomes a page message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from students import scoping
from students.errors import DomainError

from . import metrics, selectors, services
from .models import ReportRun
from .periods import PERIODIC, previous_iso_week, previous_month
from .xlsx import XLSX_CONTENT_TYPE

PAGE_SIZE = 30
K = ReportRun.Kind
S = ReportRun.Status
DETAIL_TEMPLATES = {
    K.CLASS_WEEKLY: "reporting/report_class_weekly.html",
    K.SCHOOL_WEEKLY: "reporting/report_school_weekly.html",
    K.COUNTY_WEEKLY: "reporting/report_county.html",
    K.COUNTY_MONTHLY: "reporting/report_county.html",
}


# --- downloads (pages and API) -------------------------------------------------------------------


def file_response(request, run: ReportRun) -> FileResponse:
    """The run's .xlsx as an attachment with a readable Chinese name; logs the download."""
    services.log_run_download(request, run)
    stamp = run.period or timezone.localtime(run.created_at).strftime("%Y%m%d")
    name = f"{run.scope_name}-{run.get_kind_display()}-{stamp}.xlsx".replace("/", "-")
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)


# --- generate form -------------------------------------------------------------------------------


def _form_options(user) -> dict:
    """Which kinds and scopes this user may generate, for the form (the services check again)."""
    scopes = selectors.report_scopes(user)
    kinds = []
    for kind, (unit, scope_type) in PERIODIC.items():
        if any(s[0] == scope_type for s in scopes):
            kinds.append({"code": kind, "label": K(kind).label, "unit": unit, "scope_type": scope_type})
    today = timezone.localdate()
    return {
        "kinds": kinds,
        "scopes": scopes,
        "default_week": previous_iso_week(today),
        "default_month": previous_month(today),
    }


# --- pages ---------------------------------------------------------------------------------------


@login_required
def report_list(request):
    user = request.user
    qs = selectors.runs_visible_to(user).select_related("signature").order_by("-created_at", "-id")
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    if kind in K.values:
        qs = qs.filter(kind=kind)
    if status in S.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/report_list.html",
        {
            "page": page,
            "filters": {"kind": kind, "status": status},
            "kind_choices": K.choices,
            "status_choices": S.choices,
            "form": _form_options(user),
            "active": any(run.status in (S.QUEUED, S.RUNNING) for run in page),
        },
    )


@login_required
@require_POST
def report_generate(request):
    data = request.POST
    # The scope arrives as "type:id" (e.g. "school:12"), so a class id is never read as a school's.
    scope_type, _sep, scope_id = data.get("scope", "").partition(":")
    try:
        run, created = services.request_run(
            user=request.user,
            kind=data.get("kind", ""),
            period=data.get("period", "").strip(),
            scope_type=scope_type,
            scope_id=scope_id or None,
            regenerate=data.get("regenerate") in ("1", "on", "true"),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("report-list")
    if not created:
        messages.info(request, "该期间和范围的报表已存在,已为您打开;如需重新生成请点击“重新生成”")
    return redirect(run)


def _visible_run(user, pk) -> ReportRun:
    return scoping.get_visible_or_404(selectors.runs_visible_to(user), pk=pk)


@login_required
def report_detail(request, pk):
    run = _visible_run(request.user, pk)
    signature = getattr(run, "signature", None)
    generations = list(
        selectors.runs_visible_to(request.user)
        .filter(kind=run.kind, period=run.period, scope_type=run.scope_type, scope_id=run.scope_id)
        .order_by("-generation")
        .values("pk", "generation", "status", "created_at")
    )
    return render(
        request,
        "reporting/report_detail.html",
        {
            "run": run,
            "data": run.data if run.status == S.DONE else {},
            "detail_template": DETAIL_TEMPLATES.get(run.kind),
            "signature": signature,
            "can_sign": signature is None and selectors.can_sign(request.user, run),
            "generations": generations if len(generations) > 1 else [],
            "api_url": reverse("api-report-detail", args=[run.pk]),
            "absence_labels": metrics.ABSENCE_LABELS,
            "case_labels": metrics.CASE_LABELS,
            "formulas": metrics.FORMULAS,
        },
    )


@login_required
def report_file(request, pk):
    run = _visible_run(request.user, pk)
    if run.status != S.DONE or not run.file:
        raise Http404("报表尚未生成完成")
    return file_response(request, run)


@login_required
@require_POST
def report_regenerate(request, pk):
    run = _visible_run(request.user, pk)
    try:
        newer, _created = services.request_run(
            user=request.user,
            kind=run.kind,
            period=run.period,
            scope_type=run.scope_type,
            scope_id=run.scope_id,
            regenerate=True,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(run)
    messages.success(request, f"已开始重新生成(第{newer.generation}次生成)")
    return redirect(newer)


@login_required
@require_POST
def report_sign(request, pk):
    run = _visible_run(request.user, pk)
    try:
        services.sign_run(user=request.user, run_id=run.pk, note=request.POST.get("note", "").strip())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已签发")
    return redirect(run)
