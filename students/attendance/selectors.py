"""Reads of attendance and risk. Every function takes the user; scoping decides."""

import datetime as dt
from typing import TypedDict

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from students import scoping
from students.attendance.risk import flags_visible_to
from students.calendar import cached_school_calendar
from students.errors import as_id
from students.models import Absence, AbsenceKind, Classroom, DailyReport, DailyReportRevision, Post, RiskFlag, Student


def reports_visible_to(user) -> QuerySet[DailyReport]:
    """Reports of the classes the user manages (class teacher, school leaders, bureau)."""
    classes = scoping.manageable_classrooms(user).values("pk")
    return (
        DailyReport.objects.filter(classroom_id__in=classes)
        .select_related("classroom", "submitted_by")
        .prefetch_related(Prefetch("absences", queryset=Absence.objects.select_related("student")))
        .order_by("-date", "classroom__grade__level", "classroom__number")
    )


def report_for(user, classroom: Classroom, day: dt.date) -> DailyReport | None:
    return reports_visible_to(user).filter(classroom=classroom, date=day).first()


def report_revisions(report: DailyReport) -> QuerySet[DailyReportRevision]:
    return report.revisions.select_related("submitted_by").order_by("-version")


def missing_reports(user, day: dt.date, *, school=None) -> list[Classroom]:
    """Classes in scope that have not reported on ``day`` ("reported, nobody absent" counts as reported)."""
    reported = DailyReport.objects.filter(classroom=OuterRef("pk"), date=day)
    qs = scoping.manageable_classrooms(user).filter(~Exists(reported)).select_related("school", "grade")
    school = as_id(school, "学校")
    if school:
        qs = qs.filter(school_id=school)
    return list(qs.order_by("school__code", "grade__level", "number"))


class DutyRow(TypedDict):
    """One class in the duty leader's view."""

    classroom: Classroom
    enrolled: int
    report: DailyReport | None
    teachers: list[str]


def duty_overview(user, school_id: int, day: dt.date) -> dict:
    """The duty leader's view of one school and day: who reported, who did not, who is absent."""
    classes = list(
        scoping.manageable_classrooms(user)
        .filter(school_id=school_id)
        .select_related("grade")
        .annotate(enrolled=Count("students", filter=Q(students__status=Student.Status.ENROLLED)))
        .order_by("grade__level", "number")
    )
    reports = {
        r.classroom_id: r
        for r in DailyReport.objects.filter(classroom__in=classes, date=day).select_related("submitted_by")
    }
    teachers = Post.objects.class_teachers(day).filter(classroom__in=classes).names_by_classroom()
    absences = list(
        Absence.objects.filter(report__in=reports.values())
        .select_related("student", "report__classroom")
        .order_by("report__classroom__grade__level", "report__classroom__number", "student__name_pinyin")
    )
    by_kind = {kind: [a for a in absences if a.kind == kind.value] for kind in AbsenceKind}
    rows: list[DutyRow] = [
        {
            "classroom": c,
            "enrolled": c.enrolled,
            "report": reports.get(c.pk),
            "teachers": teachers.get(c.pk, []),
        }
        for c in classes
    ]
    return {
        "rows": rows,
        "reported": [r for r in rows if r["report"]],
        "missing": [r for r in rows if not r["report"]],
        "by_kind": by_kind,
        "absences": absences,
        "unfollowed": [a for a in absences if a.kind in ("unexcused", "unknown") and not a.family_contacted],
        "enrolled_total": sum(r["enrolled"] for r in rows),
        "present_total": sum(r["report"].present_count for r in rows if r["report"]),
    }


def flags_for(user, *, school=None, classroom=None, student=None, level=None, status=None, open_only=False):
    qs = flags_visible_to(user).select_related("student", "student__classroom", "student__school", "handled_by")
    school, classroom, student = as_id(school, "学校"), as_id(classroom, "班级"), as_id(student, "学生")
    if school:
        qs = qs.filter(student__school_id=school)
    if classroom:
        qs = qs.filter(student__classroom_id=classroom)
    if student:
        qs = qs.filter(student_id=student)
    if level:
        qs = qs.filter(level=level)
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=RiskFlag.OPEN_STATUSES)
    return qs.order_by("-raised_at", "-id")


def flag_counts_by_level(user, *, school=None) -> dict[str, int]:
    qs = flags_visible_to(user).filter(status__in=RiskFlag.OPEN_STATUSES)
    school = as_id(school, "学校")
    if school:
        qs = qs.filter(student__school_id=school)
    counts = dict(qs.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    return {level: counts.get(level, 0) for level in RiskFlag.Level.values}


def student_attendance_calendar(student: Student, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Per day of the range: 'present', an absence kind, or absent from the map (not reported / no school)."""
    days: dict[dt.date, str] = {}
    if student.classroom_id:
        for day in DailyReport.objects.filter(classroom_id=student.classroom_id, date__range=(start, end)).values_list(
            "date", flat=True
        ):
            days[day] = "present"
    for day, kind in Absence.objects.filter(student=student, date__range=(start, end)).values_list("date", "kind"):
        days[day] = kind
    return days


def student_term_calendar(student: Student, today: dt.date) -> dict | None:
    """The student's attendance in the current (or latest) term, week by week, with a summary."""
    if student.school is None:
        return None
    calendar = cached_school_calendar(student.school.county_id)
    term = calendar.term_of(today) or next(
        ((start, end) for start, end in reversed(calendar.terms) if start <= today), None
    )
    if term is None:
        return None
    start, end = term[0], min(term[1], today)
    states = student_attendance_calendar(student, start, end)
    first_monday = start - dt.timedelta(days=start.weekday())
    weeks, week = [], []
    day = first_monday
    while day <= end or day.weekday() != 0:
        in_range = start <= day <= end
        state = states.get(day, "")
        if in_range and not state:
            state = "unreported" if calendar.is_school_day(day) else "off"
        week.append({"date": day, "state": state if in_range else "", "in_range": in_range})
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += dt.timedelta(days=1)
    summary = {kind.value: 0 for kind in AbsenceKind}
    summary["present"] = 0
    for state in states.values():
        summary[state] = summary.get(state, 0) + 1
    reported = sum(summary.values())
    absent = reported - summary["present"]
    return {
        "start": start,
        "end": end,
        "weeks": weeks,
        "summary": summary,
        "reported_days": reported,
        "absent_days": absent,
        "absence_pct": round(absent * 100 / reported, 1) if reported else 0,
    }


def attended_school_days(student: Student, since: dt.date) -> int:
    """School days from ``since`` to today on which the student's class reported and they were present."""
    if student.classroom_id is None:
        return 0
    days = (since, timezone.localdate())
    absent = Absence.objects.filter(student=student, date__range=days).values("date")
    return (
        DailyReport.objects.filter(classroom_id=student.classroom_id, date__range=days).exclude(date__in=absent).count()
    )


# How far ahead the offline copy of a take page knows the school calendar: a page cached on a Friday
# still knows whether next week's days are school days when opened offline on Monday.
OFFLINE_CALENDAR_DAYS = 14


def offline_copy(user, classroom: Classroom, today: dt.date, *, week_start: dt.date) -> dict:
    """What the attendance page keeps for offline use (its JSON data island): the calendar from the
    start of the correction window to two weeks ahead and the class's reports of the window, so a copy
    opened offline on a later day can show that day (the roster itself is the page's rows)."""
    calendar = cached_school_calendar(classroom.school.county_id)
    days = {}
    day = week_start
    while day <= today + dt.timedelta(days=OFFLINE_CALENDAR_DAYS):
        why = calendar.why_not_school_day(day)
        days[day.isoformat()] = {"school": why is None, "why": why or ""}
        day += dt.timedelta(days=1)
    reports = {
        report.date.isoformat(): report_payload(report)
        for report in reports_visible_to(user).filter(classroom=classroom, date__gte=week_start, date__lte=today)
    }
    return {
        "user": user.pk,
        "classroom": {"id": classroom.pk, "name": f"{classroom.school.name} {classroom.name}"},
        "week_start": week_start.isoformat(),
        "today": today.isoformat(),
        "days": days,
        "reports": reports,
        "kinds": {str(code): str(label) for code, label in AbsenceKind.choices},
    }


def report_payload(report: DailyReport) -> dict:
    """The report as the API shows it (also the body of a 409)."""
    return {
        "id": report.pk,
        "classroom": report.classroom_id,
        "date": report.date.isoformat(),
        "version": report.version,
        "enrolled_count": report.enrolled_count,
        "present_count": report.present_count,
        "submitted_by": report.submitted_by_id,
        "submitted_by_name": str(report.submitted_by),
        "submitted_at": timezone.localtime(report.submitted_at).isoformat(),
        "absences": [
            {"student": a.student_id, "kind": a.kind, "note": a.note, "family_contacted": a.family_contacted}
            for a in report.absences.all()
        ],
    }
