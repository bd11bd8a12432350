"""目标责任书 pages. Thin: parse the request, call one service or selector, render.

- ``pledges/``: the list with its filters, who has not signed this term (for the bureau and school
  leaders), and the create form (two steps without script: choose the school, kind and term, then
  the parties the rules allow);
- ``pledges/<pk>/``: one pledge, the signed-scan upload, the targets while unsigned, the trail;
- ``pledges/<pk>/scan/``: the signed scan as a download; ``pledges/<pk>/print/``: the printable 责任书;
- ``pledges/templates/``: the bureau's printable texts per kind.

A pledge outside the reader's scope is a 404 (page, scan, print, actions). A refused action shows its
Chinese message on the page with what the user typed kept (the file must be chosen again).
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from students import scoping
from students.errors import DomainError, InvalidInput, form_date, int_or_none, page_message
from students.models import Term
from students.uploads import download

from ..models import Pledge
from ..models.pledges import PledgeKind
from . import documents, selectors, services

PAGE_SIZE = 50
K = PledgeKind
YES, NO = ("1", "yes", "true", "on"), ("0", "no", "false", "off")


# --- shared with the API ----------------------------------------------------------------------


def scan_response(pledge: Pledge) -> FileResponse:
    """The signed scan as a download under its original name; never kept by a browser or proxy."""
    return download(pledge.scan, pledge.scan_name or f"责任书扫描件.{pledge.scan.name.rsplit('.', 1)[-1].lower()}")


NUMBERING = re.compile(r"^\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:[、．)):]|\.(?!\d))\s*")
"""A line's own numbering ("1." "2、" "3)" "四、"), not a decimal such as "0.6%"."""


def target_lines(text: str) -> list[str]:
    """The targets typed in a textarea, one a line (their numbering dropped: the printout numbers them)."""
    return [NUMBERING.sub("", line, count=1).strip() for line in (text or "").splitlines()]


def signed_choice(value) -> bool | None:
    value = (value or "").strip().lower()
    return True if value in YES else False if value in NO else None


# --- parsing ----------------------------------------------------------------------------------


def _decorate(pledge: Pledge) -> Pledge:
    pledge.is_signed = selectors.is_signed(pledge)
    return pledge


# --- the create form --------------------------------------------------------------------------


def _create_form(user, values: dict) -> dict:
    """What the create form shows for the chosen school, kind and term (``values`` as typed)."""
    schools = list(selectors.creation_schools(user).order_by("code"))
    school = next((s for s in schools if s.pk == values.get("school")), schools[0] if len(schools) == 1 else None)
    kinds = selectors.creatable_kinds(user, school) if school else []
    codes = [code for code, _label in kinds]
    kind = values.get("kind") if values.get("kind") in codes else (codes[0] if len(codes) == 1 else "")
    terms = []
    if school is not None:
        terms = list(Term.objects.filter(school_year__county_id=school.county_id).select_related("school_year"))
        terms.sort(key=lambda t: t.start_date, reverse=True)
    term = next((t for t in terms if t.pk == values.get("term")), None)
    if term is None and school is not None and not values.get("term"):
        current = selectors.current_term(user)
        term = next((t for t in terms if current and t.pk == current.pk), terms[0] if terms else None)
    form = {
        "schools": schools,
        "school": school,
        "kinds": kinds,
        "kind": kind,
        "terms": terms,
        "term": term,
        "ready": bool(school and kind and term),
        "values": values,
    }
    if form["ready"]:
        party_a, party_b = selectors.party_candidates(kind, school, term)
        form["party_a_options"], form["party_b_options"] = party_a, party_b
        form["family"] = kind == K.SCHOOL_FAMILY
        form["students"] = list(selectors.family_students(user, school)) if form["family"] else []
        if not values.get("party_a"):
            chosen = next((p for p in party_a if p.pk == user.pk), None) or (party_a[0] if len(party_a) == 1 else None)
            values["party_a"] = chosen.pk if chosen else None
        if "targets" not in values:
            values["targets"] = "\n".join(services.default_targets(kind, school))
    return form


def _typed(data, prefix: str = "") -> dict:
    return {
        "school": int_or_none(data.get(f"{prefix}school")),
        "kind": (data.get(f"{prefix}kind") or "").strip(),
        "term": int_or_none(data.get(f"{prefix}term")),
        "party_a": int_or_none(data.get(f"{prefix}party_a")),
        "party_b": int_or_none(data.get(f"{prefix}party_b")),
        "student": int_or_none(data.get(f"{prefix}student")),
        **({"guardian_name": data.get("guardian_name", "").strip()} if "guardian_name" in data else {}),
        **({"targets": data.get("targets", "")} if "targets" in data else {}),
    }


# --- list and create --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def pledge_list(request):
    user = request.user
    may_create = selectors.may_create(user)
    status = 200
    values = _typed(request.GET, "new_")
    if request.method == "POST":
        if not may_create:
            raise Http404
        values = _typed(request.POST)
        try:
            if not values["kind"]:
                raise InvalidInput("请选择责任书类别")
            pledge = services.create_pledge(
                user=user,
                kind=values["kind"],
                school_id=values["school"],
                term_id=values["term"],
                party_a_id=values["party_a"],
                party_b_id=values["party_b"],
                student_id=values["student"],
                guardian_name=values.get("guardian_name", ""),
                targets=target_lines(values.get("targets", "")),
            )
        except DomainError as exc:
            messages.error(request, page_message(exc))
            status = exc.status_code
        else:
            messages.success(request, f"已登记{pledge.get_kind_display()}责任书,请打印签字后上传扫描件")
            return redirect("accountability:pledge", pk=pledge.pk)

    query = request.GET
    kind = query.get("kind", "")
    kind = kind if kind in K.values else ""
    school = int_or_none(query.get("school"))
    signed = signed_choice(query.get("signed"))
    terms = list(selectors.terms_for(user)[:30])
    term = next((t for t in terms if t.pk == int_or_none(query.get("term"))), None)
    pledges = selectors.pledge_list(user, school=school, term=term.pk if term else None, kind=kind, signed=signed)
    page = Paginator(pledges, PAGE_SIZE).get_page(query.get("page"))
    for pledge in page:
        _decorate(pledge)
    scope = scoping.scope_for(user)
    board_term = term or selectors.current_term(user)
    board = None
    if board_term is not None and (scope.county_level or scope.leads_a_school):
        board = selectors.unsigned(user, board_term, school=school)
    return render(
        request,
        "accountability/pledges/pledge_list.html",
        {
            "page": page,
            "kinds": K.choices,
            "filters": {"school": school, "term": term.pk if term else None, "kind": kind, "signed": signed},
            "any_filter": bool(school or term or kind or signed is not None),
            "schools": list(scoping.managed_schools(user).order_by("code").values_list("pk", "name")),
            "terms": terms,
            "board": board,
            "board_term": board_term,
            "may_create": may_create,
            "create": _create_form(user, values) if may_create else None,
            "bureau": scope.county_level,
        },
        status=status,
    )


# --- detail and its actions -------------------------------------------------------------------


def _detail(request, pk: int, *, form: dict | None = None, status: int = 200):
    user = request.user
    pledge = _decorate(selectors.pledge_detail(user, pk))
    return render(
        request,
        "accountability/pledges/pledge_detail.html",
        {
            "pledge": pledge,
            "may_manage": selectors.may_manage_pledge(user, pledge),
            "trail": selectors.trail(pledge),
            "form": form or {},
            "today": timezone.localdate(),
            "targets_text": "\n".join(pledge.targets or []),
        },
        status=status,
    )


def _record(request, pk: int) -> str:
    services.record_signature(
        user=request.user,
        pledge_id=pk,
        signed_on=form_date(request.POST.get("signed_on", ""), "签订日期"),
        scan=request.FILES.get("file"),
    )
    return "已登记签订日期和签字扫描件"


def _targets(request, pk: int) -> str:
    services.update_targets(user=request.user, pledge_id=pk, targets=target_lines(request.POST.get("targets", "")))
    return "责任目标已修改"


ACTIONS = {"scan": _record, "targets": _targets}


@login_required
@require_http_methods(["GET", "POST"])
def pledge_detail(request, pk: int):
    if request.method == "GET":
        return _detail(request, pk)
    selectors.pledge_detail(request.user, pk)  # out of scope: 404 whatever the body says
    action = request.POST.get("action", "")
    try:
        if action == "delete":
            services.delete_pledge(user=request.user, pledge_id=pk)
            messages.success(request, "责任书已删除")
            return redirect("accountability:pledges")
        handler = ACTIONS.get(action)
        if handler is None:
            raise InvalidInput("未知操作")
        message = handler(request, pk)
    except DomainError as exc:
        messages.error(request, page_message(exc))
        posted = request.POST
        form = {"action": action, "signed_on": posted.get("signed_on", ""), "targets": posted.get("targets", "")}
        return _detail(request, pk, form=form, status=exc.status_code)
    messages.success(request, message)
    return redirect("accountability:pledge", pk=pk)


@login_required
@require_safe
def pledge_scan(request, pk: int):
    pledge = selectors.scan_for(request.user, pk)
    if pledge is None:
        raise Http404
    return scan_response(pledge)


@login_required
@require_safe
def pledge_print(request, pk: int):
    pledge = selectors.pledge_detail(request.user, pk)
    saved = selectors.template_for(pledge.county_id, pledge.kind)
    title, lines = documents.render(pledge, (saved.title, saved.body) if saved else None)
    return render(
        request,
        "accountability/pledges/pledge_print.html",
        {"pledge": pledge, "title": title, "lines": lines, "family": pledge.kind == K.SCHOOL_FAMILY},
    )


# --- templates (the bureau) -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def pledge_templates(request):
    user = request.user
    counties = list(scoping.managed_counties(user).order_by("pk"))
    if not counties:
        raise Http404("没有可维护的责任书模板")
    wanted = int_or_none(request.POST.get("county") or request.GET.get("county"))
    county = next((c for c in counties if c.pk == wanted), counties[0])
    typed: dict = {}
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        try:
            services.save_template(
                user=user,
                county_id=county.pk,
                kind=kind,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
            )
        except DomainError as exc:
            messages.error(request, page_message(exc))
            status = exc.status_code
            typed = {"kind": kind, "title": request.POST.get("title", ""), "body": request.POST.get("body", "")}
        else:
            messages.success(request, f"{K(kind).label}责任书模板已保存")
            return redirect(f"{reverse('accountability:pledge-templates')}?county={county.pk}#tpl-{kind}")
    saved = selectors.templates_of(county.pk)
    rows = []
    for code, label in K.choices:
        row = saved.get(code)
        title, body = (row.title, row.body) if row else documents.DEFAULT_TEMPLATES[code]
        if typed.get("kind") == code:
            title, body = typed["title"], typed["body"]
        rows.append({"kind": code, "label": label, "title": title, "body": body, "saved": row})
    return render(
        request,
        "accountability/pledges/pledge_templates.html",
        {
            "county": county,
            "counties": counties,
            "rows": rows,
            "placeholders": documents.PLACEHOLDERS.items(),
        },
        status=status,
    )
