"""Dashboard data: the principal's school dashboard and the bureau's county dashboard.

Selectors: every function takes the user, and a school or county outside the user's scope raises
``OutOfScope`` (the pages answer 404). Who may open which dashboard:

- the school dashboard: principals and school leaders for their school(s), the bureau for any
  school of its county (``?school=``), a superuser for any school;
- the county dashboard: the bureau for its county, a superuser for any county.

The numbers come from :func:`reporting.metrics.collect`, called exactly as the weekly report
builders call it: the current ISO week Monday..Sunday (so far: school days up to today), numbers
as of now, ``by_class`` as the school weekly / county weekly report. A dashboard therefore shows
the numbers that a report generated at the same moment writes into its Excel file.

What is not in a report comes from single grouped queries: today's reporting and the attendance
trend over the last 20 school days (per-day sums of the same daily reports, the same formula as
:attr:`metrics.Unit.attendance_rate`), open flags by level, the overdue cases per owner in the
current plan, and the week's report runs. The number of queries does not depend on the number of
schools, classes or students. Once a school or county is known to be in the user's scope, its
cases are read by school / county: every case that belongs to a school is visible to its leaders
and to the bureau (casework.selectors.case_q).

A school's week numbers and trend are kept in a short cache (below) so that the principal's
dashboard stays fast when opened again and again; a report submitted, a case moved or a student
changed at the school drops them at once.
"""

import dataclasses
import datetime as dt
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext

from casework.models import DropoutCase, ReturnPlan
from casework.selectors import OWNER_FIELDS, overdue_q
from students import scoping
from students.attendance.selectors import flag_counts_by_level
from students.calendar import cached_school_calendar
from students.errors import OutOfScope
from students.models import Classroom, County, DailyReport, School, Student

from .. import metrics
from ..models import ReportRun
from ..periods import period_bounds, previous_iso_week

K = ReportRun.Kind
TREND_DAYS = 20
OVERDUE_SHOWN = 8


# --- the period ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Week:
    """The current ISO week as the weekly reports define it, and the moment the numbers are taken."""

    period: str  # "2026-W48"
    previous: str  # "2026-W47"
    start: dt.date  # Monday
    end: dt.date  # Sunday
    today: dt.date
    as_of: dt.datetime

    @property
    def last(self) -> dt.date:
        """The last day counted so far (today, or Sunday once the week is over)."""
        return min(self.end, self.today)


def current_week(as_of: dt.datetime | None = None) -> Week:
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of)
    year, number, _ = today.isocalendar()
    period = f"{year}-W{number:02d}"
    start, end = period_bounds(period)
    return Week(period=period, previous=previous_iso_week(today), start=start, end=end, today=today, as_of=as_of)


# --- who may open which dashboard ------------------------------------------------------------------


def dashboard_schools(user) -> QuerySet[School]:
    """Schools whose dashboard the user may open: their own (school posts), or their county's (all for a superuser)."""
    return scoping.managed_schools(user)


def dashboard_counties(user) -> QuerySet[County]:
    """Counties whose dashboard the user may open: their bureau's (all for a superuser)."""
    return scoping.managed_counties(user)


def _pick(objects: list, wanted, what: str):
    if not objects:
        raise OutOfScope(f"{what}不存在或您无权查看")
    if wanted in (None, ""):
        return objects[0]
    for obj in objects:
        if str(obj.pk) == str(wanted):
            return obj
    raise OutOfScope(f"{what}不存在或您无权查看")


# --- shared pieces -------------------------------------------------------------------------------


@dataclasses.dataclass
class DayAttendance:
    date: dt.date
    reports: int = 0  # classes that reported
    enrolled: int = 0  # Σ 应到 of those reports
    present: int = 0  # Σ 实到

    @property
    def label(self) -> str:
        return metrics.day_label(self.date)

    @property
    def rate(self) -> float | None:
        return metrics.pct(self.present, self.enrolled)


def daily_attendance(school_id: int, days: list[dt.date]) -> dict[dt.date, DayAttendance]:
    """Per day: classes reported, Σ 应到 and Σ 实到 of the school's daily reports (one grouped query)."""
    found = {
        row["date"]: DayAttendance(row["date"], row["reports"], row["enrolled"] or 0, row["present"] or 0)
        for row in DailyReport.objects.filter(school_id=school_id, date__in=days)
        .values("date")
        .annotate(reports=Count("pk"), enrolled=Sum("enrolled_count"), present=Sum("present_count"))
        .order_by()
    }
    return {day: found.get(day, DayAttendance(day)) for day in days}


def week_runs(kind: str, scope_type: str, scope_id: int, week: Week) -> list[dict]:
    """This week's and last week's run of a weekly report (latest generation), or None, newest week first."""
    latest: dict[str, ReportRun] = {}
    for run in (
        ReportRun.objects.filter(
            kind=kind, scope_type=scope_type, scope_id=scope_id, period__in=(week.period, week.previous)
        )
        .select_related("signature")
        .defer("data")
        .order_by("-generation")
    ):
        latest.setdefault(run.period, run)
    return [
        {
            "period": period,
            "current": period == week.period,
            "bounds": period_bounds(period),
            "run": latest.get(period),
        }
        for period in (week.period, week.previous)
    ]


def overdue_by_owner(overdue_cases: QuerySet[DropoutCase]) -> list[dict]:
    """Open overdue cases (already scoped) per responsible person named in the current plan (one query).

    One row per (owner field, case) comes back in a single ``UNION ALL``; a person named twice in
    one plan counts the case once. Sorted by the number of cases, most first.
    """
    parts = [
        ReturnPlan.objects.filter(is_current=True, case__in=overdue_cases.values("pk"), **{f"{field}__isnull": False})
        .values_list(field, f"{field}__display_name", f"{field}__username", "case_id")
        .order_by()
        for field in OWNER_FIELDS
    ]
    owners: dict[int, dict] = {}
    for user_id, display_name, username, case_id in parts[0].union(*parts[1:], all=True):
        owner = owners.setdefault(user_id, {"id": user_id, "name": display_name or username, "cases": set()})
        owner["cases"].add(case_id)
    rows = [{"id": o["id"], "name": o["name"], "count": len(o["cases"]), "cases": o["cases"]} for o in owners.values()]
    return sorted(rows, key=lambda row: (-row["count"], row["name"]))


# --- the short cache ---------------------------------------------------------------------------------
#
# A principal opens the dashboard many times a day; the week's numbers (metrics.collect, ~10 queries)
# and the trend change only when a class reports, a case moves, a student's status or the school's
# target changes. They are kept per school (and per county) and day for CACHE_SECONDS, and dropped at
# once when a daily report, a case or a student of the school, or the school itself, is saved or
# deleted in this process (with a shared cache such as Redis, in every process; with the default
# per-process memory cache other processes catch up within CACHE_SECONDS). Any such change drops
# every county's numbers. Bulk writes (bulk_create, update) send no signals: the entries expire
# within CACHE_SECONDS. The page shows the moment the numbers were taken ("数据截至").

CACHE_SECONDS = 60
_GENERATION_KEY = "kc:dashboard:generation:{}"  # "school:<id>", or "county" for every county
_ENTRY_KEY = "kc:dashboard:{scope}:{period}:{today}:{generation}"


def forget_school(school_id: int | None) -> None:
    """Drop a school's and the counties' cached numbers (a new generation makes old entries unreachable)."""
    if school_id:
        stamp = time.time_ns()
        cache.set_many({_GENERATION_KEY.format(f"school:{school_id}"): stamp, _GENERATION_KEY.format("county"): stamp})


def _cached(scope: str, generation: str, week: Week, compute):
    generation_value = cache.get(_GENERATION_KEY.format(generation), 0)
    key = _ENTRY_KEY.format(scope=scope, period=week.period, today=week.today, generation=generation_value)
    hit = cache.get(key)
    if hit is None:
        hit = compute()
        cache.set(key, hit, CACHE_SECONDS)
    return hit


def cached_school_week(school: School, week: Week) -> "SchoolWeek":
    scope = f"school:{school.pk}"
    return _cached(scope, scope, week, lambda: school_week_numbers(school, week))


def county_week_numbers(county: County, week: Week) -> metrics.Metrics:
    """The county's week from :func:`metrics.collect`, called as the county weekly report calls it."""
    classrooms = Classroom.objects.filter(school__county_id=county.pk)
    return metrics.collect(
        classrooms, week.start, week.end, as_of=week.as_of, by_class=False, calendar_for=cached_school_calendar
    )


def cached_county_week(county: County, week: Week) -> metrics.Metrics:
    return _cached(f"county:{county.pk}", "county", week, lambda: county_week_numbers(county, week))


def _school_changed(sender, instance, **kwargs) -> None:
    school_id = instance.pk if sender is School else getattr(instance, "school_id", None)
    # Once committed (at once outside a transaction): numbers taken before then are not kept.
    transaction.on_commit(lambda: forget_school(school_id))


for _model in (DailyReport, DropoutCase, Student, School):
    post_save.connect(_school_changed, sender=_model, dispatch_uid=f"dashboard_forget_{_model.__name__}_save")
    post_delete.connect(_school_changed, sender=_model, dispatch_uid=f"dashboard_forget_{_model.__name__}_delete")


# --- the principal's school dashboard ----------------------------------------------------------------


@dataclasses.dataclass
class SchoolDashboard:
    school: School
    schools: list[School]  # every school the user may open (for the picker)
    week: Week
    unit: metrics.Unit  # the school over the week, as in the school weekly report
    school_days: list[dt.date]  # of the week so far
    school_year: dict | None
    not_school_day: str | None  # why today is not a school day, if it is not
    today: DayAttendance
    trend: list[DayAttendance]  # the last 20 school days up to today, oldest first
    flags: dict[str, int]  # open flags by level
    escalated: int  # of unit.cases["returning"], the cases in joint persuasion (联合劝返)
    overdue_cases: list[DropoutCase]  # the most overdue first, at most OVERDUE_SHOWN
    reports: list[dict]  # this week's and last week's school weekly report

    @property
    def not_reported(self) -> int:
        return max(self.unit.classes - self.today.reports, 0)


@dataclasses.dataclass
class SchoolWeek:
    """What the school dashboard computes (and keeps in the short cache)."""

    numbers: metrics.Metrics  # the school's week, as in the school weekly report
    today: DayAttendance
    trend: list[DayAttendance]  # the last 20 school days up to today, oldest first


def school_week_numbers(school: School, week: Week) -> SchoolWeek:
    """The school's week from :func:`metrics.collect` (called as the school weekly report calls it) and
    its daily attendance over the last 20 school days and today (one more query)."""
    numbers = metrics.collect(
        Classroom.objects.filter(school=school),
        week.start,
        week.end,
        as_of=week.as_of,
        calendar_for=cached_school_calendar,
    )
    trend_days = cached_school_calendar(school.county_id).last_school_days(week.today, TREND_DAYS)
    days = daily_attendance(school.pk, sorted({*trend_days, week.today}))
    return SchoolWeek(numbers=numbers, today=days[week.today], trend=[days[day] for day in trend_days])


def school_dashboard(user, school_id=None, *, as_of: dt.datetime | None = None) -> SchoolDashboard:
    """The principal's dashboard of one school (``school_id``, else the user's first school).

    The week's numbers and the trend may come from the short per-school cache (see
    :func:`cached_school_week`); with an explicit ``as_of`` they are always computed afresh.
    """
    schools = list(dashboard_schools(user).order_by("code"))
    school = _pick(schools, school_id, "学校")
    week = current_week(as_of)
    if as_of is None:
        computed = cached_school_week(school, week)
        week = dataclasses.replace(week, as_of=computed.numbers.as_of)  # "数据截至": when they were taken
    else:
        computed = school_week_numbers(school, week)
    numbers = computed.numbers
    if numbers.schools:
        unit = numbers.schools[0]
    else:  # a school without classes yet
        unit = metrics.Unit(key=school.pk, name=school.name, target=float(school.dropout_rate_target))
    # The school is in the user's scope, and so is every case that belongs to it now.
    overdue_cases = list(
        DropoutCase.objects.filter(school_id=school.pk)
        .filter(overdue_q(week.today))
        .select_related("student", "classroom")
        .order_by("next_due_on", "pk")[:OVERDUE_SHOWN]
    )
    return SchoolDashboard(
        school=school,
        schools=schools,
        week=week,
        unit=unit,
        school_days=numbers.school_days,
        school_year=numbers.school_year,
        not_school_day=cached_school_calendar(school.county_id).why_not_school_day(week.today),
        today=computed.today,
        trend=computed.trend,
        flags=flag_counts_by_level(user, school=school.pk),
        escalated=unit.escalated,
        overdue_cases=overdue_cases,
        reports=week_runs(K.SCHOOL_WEEKLY, ReportRun.ScopeType.SCHOOL, school.pk, week),
    )


# --- the bureau's county dashboard ---------------------------------------------------------------


@dataclasses.dataclass
class Township:
    unit: metrics.Unit  # the sum of its schools' units
    schools: int = 0
    met: int = 0  # schools meeting their dropout-rate target
    with_target: int = 0  # schools whose target can be judged


@dataclasses.dataclass
class CountyDashboard:
    county: County
    counties: list[County]
    week: Week
    schools: list[metrics.Unit]
    rows: list[dict]  # the schools' Unit.to_dict(), rates computed once (as in the county report's data)
    total: metrics.Unit
    townships: list[Township]
    township_of: dict[int, int | None]  # school id → township id
    school_days: list[dt.date]
    school_year: dict | None
    escalated: dict[int, int]  # school id → cases in joint persuasion (part of "returning")
    owners: list[dict]  # overdue cases per plan owner
    overdue_without_plan: int  # overdue cases with no current plan (before a plan is due or made)
    reports: list[dict]  # this week's and last week's county weekly report

    @property
    def escalated_total(self) -> int:
        return sum(self.escalated.values())

    @property
    def worst_completeness(self) -> list[dict]:
        """The ten schools with the lowest reporting completeness this week (schools with no school day left out)."""
        rated = [row for row in self.rows if row["completeness"] is not None]
        return sorted(rated, key=lambda row: (row["completeness"], row["code"]))[:10]

    @property
    def schools_met(self) -> tuple[int, int]:
        judged = [row["target_met"] for row in self.rows if row["target_met"] is not None]
        return sum(judged), len(judged)


def county_dashboard(user, county_id=None, *, as_of: dt.datetime | None = None) -> CountyDashboard:
    """The bureau's dashboard of one county (``county_id``, else the user's first county).

    The week's numbers may come from the short cache; with an explicit ``as_of`` they are computed afresh.
    """
    counties = list(dashboard_counties(user).order_by("code"))
    county = _pick(counties, county_id, "县(区)")
    week = current_week(as_of)
    if as_of is None:
        numbers = cached_county_week(county, week)
        week = dataclasses.replace(week, as_of=numbers.as_of)
    else:
        numbers = county_week_numbers(county, week)
    township_of: dict[int, int | None] = {}
    townships: dict[int | None, Township] = {}
    units = {unit.key: unit for unit in numbers.schools}
    for school_id, township_id, township_name in (
        School.objects.filter(county=county)
        .order_by("township__code", "township__name", "code")
        .values_list("pk", "township_id", "township__name")
    ):
        township_of[school_id] = township_id
        unit = units.get(school_id)
        if unit is None:  # a school without classes has no numbers
            continue
        township = townships.get(township_id)
        if township is None:
            township = townships[township_id] = Township(
                unit=metrics.Unit(key=township_id, name=township_name or gettext("未设乡镇"))
            )
        township.unit.add(unit)
        township.schools += 1
        if unit.target_met is not None:
            township.with_target += 1
            township.met += unit.target_met
    # The county is in the user's scope, and so is every case of its schools.
    cases = DropoutCase.objects.filter(school__county_id=county.pk)
    # (a school's unit always has its key; only totals have none)
    escalated = {unit.key: unit.escalated for unit in numbers.schools if unit.key is not None and unit.escalated}
    owners = overdue_by_owner(cases.filter(overdue_q(week.today)))
    with_plan = set().union(*(owner["cases"] for owner in owners)) if owners else set()
    total = dataclasses.replace(numbers.total, name=f"{county.name}合计")
    return CountyDashboard(
        county=county,
        counties=counties,
        week=week,
        schools=numbers.schools,
        rows=[unit.to_dict() for unit in numbers.schools],
        total=total,
        townships=list(townships.values()),
        township_of=township_of,
        school_days=numbers.school_days,
        school_year=numbers.school_year,
        escalated=escalated,
        owners=owners,
        overdue_without_plan=max(total.overdue - len(with_plan), 0),
        reports=week_runs(K.COUNTY_WEEKLY, ReportRun.ScopeType.COUNTY, county.pk, week),
    )
