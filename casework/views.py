"""Case pages. Thin: parse the request, call one service or selector, render.

Every write goes through ``casework.services``; a DomainError becomes a page message (or a 404
when the case does not exist for the user). Which action forms a page shows is a convenience
for the user; the services decide what is allowed.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from students import scoping
from students.calendar import cached_school_calendar
from students.errors import DomainError, InvalidInput, form_date, int_or_none, page_message
from students.models import Classroom

from . import selectors, services
from .models import CaseActivity, DropoutCase, Measure

PAGE_SIZE = 50
S = DropoutCase.Status
REPORT_FIELDS = tuple(services.ReportForm.__dataclass_fields__)
REPORT_DATE_FIELDS = {"last_attended_on": "最后到校日期", "dropped_out_on": "辍学时间"}


# --- parsing ----------------------------------------------------------------------------------


def _date(data, name: str, label: str, *, required: bool = False) -> dt.date | None:
    return form_date(data.get(name), label, required=required)


def _required_id(data, name: str, label: str) -> int:
    value = int_or_none(data.get(name))
    if value is None:
        raise InvalidInput(f"请选择{label}")
    return value


def _owner_param(user, value: str) -> int | None:
    """``owner=me`` or a user id (the county dashboard links to each owner's overdue cases)."""
    if value == "me":
        return user.pk
    return int(value) if value.isdigit() else None


def _decorate(case: DropoutCase) -> DropoutCase:
    """Labels the templates need and cannot look up themselves."""
    case.due_label = services.DUE_LABELS.get(case.due_kind, case.due_kind)
    return case


# --- list -------------------------------------------------------------------------------------


@login_required
def case_list(request):
    user = request.user
    status = request.GET.get("status", "")
    status = status if status in S.values else ""
    reason = request.GET.get("reason", "")
    reason = reason if reason in DropoutCase.Reason.values else ""
    filters = {
        "school": int_or_none(request.GET.get("school")),
        "reason": reason,
        "owner": _owner_param(user, request.GET.get("owner", "")),
        "overdue": request.GET.get("overdue") in ("1", "on", "true"),
        "q": request.GET.get("q", "").strip()[:50],
    }
    page = Paginator(selectors.case_list(user, status=status, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page:
        _decorate(case)

    # The status tabs count the cases matching every other filter (one grouped query).
    counts = selectors.case_status_counts(user, **filters)
    rest = request.GET.copy()
    for key in ("status", "page"):
        rest.pop(key, None)
    tabs = [("", _("全部"), sum(counts.values()))] + [(code, label, counts.get(code, 0)) for code, label in S.choices]
    tabs = [
        {"code": code, "label": label, "count": n, "query": _with(rest, status=code), "active": code == status}
        for code, label, n in tabs
    ]
    schools = list(scoping.schools_visible_to(user).order_by("code").values_list("pk", "name"))
    return render(
        request,
        "casework/case_list.html",
        {
            "page": page,
            "tabs": tabs,
            "status": status,
            "filters": {**filters, "owner": request.GET.get("owner", "") if filters["owner"] else ""},
            "schools": schools,
            "reasons": DropoutCase.Reason.choices,
            "any_filter": bool(status or any(filters.values())),
        },
    )


def _with(query, **changes) -> str:
    query = query.copy()
    for key, value in changes.items():
        if value:
            query[key] = value
        else:
            query.pop(key, None)
    return query.urlencode()


# --- detail -----------------------------------------------------------------------------------


def _plan_defaults(case: DropoutCase, plan, people: dict, user) -> dict:
    if plan is not None:
        return {
            "reason_analysis": plan.reason_analysis,
            "measures": plan.measures,
            "method": plan.method,
            "target_return_on": plan.target_return_on,
            "school_leader": plan.school_leader_id,
            "class_teacher": plan.class_teacher_id,
            "township_cadre": plan.township_cadre_id,
            "village_cadre": plan.village_cadre_id,
        }
    leaders = [pk for pk, _label in people["leaders"]]
    return {
        "reason_analysis": case.reason_detail,
        "measures": [],
        "method": "",
        "target_return_on": None,
        "school_leader": user.pk if user.pk in leaders else (leaders[0] if leaders else None),
        "class_teacher": people["teacher_of_class"],
        "township_cadre": people["township"][0][0] if len(people["township"]) == 1 else None,
        "village_cadre": people["village"][0][0] if len(people["village"]) == 1 else None,
    }


def _timeline(case: DropoutCase) -> list[dict]:
    rows = selectors.timeline(case)
    labels = dict(S.choices)
    attempts = sorted((r["obj"] for r in rows if r["kind"] == "activity"), key=lambda a: (a.occurred_on, a.pk))
    number = {a.pk: i for i, a in enumerate(attempts, start=1)}
    for row in rows:
        obj = row["obj"]
        if row["kind"] == "event":
            row["from_label"] = labels.get(obj.from_status, "")
            row["to_label"] = labels.get(obj.to_status, "")
        else:
            row["number"] = number[obj.pk]
    return rows


@login_required
def case_detail(request, pk: int):
    user = request.user
    case = _decorate(selectors.case_detail(user, pk))
    plan = selectors.current_plan(case)
    proposal = services.escalation_proposal(case)
    can = services.available_actions(user, case, proposal=proposal)
    today = timezone.localdate()
    context = {
        "case": case,
        "plan": plan,
        "earlier_plans": list(
            case.plans.filter(is_current=False).select_related(
                "school_leader", "class_teacher", "township_cadre", "village_cadre", "created_by"
            )
        ),
        "guardians": list(case.student.guardians.all()),
        "id_number": scoping.display_id_number(user, case.student.id_number),
        "proposal": proposal,
        "follow_ups": list(case.follow_ups.select_related("assignee")),
        "timeline": _timeline(case),
        "can": can,
        "today": today,
        "dismiss_reasons": DropoutCase.DismissReason.choices,
        "activity_kinds": CaseActivity.Kind.choices,
        "activity_targets": CaseActivity.Target.choices,
        "activity_outcomes": CaseActivity.Outcome.choices,
        "placements": DropoutCase.Placement.choices,
        "measures": Measure.choices,
    }
    if can["plan"]:
        people = selectors.plan_candidates(case, plan)
        context["people"] = people
        context["plan_form"] = _plan_defaults(case, plan, people, user)
    if can["return"]:
        context["return_classes"] = list(
            Classroom.objects.filter(school_id=case.school_id).order_by("grade__level", "number")
        )
    if can["handover"]:
        context["handover_classes"] = list(
            scoping.manageable_classrooms(user)
            .filter(school__county_id=case.school.county_id)
            .exclude(school_id=case.school_id)
            .select_related("school")
            .order_by("school__code", "grade__level", "number")
        )
    return render(request, "casework/case_detail.html", context)


# --- actions ----------------------------------------------------------------------------------


def _submit(request, case_id: int) -> str:
    services.submit_report(user=request.user, case_id=case_id, note=request.POST.get("note", ""))
    return _("报告表已签发并上报教育局")


def _verify(request, case_id: int) -> str:
    services.verify_case(user=request.user, case_id=case_id, note=request.POST.get("note", ""))
    return _("已认定辍学,个案列入辍学台账")


def _dismiss(request, case_id: int) -> str:
    services.dismiss_case(
        user=request.user, case_id=case_id, reason=request.POST.get("reason", ""), note=request.POST.get("note", "")
    )
    return _("已排除疑似辍学")


def _plan(request, case_id: int) -> str:
    data = request.POST
    plan = services.make_plan(
        user=request.user,
        case_id=case_id,
        plan=services.PlanInput.from_data(
            {
                "reason_analysis": data.get("reason_analysis", ""),
                "measures": data.getlist("measures"),
                "method": data.get("method", ""),
                "target_return_on": _date(data, "target_return_on", "目标返校日期", required=True),
                "school_leader": _required_id(data, "school_leader", "校领导责任人"),
                "class_teacher": _required_id(data, "class_teacher", "班主任责任人"),
                "township_cadre": _required_id(data, "township_cadre", "乡镇干部责任人"),
                "village_cadre": int_or_none(data.get("village_cadre")),
            }
        ),
        note=data.get("note", ""),
    )
    return _("一人一案已保存(第%(version)s版)") % {"version": plan.version}


def _activity(request, case_id: int) -> str:
    data = request.POST
    services.add_activity(
        user=request.user,
        case_id=case_id,
        activity=services.ActivityInput(
            occurred_on=_date(data, "occurred_on", "劝返日期", required=True),
            kind=data.get("kind", ""),
            outcome=data.get("outcome", ""),
            participants=data.get("participants", ""),
            target=data.get("target") or CaseActivity.Target.BOTH,
            content=data.get("content", ""),
            next_step=data.get("next_step", ""),
            next_step_on=_date(data, "next_step_on", "下一步日期"),
        ),
    )
    return _("劝返记录已保存")


def _escalate(request, case_id: int) -> str:
    services.escalate_case(user=request.user, case_id=case_id, note=request.POST.get("note", ""))
    return _("已升级为联合劝返,由乡镇牵头")


def _notice(request, case_id: int) -> str:
    case = services.issue_notice(user=request.user, case_id=case_id, number=request.POST.get("number", ""))
    return format_html(
        '{} <a href="{}" class="alert-link">{}</a>',
        _("已发出限期返校通知书(%(number)s),送达后请添加“通知书送达”记录。") % {"number": case.notice_number},
        reverse("case-print-notice", args=[case.pk]),
        _("打印通知书"),
    )


def _return(request, case_id: int) -> str:
    data = request.POST
    services.record_return(
        user=request.user,
        case_id=case_id,
        returned_on=_date(data, "returned_on", "复学日期", required=True),
        placement=data.get("placement", ""),
        classroom_id=int_or_none(data.get("classroom")),
        buddy=data.get("buddy", ""),
        note=data.get("note", ""),
    )
    return _("已登记复学,并生成复学跟踪安排")


def _close(request, case_id: int) -> str:
    services.close_case(user=request.user, case_id=case_id, note=request.POST.get("note", ""))
    return _("个案已销号")


def _handover(request, case_id: int) -> str:
    services.hand_over(
        user=request.user,
        case_id=case_id,
        to_classroom_id=_required_id(request.POST, "classroom", "接收班级"),
        note=request.POST.get("note", ""),
    )
    return _("个案已移交接收学校")


ACTIONS = {
    "submit": _submit,
    "verify": _verify,
    "dismiss": _dismiss,
    "plan": _plan,
    "activity": _activity,
    "escalate": _escalate,
    "notice": _notice,
    "return": _return,
    "close": _close,
    "handover": _handover,
}
ANCHORS = {"activity": "#timeline", "plan": "#plan"}


@login_required
@require_POST
def case_action(request, pk: int, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    try:
        messages.success(request, handler(request, pk))
    except DomainError as exc:
        messages.error(request, page_message(exc))
        return redirect("case-detail", pk=pk)
    return redirect(reverse("case-detail", args=[pk]) + ANCHORS.get(action, ""))


@login_required
@require_POST
def follow_up_done(request, pk: int, follow_up_id: int):
    case = selectors.case_detail(request.user, pk)
    if not case.follow_ups.filter(pk=follow_up_id).exists():
        raise Http404
    try:
        services.complete_follow_up(user=request.user, follow_up_id=follow_up_id, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, page_message(exc))
    else:
        messages.success(request, _("跟踪事项已完成"))
    return redirect(reverse("case-detail", args=[pk]) + "#follow-ups")


# --- the report form (辍学学生情况报告表) ------------------------------------------------------


@login_required
def case_report(request, pk: int):
    user = request.user
    case = _decorate(selectors.case_detail(user, pk))
    values = {name: getattr(case, name) for name in REPORT_FIELDS}
    if request.method == "POST":
        posted = {name: request.POST[name].strip() for name in REPORT_FIELDS if name in request.POST}
        values |= posted
        try:
            changes = {
                name: _date(posted, name, REPORT_DATE_FIELDS[name]) if name in REPORT_DATE_FIELDS else value
                for name, value in posted.items()
            }
            services.update_report(user=user, case_id=case.pk, changes=changes)
        except DomainError as exc:
            messages.error(request, page_message(exc))
        else:
            messages.success(request, _("报告表已保存"))
            return redirect("case-detail", pk=case.pk)
    for name in REPORT_DATE_FIELDS:
        if isinstance(values[name], dt.date):
            values[name] = values[name].isoformat()
    return render(
        request,
        "casework/case_report.html",
        {
            "case": case,
            "values": values,
            "editable": services.available_actions(user, case)["edit_report"],
            "guardians": list(case.student.guardians.all()),
            "id_number": scoping.display_id_number(user, case.student.id_number),
            "reasons": DropoutCase.Reason.choices,
            "whereabouts": DropoutCase.Whereabouts.choices,
            "today": timezone.localdate(),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- opening a case ---------------------------------------------------------------------------


@login_required
@require_POST
def case_open(request, student_id: int):
    """报告疑似辍学 from the student page, or 一键转为个案 from a red early warning."""
    flag_id = int_or_none(request.POST.get("flag"))
    try:
        case = services.open_case(
            user=request.user,
            student_id=student_id,
            source=DropoutCase.Source.ATTENDANCE if flag_id else DropoutCase.Source.MANUAL,
            flag_id=flag_id,
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        message = page_message(exc)
        existing = (
            selectors.cases_visible_to(request.user)
            .filter(student_id=student_id, status__in=DropoutCase.OPEN_STATUSES)
            .first()
        )
        if existing is not None:
            messages.error(
                request,
                format_html(
                    '{} <a href="{}" class="alert-link">{}</a>',
                    message,
                    existing.get_absolute_url(),
                    _("查看该个案"),
                ),
            )
        else:
            messages.error(request, message)
        if flag_id:
            return redirect("risk-flag-detail", pk=flag_id)
        return redirect("student-detail", pk=student_id)
    messages.success(request, _("已建立疑似辍学个案,请填写辍学学生情况报告表"))
    return redirect("case-report", pk=case.pk)


# --- print views (A4 paper forms) -------------------------------------------------------------


def _days_absent(case: DropoutCase) -> int | None:
    """School days without attending from the day after the last attendance to the report date."""
    if not case.last_attended_on:
        return None
    until = case.reported_on or timezone.localdate()
    calendar = cached_school_calendar(case.school.county_id)
    return len(calendar.school_days(case.last_attended_on + dt.timedelta(days=1), until))


@login_required
def print_report(request, pk: int):
    user = request.user
    case = selectors.case_detail(user, pk)
    guardians: list = list(case.student.guardians.all()[:3])
    return render(
        request,
        "casework/print_report.html",
        {
            "case": case,
            "guardian_rows": guardians + [None] * (2 - len(guardians)),
            "id_number": scoping.display_id_number(user, case.student.id_number),
            "days_absent": _days_absent(case),
        },
    )


@login_required
def print_notice(request, pk: int):
    case = selectors.case_detail(request.user, pk)
    if not case.notice_issued_on:
        messages.error(request, _("尚未发出限期返校通知书,不能打印"))
        return redirect("case-detail", pk=case.pk)
    plan = selectors.current_plan(case)
    return render(
        request,
        "casework/print_notice.html",
        {
            "case": case,
            "guardian": case.student.guardians.first(),
            "plan": plan,
        },
    )
