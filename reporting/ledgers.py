"""Excel ledgers (台账): 辍学学生台账, 疑似辍学学生台账 and 劝返清单, scoped to whoever exports them.

Every ledger is one row per student (DESIGN.md §6, "Forms and ledger columns"), written with
openpyxl in write-only mode so that a county-wide file streams instead of building a tree:

- a title row (A1) naming the scope and the ledger, "数据截至 YYYY-MM-DD HH:MM" (Asia/Shanghai) in A2,
  Chinese headers on row 3, frozen below the header, an autofilter over header and data;
- 身份证号 and 学籍号 as text (``@``), dates as real dates (``yyyy-mm-dd``);
- no formula injection (``xlsx.cell_text``: any text starting with ``= + - @``, a tab or a
  carriage return gets a leading apostrophe, so it is stored as a string and never evaluated);
- ID numbers masked but for the last four digits for roles that may not see them;
- only cases the exporter may see (``casework.selectors.cases_visible_to``), loaded as plain
  values in a constant number of queries whatever the number of rows.

Small exports are generated in the request; a county-wide export that is large runs as a
ReportRun (``@builder`` below). Every download writes a DownloadLog row (``log_download``).
"""

import dataclasses
import datetime as dt
import io
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Case, Count, FilteredRelation, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from openpyxl import Workbook

from casework import selectors as case_selectors
from casework.models import CaseActivity, DropoutCase, Measure
from casework.services import DUE_LABELS
from students import idnumber, scoping
from students.errors import InvalidInput, OutOfScope
from students.models import Classroom, County, Guardian, Post, School, SchoolYear, Student, Township, Village

from . import runs
from .models import DownloadLog, ReportRun
from .xlsx import HEADER_ALIGN, HEADER_FONT, SheetWriter, cell_text, new_workbook, styled

# Exports up to this many rows are generated in the request; a bigger county-wide one is a job.
DIRECT_MAX_ROWS = 5000
# A queued or running county ledger younger than this is reused instead of starting another.
RUN_REUSE_MINUTES = 30
CHUNK = 2000
PROGRESS_EVERY = 500

S = DropoutCase.Status
K = ReportRun.Kind
ONE_DAY = dt.timedelta(days=1)
CONFIRMED_STATUSES = (S.CONFIRMED, S.RETURNING, S.ESCALATED, S.RETURNED, S.CLOSED)
BACK_AT_SCHOOL = (S.RETURNED, S.CLOSED)

SPECIAL_GROUPS = (
    ("poverty_registered", "脱贫户/监测户"),
    ("orphan", "孤儿/事实无人抚养"),
    ("disabled", "残疾"),
    ("left_behind", "留守"),
    ("single_parent", "单亲"),
    ("migrant", "随迁子女"),
    ("learning_difficulty", "学困"),
)

# 核实结论 of the 疑似辍学台账 for a dismissed case (the exact reason goes to 备注).
DISMISS_CONCLUSIONS = {
    DropoutCase.DismissReason.TRANSFERRED: "转学在读",
    DropoutCase.DismissReason.SUSPENDED: "休学",
    DropoutCase.DismissReason.DEFERRED: "休学",
    DropoutCase.DismissReason.UNFIT: "休学",
    DropoutCase.DismissReason.DECEASED: "死亡",
    DropoutCase.DismissReason.FALSE_REPORT: "返校",
    DropoutCase.DismissReason.SICK_LEAVE: "其他",
}

SIGNATORIES = ("村支书", "中心校校长", "中学校长", "乡镇分管领导", "乡镇长", "教育局包片领导")


def direct_max_rows() -> int:
    return int(getattr(settings, "LEDGER_DIRECT_MAX_ROWS", DIRECT_MAX_ROWS))


# --- cell values ------------------------------------------------------------------------------


def _person(display_name: str | None, username: str | None, phone: str | None = None) -> str:
    name = display_name or username or ""
    return f"{name}({phone})" if name and phone else name


def _age(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _iso_date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _labels(choices) -> dict[str, str]:
    return {code: str(label) for code, label in choices}


# --- who exports what -------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    """What one export covers: the scoped cases, how to label the file, whether IDs show in full."""

    cases: QuerySet[DropoutCase]
    scope_label: str
    full_ids: bool
    as_of: dt.datetime
    county_id: int | None = None
    school_id: int | None = None
    classroom_id: int | None = None
    exported_by: str = ""
    _year_start: dt.date | None = None

    @property
    def today(self) -> dt.date:
        return self.as_of.date()

    @property
    def year_start(self) -> dt.date:
        """Start of the current school year: struck-off and dismissed cases older than this are history."""
        if self._year_start is None:
            start = None
            if self.county_id:
                start = (
                    SchoolYear.objects.filter(
                        county_id=self.county_id, start_date__lte=self.today, end_date__gte=self.today
                    )
                    .values_list("start_date", flat=True)
                    .first()
                )
            if start is None:
                year = self.today.year if self.today.month >= 9 else self.today.year - 1
                start = dt.date(year, 9, 1)
            self._year_start = start
        return self._year_start


def _pk(value) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("学校或班级编号无效") from None


def _user_county_id(user, scope: scoping.Scope) -> int | None:
    if scope.county_ids:
        return min(scope.county_ids)
    return Post.objects.active().filter(user=user).values_list("county_id", flat=True).order_by("county_id").first()


def _scope_names(scope: scoping.Scope) -> str:
    """A short name for the whole of a user's scope (for the title row)."""
    if scope.superuser:
        return "全部"
    names: list[str] = []
    names += County.objects.filter(pk__in=scope.county_ids).values_list("name", flat=True)
    names += School.objects.filter(pk__in=scope.school_ids).values_list("name", flat=True)
    names += [
        f"{school} {room}"
        for school, room in Classroom.objects.filter(pk__in=scope.classroom_ids).values_list("school__name", "name")
    ]
    names += Township.objects.filter(pk__in=scope.township_ids).values_list("name", flat=True)
    names += [
        f"{township}{village}"
        for township, village in Village.objects.filter(pk__in=scope.village_ids).values_list("township__name", "name")
    ]
    return "、".join(names[:3]) + ("等" if len(names) > 3 else "")


def _with_county(label: str, county_id: int | None) -> str:
    """'清溪镇中学' → '青山县 清溪镇中学' (the title names the county and the school)."""
    county = County.objects.filter(pk=county_id).values_list("name", flat=True).first() if county_id else None
    if county and not label.startswith(county):
        return f"{county} {label}".strip()
    return label


def context_for_user(user, *, school=None, classroom=None) -> Context:
    """The cases ``user`` may export, optionally narrowed to one school or class (out of scope → OutOfScope)."""
    scope = scoping.scope_for(user)
    if scope.is_empty:
        raise OutOfScope("台账不存在或您无权查看")
    cases = case_selectors.cases_visible_to(user)
    school_id, classroom_id = _pk(school), _pk(classroom)
    county_id = None
    if classroom_id is not None:
        room = (
            scoping.classrooms_visible_to(user)
            .filter(pk=classroom_id)
            .values_list("pk", "name", "school_id", "school__name", "school__county_id")
            .first()
        )
        if room is None or (school_id is not None and room[2] != school_id):
            raise OutOfScope("班级不存在或您无权查看")
        cases = cases.filter(classroom_id=classroom_id)
        label, school_id, county_id = f"{room[3]} {room[1]}", room[2], room[4]
    elif school_id is not None:
        found = scoping.schools_visible_to(user).filter(pk=school_id).values_list("name", "county_id").first()
        if found is None:
            raise OutOfScope("学校不存在或您无权查看")
        cases = cases.filter(school_id=school_id)
        label, county_id = found
    else:
        label = _scope_names(scope)
        if len(scope.school_ids) == 1 and not scope.county_ids:
            school_id = next(iter(scope.school_ids))
        elif len(scope.classroom_ids) == 1 and not (scope.county_ids or scope.school_ids):
            school_id = Classroom.objects.filter(pk__in=scope.classroom_ids).values_list("school_id", flat=True).first()
    if county_id is None and school_id is not None and not scope.county_ids:
        county_id = School.objects.filter(pk=school_id).values_list("county_id", flat=True).first()
    county_id = county_id or _user_county_id(user, scope)
    return Context(
        cases=cases,
        scope_label=_with_county(label, county_id),
        full_ids=scope.sees_full_id_numbers,
        as_of=timezone.localtime(),
        county_id=county_id,
        school_id=school_id,
        classroom_id=classroom_id,
        exported_by=str(user),
    )


def context_for_run(run: ReportRun) -> Context:
    """A run covers its scope (checked when it was requested); IDs show in full only for its requester's role.

    Class-scope runs are masked whatever the requester, because class teachers may open them.
    """
    cases = DropoutCase.objects.all()
    school_id = classroom_id = None
    if run.scope_type == ReportRun.ScopeType.COUNTY:
        cases, county_id = cases.filter(school__county_id=run.scope_id), run.scope_id
    elif run.scope_type == ReportRun.ScopeType.SCHOOL:
        cases, school_id = cases.filter(school_id=run.scope_id), run.scope_id
        county_id = School.objects.filter(pk=school_id).values_list("county_id", flat=True).first()
    else:
        cases, classroom_id = cases.filter(classroom_id=run.scope_id), run.scope_id
        school_id, county_id = (
            Classroom.objects.filter(pk=classroom_id).values_list("school_id", "school__county_id").first()
        ) or (None, None)
    requester = run.requested_by
    full_ids = (
        requester is not None
        and run.scope_type != ReportRun.ScopeType.CLASSROOM
        and scoping.scope_for(requester).sees_full_id_numbers
    )
    return Context(
        cases=cases,
        scope_label=_with_county(run.scope_name, county_id),
        full_ids=full_ids,
        as_of=timezone.localtime(),
        county_id=county_id,
        school_id=school_id,
        classroom_id=classroom_id,
        exported_by=str(requester) if requester else "系统",
    )


# --- populations ------------------------------------------------------------------------------


def _dropouts_q(year_start: dt.date) -> Q:
    """On the ledger now, or struck off (销号) during this school year."""
    return Q(status__in=DropoutCase.LEDGER_STATUSES) | Q(status=S.CLOSED, closed_on__gte=year_start)


def _suspected_q(year_start: dt.date) -> Q:
    """Awaiting verification, or reported during this school year (with its conclusion)."""
    return Q(status=S.SUSPECTED) | Q(detected_on__gte=year_start)


def row_counts(ctx: Context) -> dict[str, int]:
    """Rows of each ledger in the context's scope, in one query."""
    year_start = ctx.year_start
    counts = ctx.cases.aggregate(
        on_ledger=Count("pk", filter=Q(status__in=DropoutCase.LEDGER_STATUSES)),
        closed=Count("pk", filter=Q(status=S.CLOSED, closed_on__gte=year_start)),
        returned=Count("pk", filter=Q(status=S.RETURNED) | Q(status=S.CLOSED, closed_on__gte=year_start)),
        suspected=Count("pk", filter=_suspected_q(year_start)),
        pending=Count("pk", filter=Q(status=S.SUSPECTED)),
    )
    counts["dropouts"] = counts["on_ledger"] + counts["closed"]
    counts["not_returned"] = counts["dropouts"] - counts["returned"]
    counts["returns"] = counts["dropouts"]
    return counts


# --- loading ----------------------------------------------------------------------------------

CASE_FIELDS = (
    "pk",
    "status",
    "source",
    "student_id",
    "classroom_id",
    "previous_case_id",
    "school__county__name",
    "school__name",
    "school__stage",
    "school__township__name",
    "student__village__township__name",
    "student__village__name",
    "classroom__grade__level",
    "classroom__grade__name",
    "classroom__name",
    "student__name",
    "student__gender",
    "student__ethnicity",
    "student__birth_date",
    "student__id_number",
    "student__student_no",
    "student__hukou_address",
    "student__address",
    *(f"student__{field}" for field, _label in SPECIAL_GROUPS),
    "student__disability_type",
    "last_attended_on",
    "detected_on",
    "reported_on",
    "verified_on",
    "dropped_out_on",
    "returned_on",
    "closed_on",
    "reason",
    "reason_detail",
    "whereabouts",
    "dismiss_reason",
    "placement",
    "close_basis",
    "notice_number",
    "notice_issued_on",
    "notice_deadline",
    "next_due_on",
    "due_kind",
)
CASE_ORDER = ("school__code", "classroom__grade__level", "classroom__number", "student__name_pinyin", "pk")


PLAN_PEOPLE = ("school_leader", "class_teacher", "township_cadre", "village_cadre")
ROW_FIELDS = (
    *CASE_FIELDS,
    "plan__method",
    "plan__target_return_on",
    "plan__measures",
    *(f"plan__{who}__{field}" for who in PLAN_PEOPLE for field in ("display_name", "username", "phone")),
)


def _rows(qs: QuerySet[DropoutCase], *extra: str, order_first: tuple[str, ...] = ()) -> Iterator[dict]:
    """One dict per case with its school, class, student and current plan (一人一案), in one query.

    Plain values, not model instances (several times cheaper), streamed in chunks from a
    server-side cursor. An export reads every row, so PostgreSQL is told to plan the cursor for
    the whole result (``cursor_tuple_fraction`` 1 instead of 0.1, which picks fast-start plans
    that took twice as long for the whole ledger on the 100,000-student county).
    """
    current_plan = FilteredRelation("plans", condition=Q(plans__is_current=True))
    rows = qs.annotate(plan=current_plan).order_by(*order_first, *CASE_ORDER).values(*ROW_FIELDS, *extra)
    with transaction.atomic(using=rows.db):
        if connections[rows.db].vendor == "postgresql":
            with connections[rows.db].cursor() as cursor:
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        yield from rows.iterator(chunk_size=CHUNK)


@dataclasses.dataclass
class Side:
    """Per-case facts kept in other tables, each loaded in one query for all rows of an export.

    (Measured on PostgreSQL: two plain queries and a dict are cheaper than six correlated
    subqueries per row.)
    """

    guardians: dict[int, tuple[str, str, str]]  # student id → first guardian (name, relation, phone)
    contacts: dict[int, tuple[int, dt.date, str]]  # case id → (count, latest date, latest outcome)

    NO_GUARDIAN = ("", "", "")
    NO_CONTACT = (0, None, "")

    @classmethod
    def load(cls, qs: QuerySet[DropoutCase]) -> "Side":
        guardians: dict[int, tuple[str, str, str]] = {}
        for student_id, name, relation, phone in (
            Guardian.objects.filter(student_id__in=qs.values("student_id"))
            .order_by("student_id", "id")
            .values_list("student_id", "name", "relation", "phone")
        ):
            guardians.setdefault(student_id, (name, relation, phone))
        contacts: dict[int, tuple[int, dt.date, str]] = {}
        for case_id, occurred_on, outcome in (
            CaseActivity.objects.filter(case_id__in=qs.values("pk"))
            .exclude(kind=CaseActivity.Kind.FOLLOW_UP)  # 复学跟踪 visits are not persuasion contacts
            .order_by("case_id", "occurred_on", "id")
            .values_list("case_id", "occurred_on", "outcome")
        ):
            count = contacts[case_id][0] + 1 if case_id in contacts else 1
            contacts[case_id] = (count, occurred_on, outcome)
        return cls(guardians=guardians, contacts=contacts)


def _class_teachers(ctx: Context, qs: QuerySet[DropoutCase]) -> dict[int, str]:
    """Today's class teacher of each classroom the cases belong to (one query)."""
    teachers: dict[int, str] = {}
    for classroom_id, display_name, username in (
        Post.objects.active(ctx.today)
        .filter(role=Post.Role.CLASS_TEACHER, classroom_id__in=qs.values("classroom_id"))
        .order_by("classroom_id", "start_date", "pk")
        .values_list("classroom_id", "user__display_name", "user__username")
    ):
        teachers.setdefault(classroom_id, _person(display_name, username))
    return teachers


def _owners(c: dict) -> str:
    """劝返责任人 of the current plan with phones: 学校:校领导、班主任;乡镇:…;村:…"""
    if not c["plan__school_leader__username"]:
        return ""
    leader, teacher, township, village = (
        _person(c[f"plan__{who}__display_name"], c[f"plan__{who}__username"], c[f"plan__{who}__phone"])
        for who in PLAN_PEOPLE
    )
    owners = "学校:" + "、".join(name for name in (leader, teacher) if name)
    if township:
        owners += f";乡镇:{township}"
    if village:
        owners += f";村:{village}"
    return owners


class Labels:
    """Choice labels as plain Chinese strings, looked up once per export."""

    def __init__(self) -> None:
        self.status = _labels(S.choices)
        self.source = _labels(DropoutCase.Source.choices)
        self.reason = _labels(DropoutCase.Reason.choices)
        self.whereabouts = _labels(DropoutCase.Whereabouts.choices)
        self.placement = _labels(DropoutCase.Placement.choices)
        self.dismiss = _labels(DropoutCase.DismissReason.choices)
        self.gender = _labels(Student.Gender.choices)
        self.stage = _labels(School.Stage.choices)
        self.measure = _labels(Measure.choices)
        self.outcome = _labels(CaseActivity.Outcome.choices)

    def measures(self, codes) -> str:
        return "、".join(self.measure[code] for code in codes or () if code in self.measure)


def _special_groups(c: dict) -> str:
    groups = [label for field, label in SPECIAL_GROUPS if c[f"student__{field}"]]
    if c["student__disabled"] and c["student__disability_type"]:
        groups[groups.index("残疾")] = f"残疾({c['student__disability_type']})"
    return "、".join(groups)


def _id_number(c: dict, full: bool) -> str:
    value = c["student__id_number"]
    return value if full or not value else idnumber.mask(value)


def _township(c: dict) -> str:
    return c["student__village__township__name"] or c["school__township__name"] or ""


def _class_label(c: dict) -> str:
    return c["classroom__name"] or ""


# --- writing ----------------------------------------------------------------------------------

WIDTHS = {
    "序号": 6,
    "县(区)": 10,
    "乡镇(街道)": 12,
    "村(社区)": 12,
    "学校": 20,
    "学段": 6,
    "年级": 8,
    "班级": 14,
    "年级班级": 14,
    "姓名": 10,
    "性别": 5,
    "民族": 7,
    "年龄": 5,
    "身份证件号码": 21,
    "身份证号": 21,
    "全国学籍号": 23,
    "学籍号": 23,
    "户籍所在地": 24,
    "现住址": 24,
    "监护人姓名": 10,
    "监护人": 16,
    "与学生关系": 8,
    "联系电话": 14,
    "监护人/电话": 26,
    "特殊群体": 16,
    "辍学原因(类别)": 14,
    "原因说明": 30,
    "疑似原因": 24,
    "劝返责任人": 40,
    "劝返方式": 20,
    "帮扶措施": 22,
    "劝返结果": 10,
    "是否发限期返校通知书": 10,
    "是否返校": 8,
    "安置方式": 10,
    "销号依据": 24,
    "当前状态": 10,
    "核实结论": 10,
    "来源": 10,
    "班主任": 10,
    "备注": 32,
}
DATE_WIDTH = 12


def _sheet(
    wb,
    *,
    sheet_title: str,
    title: str,
    note: str,
    headers: list[str],
    text_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    widths: dict[str, float] | None = None,
    extra_widths: dict[str, float] | None = None,
) -> SheetWriter:
    """A ledger's sheet through reporting.xlsx, with the ledgers' column widths."""
    date_columns = set(date_columns)
    column_widths = [
        (widths or {}).get(header) or (DATE_WIDTH if header in date_columns else WIDTHS.get(header, 12))
        for header in headers
    ]
    return SheetWriter(
        wb,
        sheet_title=sheet_title,
        title=title,
        note=note,
        headers=headers,
        widths=column_widths,
        text_columns=text_columns,
        extra_widths=extra_widths,
    )


def _workbook(title: str, ctx: Context) -> Workbook:
    return new_workbook(title=title, exported_by=ctx.exported_by)


def _note(ctx: Context) -> str:
    return f"数据截至 {ctx.as_of:%Y-%m-%d %H:%M}    导出:{ctx.exported_by}"


def _title(ctx: Context, name: str) -> str:
    return f"{ctx.scope_label} {name}".strip()


class _Ticker:
    """Calls ``progress`` with a percentage every few hundred rows (never 100: the run sets that)."""

    def __init__(self, progress: Callable[[int], None] | None, total: int) -> None:
        self.progress, self.total, self.done = progress, max(total, 1), 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % PROGRESS_EVERY == 0:
            self.progress(min(95, self.done * 95 // self.total))


@dataclasses.dataclass
class Written:
    rows: int
    data: dict


# --- 辍学学生台账 -------------------------------------------------------------------------------

DROPOUT_HEADERS = [
    "序号",
    "县(区)",
    "乡镇(街道)",
    "村(社区)",
    "学校",
    "学段",
    "年级",
    "班级",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "年龄",
    "身份证件号码",
    "全国学籍号",
    "户籍所在地",
    "现住址",
    "监护人姓名",
    "与学生关系",
    "联系电话",
    "特殊群体",
    "疑似辍学发现日期",
    "认定辍学日期",
    "辍学时间",
    "辍学原因(类别)",
    "原因说明",
    "去向",
    "劝返责任人",
    "劝返方式",
    "劝返时间",
    "劝返次数",
    "最近劝返日期",
    "帮扶措施",
    "劝返结果",
    "是否发限期返校通知书",
    "是否返校",
    "复学日期",
    "安置方式",
    "销号日期",
    "销号依据",
    "当前状态",
    "备注",
]
DROPOUT_TEXT = ("身份证件号码", "全国学籍号")
DROPOUT_DATES = (
    "出生日期",
    "疑似辍学发现日期",
    "认定辍学日期",
    "辍学时间",
    "劝返时间",
    "最近劝返日期",
    "复学日期",
    "销号日期",
)


def _dropout_rows(ctx: Context, qs: QuerySet[DropoutCase], side: Side, labels: Labels) -> Iterator[tuple[bool, list]]:
    """(struck off?, row): the cases on the ledger first, then those struck off, each numbered from 1."""
    today, full, text = ctx.today, ctx.full_ids, cell_text
    qs = qs.alias(struck_off=Case(When(status=S.CLOSED, then=Value(1)), default=Value(0)))
    number, struck_before = 0, False
    for c in _rows(qs, order_first=("struck_off",)):
        status = c["status"]
        struck = status == S.CLOSED
        number = 1 if struck != struck_before else number + 1
        struck_before = struck
        guardian = side.guardians.get(c["student_id"], Side.NO_GUARDIAN)
        contacts, last_contact, last_outcome = side.contacts.get(c["pk"], Side.NO_CONTACT)
        level = c["classroom__grade__level"]
        stage = ("小学" if level <= 6 else "初中") if level else labels.stage.get(c["school__stage"], "")
        notes = []
        if c["previous_case_id"]:
            notes.append("曾销号后再次辍学")
        if c["next_due_on"] and c["next_due_on"] < today and status != S.CLOSED:
            notes.append(f"逾期:{DUE_LABELS.get(c['due_kind'], c['due_kind'])}(期限{c['next_due_on']:%Y-%m-%d})")
        if c["notice_number"]:
            deadline = f",限期{c['notice_deadline']:%Y-%m-%d}" if c["notice_deadline"] else ""
            notes.append(f"限期返校通知书{c['notice_number']}{deadline}")
        yield (
            struck,
            [
                number,
                text(c["school__county__name"]),
                text(c["student__village__township__name"]),
                text(c["student__village__name"]),
                text(c["school__name"]),
                stage or None,
                text(c["classroom__grade__name"]),
                text(c["classroom__name"]),
                text(c["student__name"]),
                labels.gender.get(c["student__gender"]),
                text(c["student__ethnicity"]),
                c["student__birth_date"],
                _age(c["student__birth_date"], today),
                text(_id_number(c, full)),
                text(c["student__student_no"]),
                text(c["student__hukou_address"]),
                text(c["student__address"]),
                text(guardian[0]),
                text(guardian[1]),
                text(guardian[2]),
                _special_groups(c) or None,
                c["detected_on"],
                c["verified_on"],
                c["dropped_out_on"],
                labels.reason.get(c["reason"]),
                text(c["reason_detail"]),
                labels.whereabouts.get(c["whereabouts"]),
                text(_owners(c)),
                text(c["plan__method"]),
                c["plan__target_return_on"],
                contacts,
                last_contact,
                labels.measures(c["plan__measures"]) or None,
                labels.outcome.get(last_outcome),
                "是" if c["notice_issued_on"] else "否",
                "是" if status in BACK_AT_SCHOOL else "否",
                c["returned_on"],
                labels.placement.get(c["placement"]),
                c["closed_on"],
                text(c["close_basis"]),
                labels.status.get(status),
                text(";".join(notes)),
            ],
        )


def _write_dropouts(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        year_start = ctx.year_start
        everyone = ctx.cases.filter(_dropouts_q(year_start))
        side = Side.load(everyone)
        tick = _Ticker(progress, everyone.count() if progress else 0)
        wb = _workbook("辍学学生台账", ctx)

        def new_sheet(sheet_title: str, name: str) -> SheetWriter:
            return _sheet(
                wb,
                sheet_title=sheet_title,
                title=_title(ctx, name),
                note=_note(ctx),
                headers=DROPOUT_HEADERS,
                text_columns=DROPOUT_TEXT,
                date_columns=DROPOUT_DATES,
            )

        # One query for both sheets: the ledger first, then this school year's struck-off cases.
        on_ledger = sheet = new_sheet("辍学学生台账", "辍学学生台账")
        struck_off = None
        for struck, row in _dropout_rows(ctx, everyone, side, Labels()):
            if struck and struck_off is None:
                on_ledger.finish()
                struck_off = sheet = new_sheet("已销号", f"辍学学生台账(本学年已销号,{year_start:%Y-%m-%d}起)")
            sheet.append(row)
            tick()
        if struck_off is None:
            on_ledger.finish()
            struck_off = new_sheet("已销号", f"辍学学生台账(本学年已销号,{year_start:%Y-%m-%d}起)")
        struck_off.finish()
        wb.save(out)
    on_ledger, closed = on_ledger.rows, struck_off.rows
    return Written(rows=on_ledger + closed, data={"rows": on_ledger + closed, "on_ledger": on_ledger, "closed": closed})


# --- 疑似辍学学生台账 ---------------------------------------------------------------------------

SUSPECTED_HEADERS = [
    "序号",
    "学校",
    "年级班级",
    "姓名",
    "性别",
    "身份证号",
    "学籍号",
    "监护人/电话",
    "首次缺勤日期",
    "连续缺勤天数",
    "来源",
    "疑似原因",
    "班主任",
    "联系/家访记录",
    "核实结论",
    "核实日期",
    "转入辍学台账日期",
    "备注",
]
SUSPECTED_TEXT = ("身份证号", "学籍号")
SUSPECTED_DATES = ("首次缺勤日期", "核实日期", "转入辍学台账日期")


def _conclusion(status: str, dismiss_reason: str) -> str:
    if status == S.SUSPECTED:
        return "待核实"
    if status == S.DISMISSED:
        return DISMISS_CONCLUSIONS.get(dismiss_reason, "其他")
    return "辍学"


def _suspected_rows(ctx: Context, qs: QuerySet[DropoutCase], labels: Labels) -> Iterator[list]:
    full, text = ctx.full_ids, cell_text
    teachers = _class_teachers(ctx, qs)
    side = Side.load(qs)
    for number, c in enumerate(_rows(qs, "source_flag__evidence", "source_flag__evidence_text"), 1):
        status = c["status"]
        evidence = c["source_flag__evidence"]
        dates = (evidence.get("dates") or []) if isinstance(evidence, dict) else []
        if dates:
            first_absent = _iso_date(dates[0])
        else:
            first_absent = c["last_attended_on"] + ONE_DAY if c["last_attended_on"] else None
        name, relation, phone = side.guardians.get(c["student_id"], Side.NO_GUARDIAN)
        guardian = f"{name}({relation}) {phone}".strip() if name else ""
        reason = labels.reason.get(c["reason"], "")
        if c["reason_detail"]:
            reason = f"{reason}:{c['reason_detail']}" if reason else c["reason_detail"]
        teacher = teachers.get(c["classroom_id"]) or _person(
            c["plan__class_teacher__display_name"], c["plan__class_teacher__username"]
        )
        notes = []
        if status == S.DISMISSED:
            notes.append(f"排除原因:{labels.dismiss.get(c['dismiss_reason'], c['dismiss_reason'])}")
        elif status == S.SUSPECTED:
            notes.append(f"已上报教育局 {c['reported_on']:%Y-%m-%d}" if c["reported_on"] else "学校尚未上报")
        if c["source_flag__evidence_text"]:
            notes.append(c["source_flag__evidence_text"])
        yield [
            number,
            text(c["school__name"]),
            text(_class_label(c)),
            text(c["student__name"]),
            labels.gender.get(c["student__gender"]),
            text(_id_number(c, full)),
            text(c["student__student_no"]),
            text(guardian),
            first_absent,
            len(dates) or None,
            labels.source.get(c["source"]),
            text(reason),
            text(teacher),
            side.contacts.get(c["pk"], Side.NO_CONTACT)[0],
            _conclusion(status, c["dismiss_reason"]),
            c["verified_on"],
            c["verified_on"] if status in CONFIRMED_STATUSES else None,
            text(";".join(notes)),
        ]


def _write_suspected(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        qs = ctx.cases.filter(_suspected_q(ctx.year_start))
        tick = _Ticker(progress, qs.count() if progress else 0)
        wb = _workbook("疑似辍学学生台账", ctx)
        sheet = _sheet(
            wb,
            sheet_title="疑似辍学学生台账",
            title=_title(ctx, "疑似辍学学生台账"),
            note=_note(ctx),
            headers=SUSPECTED_HEADERS,
            text_columns=SUSPECTED_TEXT,
            date_columns=SUSPECTED_DATES,
        )
        pending = 0
        for row in _suspected_rows(ctx, qs, Labels()):
            pending += row[14] == "待核实"
            sheet.append(row)
            tick()
        sheet.finish()
        wb.save(out)
    return Written(rows=sheet.rows, data={"rows": sheet.rows, "pending": pending})


# --- 劝返清单 -----------------------------------------------------------------------------------

RETURNS_SUMMARY_HEADERS = ["乡镇(街道)", "辍学", "已返校", "未返校"]
RETURNS_HEADERS = [
    "序号",
    "乡镇(街道)",
    "村(社区)",
    "学校",
    "年级班级",
    "姓名",
    "性别",
    "身份证号",
    "学籍号",
    "监护人",
    "联系电话",
    "辍学时间",
    "认定辍学日期",
    "劝返责任人",
    "劝返次数",
    "最近劝返日期",
    "复学日期",
    "安置方式",
    "当前状态",
    "备注",
]
RETURNS_TEXT = ("身份证号", "学籍号")
RETURNS_DATES = ("辍学时间", "认定辍学日期", "最近劝返日期", "复学日期")


def _returns_rows(ctx: Context, qs: QuerySet[DropoutCase], labels: Labels) -> list[tuple[str, bool, list]]:
    """(township, back at school?, row without 序号) for every dropout of the school year, by township."""
    full, text = ctx.full_ids, cell_text
    side = Side.load(qs)
    rows = []
    for c in _rows(qs):
        status = c["status"]
        name, relation, phone = side.guardians.get(c["student_id"], Side.NO_GUARDIAN)
        contacts, last_contact, _outcome = side.contacts.get(c["pk"], Side.NO_CONTACT)
        township = _township(c)
        notes = "曾销号后再次辍学" if c["previous_case_id"] else ""
        if status == S.CLOSED and c["closed_on"]:
            notes = ";".join(filter(None, [notes, f"{c['closed_on']:%Y-%m-%d}已销号"]))
        row = [
            None,
            text(township),
            text(c["student__village__name"]),
            text(c["school__name"]),
            text(_class_label(c)),
            text(c["student__name"]),
            labels.gender.get(c["student__gender"]),
            text(_id_number(c, full)),
            text(c["student__student_no"]),
            text(f"{name}({relation})" if name else ""),
            text(phone),
            c["dropped_out_on"],
            c["verified_on"],
            text(_owners(c)),
            contacts,
            last_contact,
            c["returned_on"],
            labels.placement.get(c["placement"]),
            labels.status.get(status),
            text(notes),
        ]
        rows.append((township, status in BACK_AT_SCHOOL, row))
    rows.sort(key=lambda item: item[0])  # stable: within a township, by school and class
    return rows


def _write_returns(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        qs = ctx.cases.filter(_dropouts_q(ctx.year_start))
        rows = _returns_rows(ctx, qs, Labels())
        tick = _Ticker(progress, len(rows) * 2)
        wb = _workbook("劝返清单", ctx)
        note = _note(ctx)

        by_township: dict[str, list[int]] = {}
        for township, back, _row in rows:
            counts = by_township.setdefault(township or "(未登记户籍村)", [0, 0, 0])
            counts[0] += 1
            counts[1 if back else 2] += 1
        summary = _sheet(
            wb,
            sheet_title="汇总",
            title=_title(ctx, "控辍保学劝返清单"),
            note=note,
            headers=RETURNS_SUMMARY_HEADERS,
            widths=dict.fromkeys(RETURNS_SUMMARY_HEADERS, 18),
            extra_widths={"E": 18, "F": 18},  # the six signatures
        )
        for township, counts in by_township.items():
            summary.append([cell_text(township), *counts])
        totals = [sum(c[i] for c in by_township.values()) for i in range(3)]
        summary.raw([styled(summary.ws, "合计", font=HEADER_FONT), *totals])
        summary.raw([])
        summary.raw([styled(summary.ws, "签字栏", font=HEADER_FONT)])
        summary.raw([styled(summary.ws, name, font=HEADER_FONT, alignment=HEADER_ALIGN) for name in SIGNATORIES])
        summary.raw([], height=40)
        summary.raw([styled(summary.ws, "签字日期:    年    月    日")])
        summary.finish()

        sections = (
            ("辍学学生名单", rows),
            ("已返校名单", [item for item in rows if item[1]]),
            ("未返校名单", [item for item in rows if not item[1]]),
        )
        for sheet_title, section in sections:
            sheet = _sheet(
                wb,
                sheet_title=sheet_title,
                title=_title(ctx, f"劝返清单 · {sheet_title}"),
                note=note,
                headers=RETURNS_HEADERS,
                text_columns=RETURNS_TEXT,
                date_columns=RETURNS_DATES,
            )
            for number, (_township_name, _back, row) in enumerate(section, 1):
                sheet.append([number, *row[1:]])
                tick()
            sheet.finish()
        wb.save(out)
    returned = sum(1 for item in rows if item[1])
    data = {"rows": len(rows), "dropouts": len(rows), "returned": returned, "not_returned": len(rows) - returned}
    return Written(rows=len(rows), data=data)


# --- registry, public writers, run builders ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ledger:
    slug: str
    kind: str
    title: str
    write: Callable[..., Written]


LEDGERS: dict[str, Ledger] = {
    ledger.slug: ledger
    for ledger in (
        Ledger("dropouts", K.LEDGER_DROPOUTS, "辍学学生台账", _write_dropouts),
        Ledger("suspected", K.LEDGER_SUSPECTED, "疑似辍学学生台账", _write_suspected),
        Ledger("returns", K.LEDGER_RETURNS, "劝返清单", _write_returns),
    )
}
LEDGER_BY_KIND = {ledger.kind: ledger for ledger in LEDGERS.values()}
LEDGER_KINDS = tuple(LEDGER_BY_KIND)


def write_dropouts(user, *, school=None, classroom=None, out, progress=None) -> int:
    """辍学学生台账 in ``user``'s scope into ``out`` (a binary file); returns the number of student rows."""
    return _write_dropouts(context_for_user(user, school=school, classroom=classroom), out, progress).rows


def write_suspected(user, *, school=None, classroom=None, out, progress=None) -> int:
    """疑似辍学学生台账 in ``user``'s scope into ``out``; returns the number of student rows."""
    return _write_suspected(context_for_user(user, school=school, classroom=classroom), out, progress).rows


def write_returns(user, *, school=None, classroom=None, out, progress=None) -> int:
    """劝返清单 in ``user``'s scope into ``out``; returns the number of dropouts listed."""
    return _write_returns(context_for_user(user, school=school, classroom=classroom), out, progress).rows


_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\s]+')


def filename_for(ledger: Ledger, ctx: Context) -> str:
    scope = _UNSAFE_FILENAME.sub("_", ctx.scope_label).strip("_")[:40]
    return (
        f"{ledger.title}_{scope}_{ctx.as_of:%Y%m%d-%H%M}.xlsx"
        if scope
        else f"{ledger.title}_{ctx.as_of:%Y%m%d-%H%M}.xlsx"
    )


def _make_builder(ledger: Ledger):
    def build(run: ReportRun, progress: runs.Progress) -> runs.BuildResult:
        ctx = context_for_run(run)
        out = io.BytesIO()
        written = ledger.write(ctx, out, progress)
        return runs.BuildResult(
            content=out.getvalue(), filename=filename_for(ledger, ctx), data=written.data, row_count=written.rows
        )

    build.__name__ = f"build_{ledger.slug}"
    return build


for _ledger in LEDGERS.values():
    runs.builder(_ledger.kind)(_make_builder(_ledger))


# --- exports and the download log -------------------------------------------------------------


@dataclasses.dataclass
class Export:
    """A finished file (content, filename, rows) or, for a big county-wide export, the run building it."""

    ledger: Ledger
    content: bytes = b""
    filename: str = ""
    rows: int = 0
    run: ReportRun | None = None
    created: bool = False


def request_county_ledger(user, kind: str) -> tuple[ReportRun, bool]:
    """Start (or join) the background build of a county-wide ledger for a bureau user.

    A ledger is a snapshot, so a finished one is not reused: asking again builds a fresh
    generation. A run still queued or running from the last half hour is joined instead.
    """
    if kind not in LEDGER_BY_KIND:
        raise InvalidInput("未知的台账类别")
    scope = scoping.scope_for(user)
    if not (scope.superuser or scope.county_ids):
        raise OutOfScope("全县台账仅供教育局生成")
    county_id = runs.default_scope(user, ReportRun.ScopeType.COUNTY)
    if county_id is not None:
        running = (
            runs.runs_visible_to(user)
            .filter(
                kind=kind,
                scope_type=ReportRun.ScopeType.COUNTY,
                scope_id=county_id,
                status__in=[ReportRun.Status.QUEUED, ReportRun.Status.RUNNING],
                created_at__gte=timezone.now() - dt.timedelta(minutes=RUN_REUSE_MINUTES),
            )
            .order_by("-generation")
            .first()
        )
        if running is not None:
            return running, False
    return runs.request_run(
        user=user, kind=kind, scope_type=ReportRun.ScopeType.COUNTY, scope_id=county_id, regenerate=True
    )


def export_ledger(user, slug: str, *, school=None, classroom=None, request=None) -> Export:
    """A ledger for download: generated now and logged, or (county-wide and big) queued as a run."""
    ledger = LEDGERS.get(slug)
    if ledger is None:
        raise OutOfScope("台账不存在")
    ctx = context_for_user(user, school=school, classroom=classroom)
    scope = scoping.scope_for(user)
    county_wide = _pk(school) is None and _pk(classroom) is None and bool(scope.county_ids)
    if county_wide and row_counts(ctx)[slug] >= direct_max_rows():
        run, created = request_county_ledger(user, ledger.kind)
        return Export(ledger=ledger, run=run, created=created)
    out = io.BytesIO()
    written = ledger.write(ctx, out)
    params = {key: value for key, value in (("school", _pk(school)), ("classroom", _pk(classroom))) if value}
    log_download(
        user,
        what=ledger.kind,
        label=f"{ledger.title}({ctx.scope_label})",
        row_count=written.rows,
        params=params,
        request=request,
        school_id=ctx.school_id,
        county_id=ctx.county_id,
    )
    return Export(ledger=ledger, content=out.getvalue(), filename=filename_for(ledger, ctx), rows=written.rows)


def _client_ip(request) -> str | None:
    if request is None:
        return None
    try:
        from axes.helpers import get_client_ip_address

        address = get_client_ip_address(request)
    except Exception:  # axes misconfigured or absent: fall back to the socket address
        address = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


def log_download(
    user,
    *,
    what: str,
    label: str,
    row_count: int,
    run: ReportRun | None = None,
    params: dict | None = None,
    request=None,
    school_id: int | None = None,
    county_id: int | None = None,
) -> DownloadLog:
    """Record one download (a direct export or a finished run's file): who, what, when, rows, where from.

    The school and county are taken from the run's scope or the ``school`` / ``classroom`` in
    ``params`` when not given, else from the user's posts, so the bureau sees it in its county's log.
    """
    params = dict(params or {})
    if run is not None:
        params.setdefault("run", run.pk)
        if run.scope_type == ReportRun.ScopeType.COUNTY:
            county_id = county_id or run.scope_id
        elif run.scope_type == ReportRun.ScopeType.SCHOOL:
            school_id = school_id or run.scope_id
        elif school_id is None:
            school_id = Classroom.objects.filter(pk=run.scope_id).values_list("school_id", flat=True).first()
    if school_id is None and params.get("classroom"):
        school_id = Classroom.objects.filter(pk=_pk(params["classroom"])).values_list("school_id", flat=True).first()
    if school_id is None and params.get("school"):
        school_id = _pk(params["school"])
    if county_id is None and school_id is not None:
        county_id = School.objects.filter(pk=school_id).values_list("county_id", flat=True).first()
    if county_id is None:
        county_id = _user_county_id(user, scoping.scope_for(user))
    return DownloadLog.objects.create(
        user=user,
        what=what[:40],
        label=label[:200],
        params=params,
        row_count=max(0, int(row_count or 0)),
        run=run,
        school_id=school_id,
        county_id=county_id,
        ip_address=_client_ip(request),
    )


def downloads_visible_to(user) -> QuerySet[DownloadLog]:
    """The bureau sees its county's downloads; everyone sees their own."""
    scope = scoping.scope_for(user)
    qs = DownloadLog.objects.select_related("user")
    if scope.superuser:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(Q(user=user) | Q(county_id__in=scope.county_ids))


def run_page_url(run: ReportRun) -> str:
    try:
        return reverse("report-detail", args=[run.pk])
    except NoReverseMatch:  # the reports pages are not wired yet
        return f"/reports/{run.pk}/"


def run_file_url(run: ReportRun) -> str:
    return f"/api/v1/reports/{run.pk}/file/"


def run_summary(run: ReportRun) -> dict:
    """The run as the 202 answer and the ledgers page show it."""
    return {
        "id": run.pk,
        "kind": run.kind,
        "kind_display": str(run.get_kind_display()),
        "period": run.period,
        "scope_type": run.scope_type,
        "scope_id": run.scope_id,
        "scope": run.scope_name,
        "generation": run.generation,
        "status": run.status,
        "progress": run.progress,
        "row_count": run.row_count,
        "data_as_of": run.data_as_of.isoformat() if run.data_as_of else None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "url": run_page_url(run),
        "file_url": run_file_url(run) if run.status == ReportRun.Status.DONE else None,
    }
