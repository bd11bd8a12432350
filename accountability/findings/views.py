"""Finding pages (通报 / 限期整改). Thin: parse the request, call one service or selector, render.

A finding outside the reader's scope is a 404 (page, actions, evidence). A refused action shows
its Chinese message on the page, with what the user typed kept (answer text; the files must be
chosen again: a browser never re-sends them). The issue form exists for the bureau only.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from students import scoping
from students.errors import DomainError, InvalidInput, form_date, int_or_none, page_message
from students.uploads import download

from ..models import Finding, FindingAttachment
from ..policy import policy_for
from . import selectors, services

PAGE_SIZE = 50
S = Finding.Status


# --- shared with the API ----------------------------------------------------------------------


def evidence_files(files) -> list:
    """The uploaded evidence of a request: the ``files`` field (also accepted as ``files[]``)."""
    return [*files.getlist("files"), *files.getlist("files[]")]


def attachment_response(attachment: FindingAttachment) -> FileResponse:
    """An evidence file as a download under its original name; never kept by a browser or proxy."""
    return download(attachment.file, attachment.name)


# --- parsing ----------------------------------------------------------------------------------


def _decorate(finding: Finding, today: dt.date) -> Finding:
    finding.is_late = selectors.is_overdue(finding, today)
    return finding


# --- list -------------------------------------------------------------------------------------


@login_required
@require_safe
def finding_list(request):
    user = request.user
    status = request.GET.get("status", "")
    status = status if status in S.values else ""
    school = int_or_none(request.GET.get("school"))
    overdue = request.GET.get("overdue") in ("1", "on", "true")
    findings = selectors.finding_list(user, school=school, status=status, overdue=True if overdue else None)
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for finding in page:
        _decorate(finding, today)
    return render(
        request,
        "accountability/findings/finding_list.html",
        {
            "page": page,
            "statuses": S.choices,
            "filters": {"status": status, "school": school, "overdue": overdue},
            "any_filter": bool(status or school or overdue),
            "schools": list(scoping.managed_schools(user).order_by("code").values_list("pk", "name")),
            "counts": selectors.finding_counts(user),
            "may_issue": selectors.may_issue(user),
        },
    )


# --- detail and actions -----------------------------------------------------------------------


def _detail(request, pk: int, *, form: dict | None = None, status: int = 200):
    user = request.user
    today = timezone.localdate()
    finding = _decorate(selectors.finding_detail(user, pk), today)
    return render(
        request,
        "accountability/findings/finding_detail.html",
        {
            "finding": finding,
            "attachments": list(finding.attachments.all()),
            "trail": selectors.trail(finding),
            "can": services.available_actions(user, finding),
            "form": form or {},
            "today": today,
        },
        status=status,
    )


@login_required
@require_safe
def finding_detail(request, pk: int):
    return _detail(request, pk)


def _answer(request, pk: int) -> str:
    finding = services.answer_finding(
        user=request.user,
        finding_id=pk,
        answer=request.POST.get("answer", ""),
        files=evidence_files(request.FILES),
    )
    count = finding.attachments.count()
    return _("整改情况已报送教育局(佐证材料%(count)s个)") % {"count": count}


def _accept(request, pk: int) -> str:
    services.accept_finding(user=request.user, finding_id=pk, note=request.POST.get("note", ""))
    return _("已验收通过")


def _return(request, pk: int) -> str:
    services.return_finding(
        user=request.user,
        finding_id=pk,
        note=request.POST.get("note", ""),
        due_on=form_date(request.POST.get("due_on", ""), "新的整改期限"),
    )
    return _("已退回学校重新整改")


ACTIONS = {"answer": _answer, "accept": _accept, "return": _return}


@login_required
@require_POST
def finding_action(request, pk: int, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    try:
        message = handler(request, pk)
    except DomainError as exc:
        messages.error(request, page_message(exc))
        form = {"action": action, "answer": request.POST.get("answer", ""), "note": request.POST.get("note", "")}
        return _detail(request, pk, form=form, status=exc.status_code)
    messages.success(request, message)
    return redirect("accountability:finding", pk=pk)


@login_required
@require_safe
def finding_attachment(request, pk: int, attachment_id: int):
    attachment = selectors.attachment_for(request.user, pk, attachment_id)
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


# --- issue form -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def finding_new(request):
    user = request.user
    if not selectors.may_issue(user):
        raise Http404
    schools = list(selectors.issuable_schools(user).order_by("code"))
    scope = scoping.scope_for(user)
    county_id = scope.home_county_id or (schools[0].county_id if schools else None)
    values = {
        "school": int_or_none(request.GET.get("school")),
        "facts": "",
        "requirement": "",
        "source": Finding.Source.INSPECTION,
        "metric": "",
        "period": "",
        "due_on": services.default_due_on(county_id).isoformat() if county_id else "",
    }
    if request.GET.get("metric"):  # one click from a metric that misses its target (the compliance page)
        values |= {
            "source": Finding.Source.METRIC,
            "metric": request.GET.get("metric", "")[:40],
            "period": request.GET.get("period", "")[:30],
            "facts": request.GET.get("facts", "")[:500],
        }
    status = 200
    if request.method == "POST":
        posted = request.POST
        values |= {
            name: posted.get(name, "").strip() for name in ("facts", "requirement", "source", "metric", "period")
        }
        values |= {"school": int_or_none(posted.get("school")), "due_on": posted.get("due_on", "").strip()}
        try:
            if values["school"] is None:
                raise InvalidInput("请选择学校")
            finding = services.issue_finding(
                user=user,
                school_id=values["school"],
                facts=values["facts"],
                requirement=values["requirement"],
                due_on=form_date(values["due_on"], "整改期限"),
                source=values["source"] or Finding.Source.INSPECTION,
                metric=values["metric"],
                period=values["period"],
            )
        except DomainError as exc:
            messages.error(request, page_message(exc))
            status = exc.status_code
        else:
            messages.success(
                request,
                _("已向%(school)s发出通报,整改期限 %(due)s")
                % {"school": finding.school.name, "due": f"{finding.due_on:%Y-%m-%d}"},
            )
            return redirect(finding.get_absolute_url())
    return render(
        request,
        "accountability/findings/finding_form.html",
        {
            "schools": schools,
            "values": values,
            "sources": Finding.Source.choices,
            "today": timezone.localdate(),
            "working_days": policy_for(county_id).finding_working_days if county_id else None,
        },
        status=status,
    )
