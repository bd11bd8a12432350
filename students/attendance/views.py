"""Pages for daily attendance and early warnings. Thin: parse, call a service or selector, render."""

import datetime as dt
import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST

from students import scoping
from students.attendance import risk
from students.attendance import services as attendance
from students.attendance.selectors import (
    duty_overview,
    flag_counts_by_level,
    flags_for,
    offline_copy,
    report_for,
    report_revisions,
)
from students.calendar import cached_school_calendar
from students.errors import Conflict, DomainError, page_message
from students.models import AbsenceKind, County, DailyReport, RiskFlag, RiskRule, School, Student
from students.notifications import mark_read
from students.pwa import offline_capable, offline_texts


def _date_param(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
@gzip_page
def attendance_home(request):
    """A teacher's classes with today's reporting state; school leaders go to the duty view.

    The teacher of one class gets the class's page right here, not a redirect: this is where the
    home-screen icon opens, and a redirect costs a round trip (half a second on 3G)."""
    today = timezone.localdate()
    classes = list(scoping.manageable_classrooms(request.user).select_related("school", "grade")[:200])
    scope = scoping.scope_for(request.user)
    if not scope.teaches_a_class and (scope.leads_a_school or scope.county_level):
        return redirect("attendance-duty")
    if len(classes) == 1:
        return _take_attendance(request, classes[0].pk)
    reported = set(DailyReport.objects.filter(classroom__in=classes, date=today).values_list("classroom_id", flat=True))
    response = render(
        request,
        "attendance/home.html",
        {"classes": [(c, c.pk in reported) for c in classes], "today": today},
    )
    return offline_capable(response, request)


@login_required
@gzip_page  # the phone page: ~100 KB of rows is ~10 KB compressed (nginx may compress the rest)
def take_attendance(request, classroom_id: int):
    """Mobile-first: everyone present by default, tap a student to mark an absence, submit."""
    return _take_attendance(request, classroom_id)


def _take_attendance(request, classroom_id: int):
    classroom = scoping.get_visible_or_404(
        scoping.manageable_classrooms(request.user).select_related("school", "grade"), pk=classroom_id
    )
    today = timezone.localdate()
    day = _date_param(request.GET.get("date") or request.POST.get("date"), today)
    students = list(
        Student.objects.filter(classroom=classroom, status=Student.Status.ENROLLED).order_by("name_pinyin", "id")
    )

    if request.method == "POST":
        rows = []
        # 全部到齐: the one-tap submit of the common day, whatever the form held.
        for student in [] if request.POST.get("all_present") else students:
            kind = request.POST.get(f"kind_{student.pk}", "")
            if kind:
                rows.append(
                    {
                        "student": student.pk,
                        "kind": kind,
                        "note": request.POST.get(f"note_{student.pk}", ""),
                        "family_contacted": request.POST.get(f"contacted_{student.pk}") == "on",
                    }
                )
        version = request.POST.get("version")
        try:
            result = attendance.submit_daily_report(
                user=request.user,
                classroom_id=classroom.pk,
                day=day,
                absences=attendance.parse_absences(rows),
                version=int(version) if version else None,
            )
        except Conflict as exc:
            messages.error(request, exc.message + "。下面显示的是当前最新版本。")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            absent = len(rows)
            if result.changed:
                messages.success(
                    request, f"已提交 {day:%m月%d日} 考勤:应到{result.report.enrolled_count}人,缺勤{absent}人"
                )
            else:
                messages.info(request, "考勤内容没有变化,无需重复提交")
            return redirect(f"{request.path}?date={day.isoformat()}")

    report = report_for(request.user, classroom, day)
    current = {a.student_id: a for a in report.absences.all()} if report else {}
    calendar = cached_school_calendar(classroom.school.county_id)
    week_start = attendance.correction_window_start(today)
    week_days = calendar.school_days(week_start, today)
    response = render(
        request,
        "attendance/take.html",
        {
            "classroom": classroom,
            "day": day,
            "today": today,
            "week_days": week_days,
            "not_school_day": calendar.why_not_school_day(day),
            "report": report,
            "revisions": report_revisions(report) if report else [],
            "rows": [(s, current.get(s.pk)) for s in students],
            # 应到 is the class's enrolled students when the report is (re)submitted: if the roster
            # changed since, the saved report keeps its number and a correction would use the new one.
            "roster_changed": report is not None and report.enrolled_count != len(students),
            "enrolled_now": len(students),
            "kinds": AbsenceKind.choices,
            "offline": {
                **offline_copy(request.user, classroom, today, week_start=week_start),
                "day": day.isoformat(),
                "rendered_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
                "text": offline_texts(),
            },
        },
    )
    return offline_capable(response, request)


@login_required
def duty_view(request):
    """值班校领导: which classes reported today, which not, who is absent."""
    managed = scoping.manageable_classrooms(request.user).values("school_id")
    schools = list(School.objects.filter(pk__in=managed).order_by("code"))
    if not schools:
        raise Http404
    try:
        school = next(s for s in schools if str(s.pk) == request.GET.get("school"))
    except StopIteration:
        school = schools[0]
    day = _date_param(request.GET.get("date"), timezone.localdate())
    overview = duty_overview(request.user, school.pk, day)
    return render(
        request,
        "attendance/duty.html",
        {
            "schools": schools,
            "school": school,
            "day": day,
            "not_school_day": cached_school_calendar(school.county_id).why_not_school_day(day),
            "kinds": AbsenceKind,
            **overview,
        },
    )


@login_required
def flag_list(request):
    params = {key: request.GET.get(key, "") for key in ("level", "status", "school", "classroom")}
    if "status" not in request.GET:
        params["status"] = "open"
    flags = flags_for(
        request.user,
        school=params["school"] or None,
        classroom=params["classroom"] or None,
        level=params["level"] or None,
        status=params["status"] if params["status"] not in ("", "all") else None,
    )
    page = Paginator(flags, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "attendance/flag_list.html",
        {
            "page": page,
            "params": params,
            "counts": flag_counts_by_level(request.user, school=params["school"] or None),
            "levels": RiskFlag.Level.choices,
            "statuses": RiskFlag.Status.choices,
            "classrooms": scoping.classrooms_visible_to(request.user)
            .select_related("school")
            .order_by("school__code", "grade__level", "number")[:300],
        },
    )


@login_required
def flag_detail(request, pk: int):
    flag = scoping.get_visible_or_404(flags_for(request.user), pk=pk)
    params = (flag.evidence or {}).get("params")
    actions = risk.flag_actions(flag)
    return render(
        request,
        "attendance/flag_detail.html",
        {
            "flag": flag,
            "actions": actions,
            "any_action": any(actions.values()),
            "explanation": risk.explain(flag.rule_code, params) if params else "",
            "history": flag.history.select_related("history_user").order_by("-history_date")[:20],
        },
    )


@login_required
@require_POST
def flag_action(request, pk: int, action: str):
    if action not in risk.FLAG_ACTIONS:
        raise Http404
    try:
        risk.handle_flag(user=request.user, flag_id=pk, action=action, note=request.POST.get("note", ""))
        messages.success(request, "预警状态已更新")
    except DomainError as exc:
        messages.error(request, page_message(exc))
    return redirect("risk-flag-detail", pk=pk)


@login_required
@require_POST
def flag_create(request, student_id: int):
    try:
        flag = risk.raise_manual_flag(
            user=request.user,
            student_id=student_id,
            category=request.POST.get("category", ""),
            level=request.POST.get("level", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        messages.error(request, page_message(exc))
        return redirect("student-detail", pk=student_id)
    messages.success(request, "已标记预警")
    return redirect("risk-flag-detail", pk=flag.pk)


@login_required
@require_POST
def notifications_read(request):
    ids = [int(x) for x in request.POST.getlist("id") if x.isdigit()]
    mark_read(request.user, ids)
    return redirect("home")


PARAM_FIELDS = {
    "consecutive_absence": [("days", int, "连续上学日数")],
    "recent_unexcused": [("window", int, "最近上学日数"), ("count", int, "旷课次数")],
    "chronic_absence": [("rate", float, "缺勤率(0–1)"), ("min_days", int, "至少已报告天数")],
}


@login_required
def rule_list(request):
    """The county's early-warning rules in plain Chinese; the bureau may change parameters (a new version)."""
    county_ids = scoping.county_ids_of(request.user)
    if not county_ids:
        raise Http404
    county = County.objects.get(pk=county_ids[0])
    may_edit = risk.can_change_rules(request.user, county.pk)
    if request.method == "POST":
        if not may_edit:
            raise Http404
        code = request.POST.get("code", "")
        try:
            params = {name: kind(request.POST.get(name, "")) for name, kind, _label in PARAM_FIELDS.get(code, [])}
            # nan / inf parse as floats but are no parameters (and JSON cannot store them).
            if any(not math.isfinite(value) or value <= 0 for value in params.values()):
                raise ValueError
            if params.get("rate", 0) > 1:
                raise DomainError("缺勤率须在 0 到 1 之间(如 0.2 表示 20%)")
            rule = risk.update_rule(
                county=county, code=code, params=params, level=request.POST.get("level", ""), by=request.user
            )
            messages.success(request, f"已更新为第{rule.version}版,此后的预警按新参数产生")
        except ValueError:
            messages.error(request, "参数须为正数")
        except DomainError as exc:
            messages.error(request, page_message(exc))
        return redirect("risk-rules")
    active = risk.active_rules(county.pk)
    rows = [
        {
            "rule": rule,
            "explanation": risk.explain(rule.code, rule.params),
            "fields": [(name, label, rule.params.get(name)) for name, _kind, label in PARAM_FIELDS[rule.code]],
            "versions": RiskRule.objects.filter(county=county, code=rule.code).select_related("created_by"),
        }
        for rule in active.values()
    ]
    return render(
        request,
        "attendance/rules.html",
        {"county": county, "rows": rows, "may_edit": may_edit, "levels": RiskFlag.Level.choices},
    )
