"""Screening pages (排查比对). Thin: parse the request, call one service or selector, render.

- the runs (each imported register) with their progress, and for the bureau the import form;
- a run: its counts, the progress per township and village, its children with filters, the
  comparison with an earlier run;
- a child: the register's facts, the comparison's outcome, and the resolver's actions (confirm or
  reject a suggestion, resolve with evidence, report an enrolled-but-absent child).

Who sees what is decided by ``selectors`` (out of scope = 404); a refused action shows its
Chinese message on the page with what the user typed kept (a file must be chosen again).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from students import scoping
from students.errors import DomainError, InvalidInput, as_id, form_date, int_or_none, page_message
from students.uploads import download

from .. import selectors as case_selectors
from .. import services as case_services
from ..models import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from . import downloads, selectors, services

PAGE_SIZE = 50
RUN_PAGE_SIZE = 20
Status = ScreeningRun.Status
Suggestion = ScreenedChild.Suggestion


# --- parsing ----------------------------------------------------------------------------------


def _days(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise InvalidInput("名在人不在的连续缺勤上学日须为 1 到 20 的整数")
    return int(value)


# --- runs -------------------------------------------------------------------------------------


def _import_form(request) -> dict:
    today = timezone.localdate()
    form = {
        "title": services.default_title(today),
        "cutoff_on": services.default_cutoff(today).isoformat(),
        "absent_days": str(services.DEFAULT_ABSENT_DAYS),
    }
    if request.method == "POST":
        form |= {name: request.POST.get(name, "").strip()[:100] for name in form}
    return form


def _start_import(request, form: dict) -> ScreeningRun:
    return services.start_import(
        user=request.user,
        upload=request.FILES.get("file"),
        title=form["title"],
        cutoff_on=form_date(form["cutoff_on"], "年龄计算截止日"),
        absent_days=_days(form["absent_days"]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def run_list(request):
    """The runs the user may see; the bureau imports a register here (POST: bureau only, else 404)."""
    user = request.user
    may_import = selectors.may_import(user)
    form = _import_form(request)
    rejected = None
    status = 200
    if request.method == "POST":
        if not may_import:
            raise Http404
        try:
            run = _start_import(request, form)
        except DomainError as exc:
            messages.error(request, page_message(exc))
            rejected = exc.details or None
            status = exc.status_code
        else:
            messages.success(request, _("户籍名单已上传,正在后台与学籍、考勤比对"))
            return redirect(run.get_absolute_url())
    page = Paginator(selectors.runs_visible_to(user).select_related("imported_by"), RUN_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = selectors.outcome_counts_by_run(selectors.children_visible_to(user), [run.pk for run in page])
    for run in page:
        run.is_pending = not run.is_finished
        run.may_see_errors = downloads.is_county_bureau(user, run)
        run.visible_counts = counts[run.pk] if run.status == Status.DONE else None
    return render(
        request,
        "screening/run_list.html",
        {
            "page": page,
            "may_import": may_import,
            "form": form,
            "rejected": rejected,
            "any_pending": any(run.is_pending for run in page),
            "max_mb": settings.SCREENING_IMPORT_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


# --- a run ------------------------------------------------------------------------------------


def _places(children) -> tuple[list, list]:
    """The townships and villages of the children the user sees (the filter's choices)."""
    rows = children.order_by().values_list("township_id", "township__name", "village_id", "village__name").distinct()
    towns: dict[int, str] = {}
    villages: dict[int, str] = {}
    for township_id, township_name, village_id, village_name in rows:
        if township_id is not None:
            towns[township_id] = township_name
        if village_id is not None:
            villages[village_id] = f"{township_name or ''}{village_name}"
    return sorted(towns.items(), key=lambda t: t[1]), sorted(villages.items(), key=lambda v: v[1])


def _earlier_runs(user, run: ScreeningRun) -> list[tuple]:
    """Finished runs imported before ``run`` (the compare form's choices), newest first."""
    earlier = Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk)
    runs = selectors.runs_visible_to(user).filter(earlier, county_id=run.county_id, status=Status.DONE)
    return list(runs.values_list("pk", "title", "created_at")[:50])


def _run_link(run: ScreeningRun, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "", False)})
    return run.get_absolute_url() + (f"?{query}" if query else "")


@login_required
@require_safe
def run_detail(request, pk: int):
    user = request.user
    run = selectors.run_for(user, pk)
    visible = selectors.children_visible_to(user).filter(run=run)
    try:
        filters = downloads.child_filters(request.GET)
    except InvalidInput as exc:  # a hand-edited address: show every child and say why
        messages.error(request, exc.message)
        filters = downloads.child_filters({})
    children = selectors.filter_children(visible, user=user, **filters).select_related(
        "township", "village", "school", "classroom", "student"
    )
    page = Paginator(children, PAGE_SIZE).get_page(request.GET.get("page"))
    for child in page:
        child.shown_id = selectors.shown_id(user, child.id_number)
    towns, villages = _places(visible)
    done = run.status == Status.DONE
    progress = selectors.progress(user, run) if done else []
    for town in progress:
        town.url = _run_link(run, township=town.pk, unresolved=1)
        for village in town.villages:
            village.url = _run_link(run, village=village.pk, unresolved=1)
    counts = selectors.outcome_counts(visible)
    links = {
        "all": _run_link(run),
        "unresolved": _run_link(run, unresolved=1),
        "suggested": _run_link(run, suggestion=Suggestion.PENDING),
        "out_of_school": _run_link(run, resolution=Resolution.OUT_OF_SCHOOL),
    }
    cards = [
        {"key": o.value, "label": o.label, "count": counts[o.value], "url": _run_link(run, outcome=o.value)}
        for o in ScreeningOutcome
    ]
    return render(
        request,
        "screening/run_detail.html",
        {
            "run": run,
            "counts": counts,
            "cards": cards,
            "links": links,
            "progress": progress,
            "page": page,
            "filters": filters,
            "any_filter": any(filters.values()),
            "outcomes": ScreeningOutcome.choices,
            "resolutions": Resolution.choices,
            "towns": towns,
            "villages": villages,
            "earlier_runs": _earlier_runs(user, run),
            "may_see_errors": downloads.is_county_bureau(user, run),
            "ledger_url": reverse("api-ledger-download", args=["screening"]) + f"?run={run.pk}",
        },
    )


@login_required
@require_safe
def run_compare(request, pk: int):
    """The children whose outcome changed since an earlier run (``?with=<run id>``), grouped by kind."""
    user = request.user
    run = selectors.run_for(user, pk)
    other_id = as_id(request.GET.get("with"), "比对批次")
    other = selectors.run_for(user, other_id) if other_id is not None else None
    groups = []
    if other is not None:
        changes = selectors.compare_runs(user, run, other)
        for kind, label in selectors.CHANGE_KINDS.items():
            rows = [change for change in changes if change["kind"] == kind]
            if rows:
                groups.append({"kind": kind, "label": label, "rows": rows})
    choices = _earlier_runs(user, run)
    if other is not None and all(choice[0] != other.pk for choice in choices):
        choices.insert(0, (other.pk, other.title, other.created_at))
    return render(
        request,
        "screening/run_compare.html",
        {
            "run": run,
            "other": other,
            "groups": groups,
            "total": sum(len(group["rows"]) for group in groups),
            "earlier_runs": choices,
        },
    )


@login_required
@require_safe
def run_file(request, pk: int):
    """The register file as imported: for the bureau of the run's county only."""
    run = selectors.run_for(request.user, pk)
    if not downloads.is_county_bureau(request.user, run) or not run.file:
        raise Http404
    return downloads.register_file(run)


@login_required
@require_safe
def register_template(request):
    """The empty register to fill in: for the bureau (who imports) and the cadres (who compile it)."""
    if not downloads.may_get_template(request.user):
        raise Http404
    return downloads.template()


# --- a child ----------------------------------------------------------------------------------


def _student_link(user, student) -> str:
    if student is None or not scoping.students_visible_to(user).filter(pk=student.pk).exists():
        return ""
    return student.get_absolute_url()


def _child_page(request, pk: int, *, form: dict | None = None, status: int = 200):
    user = request.user
    child = selectors.child_for(user, pk)
    may_resolve = selectors.may_resolve(user, child)
    case_followed = child.resolution == Resolution.OUT_OF_SCHOOL and child.case_id is not None
    # What services.resolve accepts: a decided suggestion, not finished at school, not already a case.
    resolvable = (
        may_resolve and not child.suggestion_pending and child.resolution != Resolution.GRADUATED and not case_followed
    )
    case_visible = child.case_id is not None and case_selectors.cases_visible_to(user).filter(pk=child.case_id).exists()
    may_report_absent = (
        child.outcome == ScreeningOutcome.ENROLLED_ABSENT
        and child.student is not None
        and not (child.case is not None and child.case.is_open)
        and case_services.can_open_case(user, child.student)
    )
    history = list(child.history.select_related("history_user").order_by("-history_date", "-history_id")[:30])
    return render(
        request,
        "screening/child_detail.html",
        {
            "child": child,
            "run": child.run,
            "shown_id": selectors.shown_id(user, child.id_number),
            "student_url": _student_link(user, child.student),
            "suggested_url": _student_link(user, child.suggested_student),
            "suggested_id": selectors.shown_id(user, child.suggested_student.id_number)
            if child.suggested_student
            else "",
            "may_resolve": may_resolve,
            "resolvable": resolvable,
            "may_decide_suggestion": may_resolve and child.suggestion_pending,
            "may_report_absent": may_report_absent,
            "nothing_to_do": not (
                resolvable or may_report_absent or child.needs_resolution or child.suggestion_pending or case_followed
            ),
            "case_visible": case_visible,
            "resolutions": [(r.value, r.label) for r in ScreenedChild.CHOOSABLE],
            "schools": list(selectors.responsible_schools(user, child)) if resolvable else [],
            "history": history,
            "form": form or {},
        },
        status=status,
    )


@login_required
@require_safe
def child_detail(request, pk: int):
    return _child_page(request, pk)


def _resolve(request, pk: int) -> str:
    post = request.POST
    data = services.ResolutionInput(
        resolution=post.get("resolution", ""),
        school=post.get("school", ""),
        place=post.get("place", ""),
        note=post.get("note", ""),
        evidence=request.FILES.get("evidence"),
        responsible_school_id=int_or_none(post.get("responsible_school")),
    )
    child = services.resolve(user=request.user, child_id=pk, data=data)
    if child.case_id:
        return _("已核实为失学/辍学,已转为疑似辍学个案(来源:排查比对)")
    return _("已记录核实结论:%(resolution)s") % {"resolution": child.get_resolution_display()}


def _confirm(request, pk: int) -> str:
    child = services.confirm_suggestion(user=request.user, child_id=pk)
    return _("已确认为同一人,比对结果:%(outcome)s") % {"outcome": child.get_outcome_display()}


def _reject(request, pk: int) -> str:
    services.reject_suggestion(user=request.user, child_id=pk)
    return _("已否定疑似匹配,该儿童仍须核实去向")


def _report_absent(request, pk: int) -> str:
    services.report_absent(user=request.user, child_id=pk, note=request.POST.get("note", "").strip()[:300])
    return _("已报告为疑似辍学(来源:排查比对)")


ACTIONS = {"resolve": _resolve, "confirm": _confirm, "reject": _reject, "report-absent": _report_absent}
FORM_FIELDS = ("resolution", "school", "place", "note", "responsible_school")


@login_required
@require_POST
def child_action(request, pk: int, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    selectors.child_for(request.user, pk)  # out of scope: 404 before any input is read
    try:
        message = handler(request, pk)
    except DomainError as exc:
        messages.error(request, page_message(exc))
        form = {"action": action, **{name: request.POST.get(name, "") for name in FORM_FIELDS}}
        form["responsible_school"] = int_or_none(form["responsible_school"])
        return _child_page(request, pk, form=form, status=exc.status_code)
    messages.success(request, message)
    return redirect("screening:child", pk=pk)


@login_required
@require_safe
def child_evidence(request, pk: int):
    child = selectors.child_for(request.user, pk)
    if not child.evidence:
        raise Http404
    return download(child.evidence, child.evidence_name)


# --- home page and dashboard ------------------------------------------------------------------


def home_section(user) -> dict | None:
    """排查比对 on a cadre's home page: the latest run's children to resolve in their township(s)."""
    if not scoping.scope_for(user).residence_line:
        return None
    run = selectors.latest_run(user)
    if run is None:
        return None
    counts = selectors.outcome_counts(selectors.children_visible_to(user).filter(run=run))
    if not counts["not_enrolled"]:
        return None
    towns = selectors.progress(user, run)
    for town in towns:
        town.url = _run_link(run, township=town.pk, unresolved=1)
    return {
        "template": "screening/home_section.html",
        "context": {"run": run, "counts": counts, "towns": towns, "url": _run_link(run, unresolved=1)},
    }
