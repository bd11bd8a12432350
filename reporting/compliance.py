"""Compliance metrics (督导考核指标): the one place they are defined, per school and per person.

Each metric is computed from what the system already records, over a period ``start``..``end``
taken at ``as_of`` (normally now), and compared with the county's target (accountability's
policy; the dropout rate with each school's own target). The formulas below are shown to users
verbatim, like the reports' 计算口径.

They live in reporting, not accountability, because two of them are the reports' own numbers
(辍学率 and 巩固率 from :mod:`reporting.metrics`): defined once there, and reporting may read
accountability while accountability may not read reporting (DESIGN.md §3).

Cost: a constant number of aggregate queries for any number of schools, plus the rows of the
period's early warnings and case deadlines (a few thousand in a county), whose deadlines are
counted on the school calendar in Python.
"""

import bisect
import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from accountability.models import AccountabilityPolicy
from accountability.policy import policy_for
from accountability.signoffs import selectors as signoff_selectors
from casework.models import CaseActivity, CountyPolicy, DropoutCase
from casework.services import policy_for as case_policy_for
from students import scoping
from students.calendar import add_working_days, cached_school_calendar
from students.errors import InvalidInput
from students.models import Classroom, DailyReport, DailyReportRevision, Post, RiskFlag, School

from . import metrics, periods
from .metrics import pct

CS = DropoutCase.Status


@dataclasses.dataclass(frozen=True)
class Metric:
    code: str
    label: str
    formula: str
    unit: str = "%"
    at_least: bool = True  # met when the value is at least the target (else: at most)
    per_person: bool = False  # also computed for each class teacher (over their classes)


METRICS = [
    Metric(
        "report_on_time",
        "日报按时率",
        "日报按时率 = 按时报送的日报数 ÷ (班级数 × 期间内已过截止时间的上学日数) × 100%;"
        "按时 = 当天首次报送的时间不晚于本县规定的截止时间(更正不影响首次报送时间)",
        per_person=True,
    ),
    Metric(
        "flags_in_time",
        "预警按时处理率",
        "预警按时处理率 = 期间内产生的预警中,在产生后 N 个上学日内(含当天,N 由本县设置)被确认、"
        "解除或驳回的数量 ÷ 期间内产生且处理期限已到或已处理的预警数 × 100%",
        per_person=True,
    ),
    Metric(
        "deadlines_met",
        "个案期限按时率",
        "个案期限按时率 = 期限落在期间内的学校环节中按期完成的数量 ÷ 期限已到或已完成的环节数 × 100%;"
        "环节为 发现后上报(发现日起 N 个工作日)和 认定后制定一人一案(认定日起 N 个工作日),期限按工作日计算",
    ),
    Metric(
        "activities_per_case",
        "在办个案劝返次数",
        "在办个案劝返次数 = 期间内登记的劝返与跟踪记录数 ÷ 期间内在办(已认定、劝返中、联合劝返、已复学待销号)的个案数",
        unit="次/个案",
    ),
    Metric(
        "home_visits",
        "个案学生家访覆盖率",
        "个案学生家访覆盖率 = 期间内在办个案的学生中,期间内至少有一次家访记录的人数 ÷ 这些学生人数 × 100%",
        per_person=True,
    ),
    Metric(
        "signoff_on_time",
        "周报按时签发率",
        "周报按时签发率 = 期间内签发期限已到的周中,校长在期限内签发的周数 ÷ 这些周数 × 100%;"
        "期限为报告周周日之后的第 N 个工作日",
    ),
    Metric("dropout_rate", "辍学率", metrics.FORMULAS["dropout_rate"], at_least=False),
    Metric("retention_rate", "巩固率", metrics.FORMULAS["retention_rate"]),
    Metric(
        "no_dropout_classes",
        "无辍班比例",
        "无辍班比例 = 本学年至数据截至日没有经认定辍学学生的班级数 ÷ 班级数 × 100%;达标为全部班级无辍",
        per_person=True,
    ),
]
BY_CODE = {metric.code: metric for metric in METRICS}
PERSON_METRICS = [metric.code for metric in METRICS if metric.per_person]


@dataclasses.dataclass
class Value:
    code: str
    value: float | None
    target: float | None
    numerator: float = 0
    denominator: float = 0

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if BY_CODE[self.code].at_least else self.value <= self.target

    def to_dict(self) -> dict:
        metric = BY_CODE[self.code]
        return {
            "code": self.code,
            "label": metric.label,
            "unit": metric.unit,
            "value": self.value,
            "target": self.target,
            "met": self.met,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "formula": metric.formula,
        }


@dataclasses.dataclass
class Row:
    """One school's, or one person's, values."""

    key: int
    name: str
    school_id: int
    school_name: str
    values: dict[str, Value]
    role: str = ""

    def to_dict(self) -> dict:
        return {
            "id": self.key,
            "name": self.name,
            "school": self.school_id,
            "school_name": self.school_name,
            "role": self.role,
            "metrics": [self.values[code].to_dict() for code in self.values],
        }

    @property
    def missed(self) -> list[str]:
        return [code for code, value in self.values.items() if value.met is False]


@dataclasses.dataclass
class Compliance:
    start: dt.date
    end: dt.date
    as_of: dt.datetime
    schools: list[Row]
    people: list[Row]

    def to_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "schools": [row.to_dict() for row in self.schools],
            "people": [row.to_dict() for row in self.people],
            "formulas": {metric.code: metric.formula for metric in METRICS},
        }


def _f(value) -> float | None:
    return None if value is None else float(value)


class _Tally:
    """Numerators and denominators per classroom, summed to schools and people."""

    def __init__(self):
        self.num: dict[int, float] = defaultdict(float)
        self.den: dict[int, float] = defaultdict(float)

    def add(self, classroom_id: int, numerator: float, denominator: float) -> None:
        self.num[classroom_id] += numerator
        self.den[classroom_id] += denominator

    def over(self, classroom_ids) -> tuple[float, float]:
        return sum(self.num[c] for c in classroom_ids), sum(self.den[c] for c in classroom_ids)


def collect(schools: QuerySet[School], start: dt.date, end: dt.date, *, as_of: dt.datetime | None = None) -> Compliance:
    """Every metric for every school of ``schools`` and every class teacher of their classes."""
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of)
    school_list = list(schools.order_by("code").values("pk", "name", "county_id", "dropout_rate_target"))
    # The classes as a subquery, not a list of ids: a county's 2,000-odd ids cost more to bind than to query.
    rooms = Classroom.objects.filter(grade__school__in=schools.values("pk"))
    room_sq = rooms.values("pk")
    classrooms = list(rooms.values_list("pk", "grade__school_id"))
    class_school = dict(classrooms)
    classes_of: dict[int, list[int]] = defaultdict(list)
    for classroom_id, school_id in classrooms:
        classes_of[school_id].append(classroom_id)
    policies = {county_id: policy_for(county_id) for county_id in {s["county_id"] for s in school_list}}
    county_of = {s["pk"]: s["county_id"] for s in school_list}
    room_ids = list(class_school)

    tallies: dict[str, _Tally] = {
        "report_on_time": _report_on_time(rooms, room_ids, class_school, county_of, policies, start, end, as_of),
        "flags_in_time": _flags_in_time(room_sq, class_school, county_of, policies, start, end, today),
        "home_visits": _home_visits(room_sq, start, end),
    }
    deadlines = _deadlines(room_sq, class_school, county_of, start, end, today)
    activities = _activities(room_sq, start, end)
    signoffs = _signoffs([s["pk"] for s in school_list], start, end, today)
    numbers = metrics.collect(rooms, start, end, as_of=as_of, by_class=True)
    unit_of_school = {unit.key: unit for unit in numbers.schools}
    dropout_classes = {unit.key for unit in numbers.classes if unit.dropouts}
    no_dropout = _Tally()
    for classroom_id in room_ids:
        no_dropout.add(classroom_id, 0 if classroom_id in dropout_classes else 1, 1)
    tallies["no_dropout_classes"] = no_dropout

    def values_for(classroom_ids, codes, *, school=None, policy: AccountabilityPolicy) -> dict[str, Value]:
        targets = {
            "report_on_time": policy.target_report_on_time,
            "flags_in_time": policy.target_flags_in_time,
            "deadlines_met": policy.target_deadlines_met,
            "activities_per_case": policy.target_activities_per_case,
            "home_visits": policy.target_home_visits,
            "signoff_on_time": policy.target_signoff_on_time,
            "retention_rate": policy.target_retention,
            "no_dropout_classes": Decimal(100),
        }
        out: dict[str, Value] = {}
        for code in codes:
            if code in tallies:
                num, den = tallies[code].over(classroom_ids)
                out[code] = Value(code, pct(num, den), _f(targets[code]), num, den)
            elif code == "deadlines_met":
                num, den = deadlines.over(classroom_ids)
                out[code] = Value(code, pct(num, den), _f(targets[code]), num, den)
            elif code == "activities_per_case":
                num, den = activities.over(classroom_ids)
                ratio = round(num / den, 2) if den else None
                out[code] = Value(code, ratio, _f(targets[code]), num, den)
            elif code == "signoff_on_time":
                num, den = signoffs.get(school, (0, 0))
                out[code] = Value(code, pct(num, den), _f(targets[code]), num, den)
            elif code == "dropout_rate":
                unit = unit_of_school.get(school)
                out[code] = Value(
                    code,
                    unit.dropout_rate if unit else None,
                    unit.target if unit else None,
                    unit.dropouts if unit else 0,
                    unit.enrolled_at_start if unit else 0,
                )
            elif code == "retention_rate":
                unit = unit_of_school.get(school)
                retained = max(unit.enrolled_at_start - unit.dropouts, 0) if unit else 0
                out[code] = Value(
                    code,
                    unit.retention_rate if unit else None,
                    _f(targets[code]),
                    retained,
                    unit.enrolled_at_start if unit else 0,
                )
        return out

    rows = [
        Row(
            s["pk"],
            s["name"],
            s["pk"],
            s["name"],
            values_for(classes_of[s["pk"]], [m.code for m in METRICS], school=s["pk"], policy=policies[s["county_id"]]),
        )
        for s in school_list
    ]
    school_name = {s["pk"]: s["name"] for s in school_list}
    people: dict[int, dict] = {}
    for user_id, classroom_id, display, username in (
        Post.objects.class_teachers(today)
        .filter(classroom_id__in=room_sq)
        .order_by("user__username", "classroom_id")
        .values_list("user_id", "classroom_id", "user__display_name", "user__username")
    ):
        person = people.setdefault(user_id, {"name": display or username, "classes": []})
        person["classes"].append(classroom_id)
    person_rows = []
    for user_id, person in people.items():
        school_id = class_school[person["classes"][0]]
        values = values_for(person["classes"], PERSON_METRICS, policy=policies[county_of[school_id]])
        person_rows.append(Row(user_id, person["name"], school_id, school_name[school_id], values, role="班主任"))
    return Compliance(start, end, as_of, rows, person_rows)


# --- the metrics' counts --------------------------------------------------------------------------


def _days(county_id: int, start: dt.date, end: dt.date) -> list[dt.date]:
    return cached_school_calendar(county_id).school_days(start, end)


def _report_on_time(rooms, room_ids, class_school, county_of, policies, start, end, as_of) -> _Tally:
    """Per class: reports first filed on their day by the county's deadline, over the school days
    whose deadline has passed by as_of."""
    tally = _Tally()
    today = timezone.localdate(as_of)
    local_now = timezone.localtime(as_of).time()
    for county_id, policy in policies.items():  # a query per county (normally one)
        deadline = policy.report_by
        due = [d for d in _days(county_id, start, min(end, today)) if d < today or local_now >= deadline]
        in_county = [c for c in room_ids if county_of[class_school[c]] == county_id]
        for classroom_id in in_county:
            tally.add(classroom_id, 0, len(due))
        if not due or not in_county:
            continue
        # On time: first filed on its day by the deadline. A corrected report's first filing is its
        # version-1 revision (the report row carries the latest correction's time).
        first_on_time = DailyReportRevision.objects.filter(
            report=OuterRef("pk"),
            version=1,
            submitted_at__date=OuterRef("date"),
            submitted_at__time__lte=deadline,
        )
        on_time = (
            DailyReport.objects.filter(classroom_id__in=rooms.filter(grade__school__county_id=county_id).values("pk"))
            .filter(date__in=due)
            .filter(
                Q(version=1, submitted_at__date=F("date"), submitted_at__time__lte=deadline)
                | Q(Exists(first_on_time), version__gt=1)
            )
            .values_list("classroom_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for classroom_id, n in on_time:
            tally.add(classroom_id, n, 0)
    return tally


def _flags_in_time(room_sq, class_school, county_of, policies, start, end, today) -> _Tally:
    """Per class (of the student when raised… their class now): flags raised in the period, handled
    within the county's N school days; flags still open before their deadline are not counted."""
    tally = _Tally()
    rows = (
        RiskFlag.objects.filter(student__classroom_id__in=room_sq, raised_at__date__range=(start, end))
        .values_list("student__classroom_id", "raised_at", "handled_at", "status")
        .order_by()
    )
    days_of: dict[int, list[dt.date]] = {}  # per county: its school days from the period on
    for classroom_id, raised_at, handled_at, status in rows:
        county_id = county_of[class_school[classroom_id]]
        n = policies[county_id].flag_ack_school_days
        raised = timezone.localdate(raised_at)
        if county_id not in days_of:
            days_of[county_id] = _days(county_id, start, end + dt.timedelta(days=max(60, n * 7)))
        days = days_of[county_id]
        # The deadline: the n-th school day counting the day it was raised (or the next school day).
        at = bisect.bisect_left(days, raised) + n - 1
        deadline = days[at] if at < len(days) else raised + dt.timedelta(days=n)
        handled = status != RiskFlag.Status.OPEN and handled_at is not None
        if handled and timezone.localdate(handled_at) <= deadline:
            tally.add(classroom_id, 1, 1)
        elif handled or deadline < today:
            tally.add(classroom_id, 0, 1)
    return tally


def _deadlines(room_sq, class_school, county_of, start, end, today) -> _Tally:
    """Per class: the school's case steps (report, plan) due in the period, met or missed."""
    tally = _Tally()
    cases = (
        DropoutCase.objects.filter(classroom_id__in=room_sq)
        .filter(Q(detected_on__lte=end))
        .annotate(first_plan=Min("plans__created_at"))
        .values_list("classroom_id", "detected_on", "reported_on", "verified_on", "status", "first_plan")
        .order_by()
    )
    policies: dict[int, CountyPolicy] = {}
    for classroom_id, detected, reported, verified, status, first_plan in cases:
        county_id = county_of[class_school[classroom_id]]
        if county_id not in policies:
            policies[county_id] = case_policy_for(county_id)
        policy = policies[county_id]
        steps = [(add_working_days(detected, policy.report_working_days), reported)]
        if verified and status != CS.DISMISSED:
            planned = timezone.localdate(first_plan) if first_plan else None
            steps.append((add_working_days(verified, policy.plan_working_days), planned))
        for deadline, done in steps:
            if not (start <= deadline <= end):
                continue
            if done is not None:
                tally.add(classroom_id, 1 if done <= deadline else 0, 1)
            elif deadline < today:
                tally.add(classroom_id, 0, 1)
    return tally


ACTIVE = (CS.CONFIRMED, CS.RETURNING, CS.ESCALATED, CS.RETURNED)


def _active_cases_q(start: dt.date, end: dt.date) -> Q:
    """Cases in hand at some time in the period: verified by its end and not closed before its start."""
    return (
        Q(verified_on__isnull=False, verified_on__lte=end)
        & ~Q(status=CS.DISMISSED)
        & (Q(closed_on__isnull=True) | Q(closed_on__gte=start))
    )


def _activities(room_sq, start, end) -> _Tally:
    tally = _Tally()
    cases = DropoutCase.objects.filter(_active_cases_q(start, end), classroom_id__in=room_sq)
    for classroom_id, n in cases.values_list("classroom_id").annotate(n=Count("pk")).order_by():
        tally.add(classroom_id, 0, n)
    done = CaseActivity.objects.filter(case__in=cases, occurred_on__range=(start, end))
    for classroom_id, n in done.values_list("case__classroom_id").annotate(n=Count("pk")).order_by():
        tally.add(classroom_id, n, 0)
    return tally


def _home_visits(room_sq, start, end) -> _Tally:
    tally = _Tally()
    cases = DropoutCase.objects.filter(_active_cases_q(start, end), classroom_id__in=room_sq)
    visited = CaseActivity.objects.filter(
        case__in=cases, kind=CaseActivity.Kind.HOME_VISIT, occurred_on__range=(start, end)
    ).values("case__student_id")
    students = cases.values_list("classroom_id").annotate(
        n=Count("student_id", distinct=True),
        seen=Count("student_id", distinct=True, filter=Q(student_id__in=visited)),
    )
    for classroom_id, n, seen in students.order_by():
        tally.add(classroom_id, seen, n)
    return tally


def _signoffs(school_ids, start, end, today) -> dict[int, tuple[int, int]]:
    """Per school: weeks signed on time, of the weeks that count (accountability's one definition)."""
    tallies = signoff_selectors.week_tallies(
        School.objects.filter(pk__in=school_ids), start=start, end=end, today=today
    )
    return {school_id: (tally.on_time, tally.weeks) for school_id, tally in tallies.items()}


# --- for a user ----------------------------------------------------------------------------------


def period_for(county_id: int | None, *, period: str = "", start: str = "", end: str = "") -> tuple[dt.date, dt.date]:
    """The period asked for: '2026-W47', '2026-11', 'term' (the current term so far; the default) or
    start and end dates. Refused in Chinese when it is not one of them."""
    if start or end:
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError as exc:
            raise InvalidInput("开始、结束日期须为 YYYY-MM-DD") from exc
        if first > last or (last - first).days > 400:
            raise InvalidInput("期间须在开始日期之后,且不超过一年")
        return first, last
    if period and period != "term":
        return periods.period_bounds(period)
    today = timezone.localdate()
    if county_id is None:  # no post in any county: nothing to measure (for_user answers empty)
        return today, today
    term = cached_school_calendar(county_id).term_of(today)
    if term is None:
        raise InvalidInput("今天不在学期内,请选择期间(如 2026-W47、2026-11 或起止日期)")
    return term[0], min(term[1], today)


def for_user(user, start: dt.date, end: dt.date, *, school: int | None = None, person: int | None = None) -> Compliance:
    """The schools the user runs or oversees, with their class teachers; a class teacher who runs no
    school gets their own row only; others nothing."""
    scope = scoping.scope_for(user)
    schools = scoping.managed_schools(user)
    own_only = not schools.exists()
    if own_only:
        schools = School.objects.filter(grades__classrooms__in=scoping.manageable_classrooms(user)).distinct()
        person = user.pk
    if school:
        schools = schools.filter(pk=school)
    result = collect(School.objects.filter(pk__in=schools.values("pk")), start, end)
    if own_only:
        result.schools = []
    if person:
        result.people = [row for row in result.people if row.key == person]
    if not scope.on_education_line:
        result.schools, result.people = [], []
    return result
