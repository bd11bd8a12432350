"""Report and dashboard numbers: the one place they are computed.

Every weekly / monthly report and every dashboard asks :func:`collect` (per class and per school
over a date range) and, for the detail tables of the weekly reports, :func:`class_students` and
:func:`school_week`. A dashboard that shows the same range therefore shows the same numbers as
the report.

Cost: a constant number of aggregate queries whatever the number of schools, classes and
students (the classroom list, one ``GROUP BY`` per source table, the county's calendar and
school year). Everything is computed per classroom in SQL and rolled up to schools in Python.

What is counted when (``as_of`` is the moment the numbers are taken, normally "now"):

- *flows* belong to the period: attendance, reporting completeness, absences, new suspected cases;
- *stocks* are as of ``as_of``: enrolment, cases by current status, overdue items, and the school
  year so far: dropouts (verified from the start of the school year) and cases closed this year,
  both up to the as-of day, so that they agree with the case columns beside them (a case verified
  after the period's end but before the report was made is 已认定 and a dropout, not one without
  the other).

Dropouts are distinct students per school and class (a student with verified cases in two
classes of one school in the same year, which does not happen in practice, would count twice).

The formulas below are shown to users verbatim (page and Excel sheet).
"""

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from casework.models import DropoutCase, FollowUp
from casework.selectors import overdue_q
from students.calendar import SchoolCalendar
from students.models import Absence, AbsenceKind, Classroom, DailyReport, Post, RiskFlag, Student

CS = DropoutCase.Status
Progress = Callable[[int], None]

# Students who were in school at some point of the year and are not now.
LEFT_STATUSES = (
    Student.Status.DROPPED_OUT,
    Student.Status.TRANSFERRED_OUT,
    Student.Status.SUSPENDED,
    Student.Status.DECEASED,
    Student.Status.GRADUATED,
)
# Columns of "cases by status" (escalated cases are still being persuaded: counted as returning).
CASE_COLUMNS = {
    "suspected": (CS.SUSPECTED,),
    "confirmed": (CS.CONFIRMED,),
    "returning": (CS.RETURNING, CS.ESCALATED),
    "returned": (CS.RETURNED,),
}
CASE_LABELS = {
    "suspected": "疑似辍学",
    "confirmed": "已认定辍学",
    "returning": "劝返中",
    "returned": "已复学",
    "closed": "已销号",
}
ABSENCE_KINDS = tuple(AbsenceKind.values)
ABSENCE_LABELS = {kind.value: str(kind.label) for kind in AbsenceKind}
WEEKDAYS = "一二三四五六日"
ONE_DAY = dt.timedelta(days=1)

FORMULAS = {
    "attendance_rate": "出勤率 = 期间内已报日报的实到人数之和 ÷ 应到人数之和 × 100%",
    "completeness": (
        "报告完成率 = 已报日报数 ÷ (班级数 × 上学日数) × 100%;"
        "上学日按本县校历计算(不含周末、法定节假日和停课日,含调休上课日),"
        "只计到数据截至日;“零报告”(无人缺勤)计为已报"
    ),
    "enrolled_at_start": (
        "学年初在籍人数 = 现在读人数 + 本学年内学籍状态变为辍学、转出、休学、死亡或毕业的人数"
        "(依据学籍变更记录和本学年核实的个案;本学年转入的学生暂计入)"
    ),
    "dropout_rate": (
        "辍学率 = 本学年辍学人数 ÷ 学年初在籍人数 × 100%;"
        "本学年辍学人数 = 学年开始至数据截至日经教育局认定辍学的学生人数(与个案数同一时点),"
        "经核实为死亡、转学在读、批准休学等而排除的不计"
    ),
    "retention_rate": (
        "巩固率(简化) = (学年初在籍人数 − 本学年辍学人数) ÷ 学年初在籍人数 × 100%,最高100%;"
        "正式口径为 毕业人数 ÷ (该届入学人数 + 转入人数 − 转出人数),需毕业数据,系统暂未采集"
    ),
    "target": "达标:辍学率 ≤ 学校的辍学率控制目标(%)",
    "cases": "个案数为数据截至时的状态;“劝返中”含联合劝返;“已销号”为本学年开始至数据截至日销号的个案",
    "overdue": "逾期事项 = 数据截至时已过期限仍未办结的个案(上报、核实、制定方案、劝返联系等)",
}


def pct(numerator, denominator, *, cap: bool = False) -> float | None:
    """numerator ÷ denominator as a percentage with two decimals (half up); None when undefined."""
    if not denominator:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    if cap:
        value = min(value, Decimal(100))
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def local_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- the numbers of one school or class ----------------------------------------------------------


@dataclasses.dataclass
class Unit:
    """One school or one class (or the total of several)."""

    key: int | None
    name: str
    code: str = ""
    school_id: int | None = None
    school_name: str = ""
    county_id: int | None = None
    grade_level: int | None = None
    number: int | None = None
    classes: int = 0
    target: float | None = None  # the school's dropout-rate target, %
    enrolled: int = 0
    enrolled_at_start: int = 0
    enrolled_sum: int = 0  # Σ 应到 over the period's reports
    present_sum: int = 0  # Σ 实到
    reports_filed: int = 0
    reports_expected: int = 0
    absences: dict = dataclasses.field(default_factory=lambda: dict.fromkeys(ABSENCE_KINDS, 0))
    new_suspected: int = 0
    cases: dict = dataclasses.field(default_factory=lambda: dict.fromkeys(CASE_LABELS, 0))
    overdue: int = 0
    dropouts: int = 0
    escalated: int = 0  # of cases["returning"], those in joint persuasion (联合劝返)

    @property
    def attendance_rate(self) -> float | None:
        return pct(self.present_sum, self.enrolled_sum)

    @property
    def completeness(self) -> float | None:
        return pct(self.reports_filed, self.reports_expected, cap=True)

    @property
    def absence_total(self) -> int:
        return sum(self.absences.values())

    @property
    def dropout_rate(self) -> float | None:
        return pct(self.dropouts, self.enrolled_at_start)

    @property
    def retention_rate(self) -> float | None:
        if not self.enrolled_at_start:
            return None
        return pct(max(self.enrolled_at_start - self.dropouts, 0), self.enrolled_at_start, cap=True)

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.dropout_rate is None:
            return None
        return self.dropout_rate <= self.target

    def add(self, other: "Unit") -> None:
        for name in (*ROLLED_UP, *CASE_TOTALS):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, n in other.absences.items():
            self.absences[kind] = self.absences.get(kind, 0) + n
        for status, n in other.cases.items():
            self.cases[status] = self.cases.get(status, 0) + n

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: its deep copies cost more than the county report's SQL.
        row = {field.name: getattr(self, field.name) for field in FIELDS}
        row["absences"] = dict(self.absences)
        row["cases"] = dict(self.cases)
        row.update(
            attendance_rate=self.attendance_rate,
            completeness=self.completeness,
            absence_total=self.absence_total,
            dropout_rate=self.dropout_rate,
            retention_rate=self.retention_rate,
            target_met=self.target_met,
        )
        return row


FIELDS = dataclasses.fields(Unit)


@dataclasses.dataclass
class Metrics:
    start: dt.date
    end: dt.date
    as_of: dt.datetime
    school_days: list[dt.date]  # of the (first) county, up to the as-of date
    school_year: dict | None
    classes: list[Unit]
    schools: list[Unit]
    total: Unit

    def to_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "school_days": [day.isoformat() for day in self.school_days],
            "school_year": self.school_year,
            "classes": [unit.to_dict() for unit in self.classes],
            "schools": [unit.to_dict() for unit in self.schools],
            "total": self.total.to_dict(),
            "formulas": FORMULAS,
        }


@dataclasses.dataclass
class _CountyFrame:
    """What differs per county: its school days in the period and its school year."""

    county_id: int
    days: list[dt.date]
    year_start: dt.date | None
    year: dict | None


def _frames(
    county_ids: Iterable[int],
    start: dt.date,
    end: dt.date,
    as_of_day: dt.date,
    calendar_for: Callable[[int], SchoolCalendar] = SchoolCalendar,
) -> dict[int, _CountyFrame]:
    county_ids = sorted(set(county_ids))
    last = min(end, as_of_day)
    frames = {}
    for county_id in county_ids:
        calendar = calendar_for(county_id)
        year = calendar.school_year_of(end)  # the one the period ends in, else the latest begun before
        frames[county_id] = _CountyFrame(
            county_id=county_id,
            days=calendar.school_days(start, last) if start <= last else [],
            year_start=year.start_date if year else None,
            year=(
                {"name": year.name, "start": year.start_date.isoformat(), "end": year.end_date.isoformat()}
                if year
                else None
            ),
        )
    return frames


def _per_county(frames: dict[int, _CountyFrame], county_field: str, make: Callable[[_CountyFrame], Q]) -> Q:
    """OR over the counties of (in this county AND the county's own condition); one county needs no OR."""
    if len(frames) == 1:
        return make(next(iter(frames.values())))
    q = Q(pk__in=[])
    for frame in frames.values():
        q |= Q(**{county_field: frame.county_id}) & make(frame)
    return q


def _left_this_year_q(frame: _CountyFrame) -> Q:
    """A student not enrolled now who left during the county's school year (so was enrolled at its start)."""
    if frame.year_start is None:
        return Q(pk__in=[])
    since = local_start(frame.year_start)
    history = Student.history.model.objects
    status_before = Coalesce(
        Subquery(
            history.filter(id=OuterRef("pk"), history_date__lt=since).order_by("-history_date").values("status")[:1]
        ),
        Value(""),
    )
    changed_since = Exists(
        history.filter(id=OuterRef("pk"), history_date__gte=since, history_type="~", status=OuterRef("status"))
    )
    verified_case = Exists(DropoutCase.objects.filter(student=OuterRef("pk"), verified_on__gte=frame.year_start))
    return Q(verified_case) | (Q(changed_since) & ~Q(status=status_before))


SCHOOL_FIELDS = ("school_id", "school__name", "school__code", "school__county_id", "school__dropout_rate_target")
# Where each source table keeps the unit a row belongs to, per level of detail.
KEYS = {
    "classroom": {"student": "classroom_id", "report": "classroom_id", "absence": "report__classroom_id"},
    "school": {"student": "school_id", "report": "school_id", "absence": "report__school_id"},
}


def unit_rows(classrooms: QuerySet[Classroom], by: str) -> QuerySet:
    """The classes (``by="classroom"``) or the schools with their number of classes (``by="school"``)."""
    if by == "classroom":
        return classrooms.order_by("school__code", "grade__level", "number").values(
            "pk", "name", "number", "grade__level", *SCHOOL_FIELDS
        )
    return classrooms.values(*SCHOOL_FIELDS).annotate(classes=Count("pk")).order_by("school__code")


def bare_querysets(
    classrooms: QuerySet[Classroom], start: dt.date, end: dt.date, today: dt.date, *, by: str = "school"
) -> list[QuerySet]:
    """Every query :func:`collect` runs on the data (for the benchmark to time their bare SQL)."""
    county_ids = set(classrooms.values_list("school__county_id", flat=True).distinct())
    frames = _frames(county_ids, start, end, today)
    return [unit_rows(classrooms, by), *aggregate_querysets(classrooms, start, end, frames, today, by=by).values()]


def aggregate_querysets(
    classrooms: QuerySet[Classroom],
    start: dt.date,
    end: dt.date,
    frames: dict[int, _CountyFrame],
    today: dt.date,
    *,
    by: str = "classroom",
) -> dict[str, QuerySet]:
    """The aggregate queries behind :func:`collect`, grouped per class or per school."""
    keys = KEYS[by]
    class_ids = classrooms.values("pk")
    school_ids = classrooms.values("school_id")
    case_keys = ("school_id", "classroom_id") if by == "classroom" else ("school_id",)
    return {
        "enrolled": (
            Student.objects.filter(classroom_id__in=class_ids, status=Student.Status.ENROLLED)
            .values(keys["student"])
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "left": (
            Student.objects.filter(classroom_id__in=class_ids, status__in=LEFT_STATUSES)
            .filter(_per_county(frames, "classroom__school__county_id", _left_this_year_q))
            .values(keys["student"])
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "reports": (
            DailyReport.objects.filter(classroom_id__in=class_ids, date__range=(start, end))
            .filter(_per_county(frames, "school__county_id", lambda f: Q(date__in=f.days)))
            .values(keys["report"])
            .annotate(filed=Count("pk"), enrolled=Sum("enrolled_count"), present=Sum("present_count"))
            .order_by()
        ),
        "absences": (
            # On the report's date (the same as the absence's): the (classroom, date) index then
            # finds a school's few reports of the week instead of probing all of its term's.
            Absence.objects.filter(report__classroom_id__in=class_ids, report__date__range=(start, end))
            .filter(_per_county(frames, "report__school__county_id", lambda f: Q(report__date__in=f.days)))
            .values(keys["absence"], "kind")
            .annotate(n=Count("pk"))
            .order_by()
        ),
        "cases": (
            DropoutCase.objects.filter(school_id__in=school_ids)
            .values(*case_keys)
            .annotate(
                **{column: Count("pk", filter=Q(status__in=statuses)) for column, statuses in CASE_COLUMNS.items()},
                closed=Count(
                    "pk",
                    filter=Q(status=CS.CLOSED)
                    & _per_county(frames, "school__county_id", lambda f: _since_year_q(f, "closed_on", today)),
                ),
                escalated=Count("pk", filter=Q(status=CS.ESCALATED)),
                new_suspected=Count("pk", filter=Q(detected_on__range=(start, end))),
                overdue=Count("pk", filter=overdue_q(today)),
                # A case verified by the bureau and not dismissed is a dropout (deaths, verified
                # transfers, approved suspensions are dismissals and therefore not dropouts).
                dropouts=Count(
                    "student_id",
                    distinct=True,
                    filter=Q(status__in=DropoutCase.CONFIRMED_STATUSES)
                    & _per_county(frames, "school__county_id", lambda f: _since_year_q(f, "verified_on", today)),
                ),
            )
            .order_by()
        ),
    }


# --- compiled statements ---------------------------------------------------------------------------
#
# Building and compiling the aggregate querysets costs more Python time than PostgreSQL spends on a
# school's rows (about half of a principal's dashboard computed afresh). Their SQL and parameters
# depend only on the arguments in the key below (the classes' own SQL and parameters, the period,
# the as-of day, the counties' school days and school-year starts), so each process keeps the
# compiled statements of the last STATEMENTS_KEPT argument sets and runs them again as they are.

STATEMENTS_KEPT = 256
Statement = tuple[str, tuple] | None  # None: the query can match nothing (Django's EmptyResultSet)
_statements: "OrderedDict[tuple, dict[str, Statement]]" = OrderedDict()
_statements_lock = threading.Lock()


def _compile(qs: QuerySet) -> Statement:
    try:
        return qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. no school day in the period: Django would answer [] without asking
        return None


def _compiled(key: tuple, build: Callable[[], dict[str, QuerySet]]) -> dict[str, Statement]:
    with _statements_lock:
        hit = _statements.get(key)
        if hit is not None:
            _statements.move_to_end(key)
            return hit
    compiled = {name: _compile(qs) for name, qs in build().items()}
    with _statements_lock:
        _statements[key] = compiled
        while len(_statements) > STATEMENTS_KEPT:
            _statements.popitem(last=False)
    return compiled


def forget_statements() -> None:
    """Drop the compiled statements (the benchmark times a report computed from nothing)."""
    with _statements_lock:
        _statements.clear()


def _fetch(using: str, statement: Statement) -> list[dict]:
    """The rows of a compiled ``values()`` statement as dicts keyed by its column aliases."""
    if statement is None:
        return []
    sql, params = statement
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _classes_key(classrooms: QuerySet[Classroom]) -> tuple:
    return (classrooms.db, _compile(classrooms))


def _since_year_q(frame: _CountyFrame, field: str, end: dt.date) -> Q:
    if frame.year_start is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__range": (frame.year_start, end)})


def _school_unit(row: dict) -> Unit:
    target = row["school__dropout_rate_target"]
    return Unit(
        key=row["school_id"],
        name=row["school__name"],
        code=row["school__code"],
        school_id=row["school_id"],
        school_name=row["school__name"],
        county_id=row["school__county_id"],
        target=float(target) if target is not None else None,
    )


# The counts a school sums from its classes (a class's figures roll up into its school) …
ROLLED_UP = (
    "classes",
    "enrolled",
    "enrolled_at_start",
    "enrolled_sum",
    "present_sum",
    "reports_filed",
    "reports_expected",
)
# … and the case counts that, with those, add up when units are combined (a township, the county).
CASE_TOTALS = ("new_suspected", "overdue", "dropouts", "escalated")


def collect(
    classrooms: QuerySet[Classroom],
    start: dt.date,
    end: dt.date,
    *,
    as_of: dt.datetime | None = None,
    progress: Progress | None = None,
    by_class: bool = True,
    calendar_for: Callable[[int], SchoolCalendar] = SchoolCalendar,
) -> Metrics:
    """Per school and in total (and per class unless ``by_class=False``) over ``start``..``end``.

    With ``by_class`` the aggregates are grouped per class and rolled up to schools in Python;
    without, they are grouped per school in SQL (what the county reports need). Reports read the
    school calendar afresh; the dashboards pass ``cached_school_calendar``, as fresh as their
    own one-minute cache.
    """
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of)
    progress = progress or (lambda _pct: None)
    by = "classroom" if by_class else "school"
    keys = KEYS[by]
    classes_key = _classes_key(classrooms)
    using = classrooms.db
    rows = _fetch(using, _compiled((*classes_key, by), lambda: {"units": unit_rows(classrooms, by)})["units"])
    frames = _frames((r["school__county_id"] for r in rows), start, end, today, calendar_for)
    classes: dict[int, Unit] = {}
    schools: dict[int, Unit] = {}
    for r in rows:
        school = schools.get(r["school_id"])
        if school is None:
            school = schools[r["school_id"]] = _school_unit(r)
        days = len(frames[r["school__county_id"]].days)
        if by_class:
            classes[r["pk"]] = Unit(
                key=r["pk"],
                name=r["name"],
                school_id=school.key,
                school_name=school.name,
                county_id=school.county_id,
                grade_level=r["grade__level"],
                number=r["number"],
                classes=1,
                target=school.target,
                reports_expected=days,
            )
        else:
            school.classes = r["classes"]
            school.reports_expected = r["classes"] * days
    units = classes if by_class else schools
    progress(10)
    if rows:
        frames_key = tuple((f.county_id, tuple(f.days), f.year_start) for f in frames.values())
        statements = _compiled(
            (*classes_key, by, start, end, today, frames_key),
            lambda: aggregate_querysets(classrooms, start, end, frames, today, by=by),
        )
        queries = {name: _fetch(using, statement) for name, statement in statements.items()}
        for row in queries["enrolled"]:
            if unit := units.get(row[keys["student"]]):
                unit.enrolled = row["n"]
        progress(25)
        for row in queries["left"]:
            if unit := units.get(row[keys["student"]]):
                unit.enrolled_at_start = row["n"]
        progress(40)
        for row in queries["reports"]:
            if unit := units.get(row[keys["report"]]):
                unit.reports_filed = row["filed"]
                unit.enrolled_sum = row["enrolled"] or 0
                unit.present_sum = row["present"] or 0
        progress(55)
        for row in queries["absences"]:
            if unit := units.get(row[keys["absence"]]):
                unit.absences[row["kind"]] = row["n"]
        progress(70)
        for row in queries["cases"]:
            counts = {
                "cases": {column: row[column] for column in CASE_LABELS},
                "new_suspected": row["new_suspected"],
                "overdue": row["overdue"],
                "dropouts": row["dropouts"],
                "escalated": row["escalated"],
            }
            # Schools count every case of theirs; classes the cases still attached to them.
            if school := schools.get(row["school_id"]):
                _add_cases(school, counts)
            if by_class and (unit := classes.get(row["classroom_id"])):
                _add_cases(unit, counts)
        progress(85)
    for unit in units.values():
        unit.enrolled_at_start += unit.enrolled
    for unit in classes.values():
        if unit.school_id is None:  # never: a class's unit is made with its school's key above
            raise AssertionError(f"class {unit.key} has no school")
        school = schools[unit.school_id]
        for name in ROLLED_UP:
            setattr(school, name, getattr(school, name) + getattr(unit, name))
        for kind, n in unit.absences.items():
            school.absences[kind] += n
    total = Unit(key=None, name="合计")
    for school in schools.values():
        total.add(school)
    first = next(iter(frames.values()), None)
    return Metrics(
        start=start,
        end=end,
        as_of=as_of,
        school_days=first.days if first else [],
        school_year=first.year if first else None,
        classes=list(classes.values()),
        schools=list(schools.values()),
        total=total,
    )


def _add_cases(unit: Unit, counts: dict) -> None:
    for column, n in counts["cases"].items():
        unit.cases[column] += n
    unit.new_suspected += counts["new_suspected"]
    unit.overdue += counts["overdue"]
    unit.dropouts += counts["dropouts"]
    unit.escalated += counts["escalated"]


# --- detail tables of the weekly reports ----------------------------------------------------------


def day_label(day: dt.date) -> str:
    """'11-23(周一)'."""
    return f"{day:%m-%d}(周{WEEKDAYS[day.weekday()]})"


def class_students(classroom: Classroom, start: dt.date, end: dt.date, *, as_of: dt.datetime | None = None) -> dict:
    """The class weekly report's per-student rows: days present and absent by kind, new flags, open cases.

    Days present = the class's reports in the period on which the student is not listed absent.
    Students listed are those enrolled now plus anyone with an absence or an open case in the class.
    """
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of)
    calendar = SchoolCalendar(classroom.school.county_id)
    school_days = calendar.school_days(start, min(end, today)) if start <= min(end, today) else []
    reported = sorted(
        DailyReport.objects.filter(classroom=classroom, date__in=school_days).values_list("date", flat=True)
    )
    absences: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ABSENCE_KINDS, 0))
    absent_days: dict[int, list[str]] = defaultdict(list)
    for student_id, day, kind in (
        Absence.objects.filter(report__classroom=classroom, date__in=reported)
        .order_by("date")
        .values_list("student_id", "date", "kind")
    ):
        absences[student_id][kind] += 1
        absent_days[student_id].append(f"{day:%m-%d}{ABSENCE_LABELS[kind]}")
    open_cases = dict(
        DropoutCase.objects.filter(student__classroom=classroom, status__in=DropoutCase.OPEN_STATUSES).values_list(
            "student_id", "status"
        )
    )
    flags: dict[int, list[str]] = defaultdict(list)
    for student_id, level, text in (
        RiskFlag.objects.filter(
            student__classroom=classroom, raised_at__gte=local_start(start), raised_at__lt=local_start(end) + ONE_DAY
        )
        .order_by("raised_at")
        .values_list("student_id", "level", "evidence_text")
    ):
        flags[student_id].append(f"[{RiskFlag.Level(level).label}] {text}")
    students = (
        Student.objects.filter(classroom=classroom)
        .filter(Q(status=Student.Status.ENROLLED) | Q(pk__in=list(absences)) | Q(pk__in=list(open_cases)))
        .order_by("name_pinyin", "pk")
        .values("pk", "student_no", "name", "gender", "status")
    )
    statuses = dict(Student.Status.choices)
    genders = dict(Student.Gender.choices)
    rows = []
    for s in students:
        kinds = absences.get(s["pk"], dict.fromkeys(ABSENCE_KINDS, 0))
        absent = sum(kinds.values())
        rows.append(
            {
                "id": s["pk"],
                "student_no": s["student_no"],
                "name": s["name"],
                "gender": str(genders.get(s["gender"], "")),
                "status": str(statuses[s["status"]]),
                "reported_days": len(reported),
                "present": max(len(reported) - absent, 0),
                "absences": kinds,
                "absent": absent,
                "absent_days": absent_days.get(s["pk"], []),
                "new_flags": flags.get(s["pk"], []),
                "open_case": str(CS(open_cases[s["pk"]]).label) if s["pk"] in open_cases else "",
            }
        )
    return {
        "school_days": [day.isoformat() for day in school_days],
        "reported_days": [day.isoformat() for day in reported],
        "students": rows,
    }


def school_week(school_id: int, county_id: int, start: dt.date, end: dt.date, *, as_of: dt.datetime | None = None):
    """值班领导周报告 / 在校学生登记表 of one school: per class and school day 应到/实到, absentees,
    new suspected cases and follow-ups due in the week."""
    as_of = as_of or timezone.now()
    today = timezone.localdate(as_of)
    calendar = SchoolCalendar(county_id)
    last = min(end, today)
    days = calendar.school_days(start, last) if start <= last else []
    register: dict[int, dict[str, dict]] = defaultdict(dict)
    extra_days = set()
    for classroom_id, day, enrolled, present in DailyReport.objects.filter(
        school_id=school_id, date__range=(start, end)
    ).values_list("classroom_id", "date", "enrolled_count", "present_count"):
        register[classroom_id][day.isoformat()] = {"enrolled": enrolled, "present": present}
        if day not in days:
            extra_days.add(day)  # a report on a day the calendar no longer counts: still shown
    all_days = sorted(set(days) | extra_days)
    teachers = Post.objects.class_teachers(today).filter(classroom__school_id=school_id).names_by_classroom()
    absentees = [
        {
            "date": a.date.isoformat(),
            "classroom": a.report.classroom.name,
            "classroom_id": a.report.classroom_id,
            "student_no": a.student.student_no,
            "name": a.student.name,
            "kind": a.kind,
            "kind_label": ABSENCE_LABELS[a.kind],
            "note": a.note,
            "family_contacted": a.family_contacted,
        }
        for a in Absence.objects.filter(report__school_id=school_id, date__range=(start, end))
        .select_related("student", "report__classroom")
        .order_by("date", "report__classroom__grade__level", "report__classroom__number", "student__name_pinyin")
    ]
    new_cases = [
        {
            "id": c.pk,
            "detected_on": c.detected_on.isoformat(),
            "classroom": c.classroom.name if c.classroom else "",
            "student_no": c.student.student_no,
            "name": c.student.name,
            "source": c.get_source_display(),
            "status": c.get_status_display(),
            "last_attended_on": c.last_attended_on.isoformat() if c.last_attended_on else "",
        }
        for c in DropoutCase.objects.filter(school_id=school_id, detected_on__range=(start, end))
        .select_related("student", "classroom")
        .order_by("detected_on", "pk")
    ]
    follow_ups = [
        {
            "id": f.pk,
            "case_id": f.case_id,
            "due_on": f.due_on.isoformat(),
            "name": f.case.student.name,
            "classroom": f.case.classroom.name if f.case.classroom else "",
            "kind": f.get_kind_display(),
            "assignee": str(f.assignee),
            "note": f.note,
        }
        for f in FollowUp.objects.filter(case__school_id=school_id, due_on__range=(start, end), done_on__isnull=True)
        .select_related("case__student", "case__classroom", "assignee")
        .order_by("due_on", "pk")
    ]
    return {
        "days": [{"date": day.isoformat(), "label": day_label(day), "school_day": day in days} for day in all_days],
        "register": {str(k): v for k, v in register.items()},
        "teachers": {str(k): v for k, v in teachers.items()},
        "absentees": absentees,
        "new_cases": new_cases,
        "follow_ups": follow_ups,
    }
