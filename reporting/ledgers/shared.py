"""What the ledgers share: who exports what (the context), the rows, the sheet, the registry entry.

- :class:`Context`: the scoped cases of one export, its title, whether IDs show in full, its
  county / school / class, who exports it and how it was narrowed; made for a user
  (:func:`context_for_user`) or for a run (:func:`context_for_run`).
- Rows: only cases the exporter may see (``casework.selectors.cases_visible_to``), loaded as plain
  values in a constant number of queries whatever the number of rows (:func:`case_rows`, :class:`Side`).
- The sheet: :func:`ledger_sheet` writes through :mod:`reporting.xlsx` with the ledgers' column widths.
- :class:`Ledger`: one ledger's slug, run kind, title and writer (and, for a ledger not counted by
  :func:`row_counts`, its own count and query parameters); it builds a run's file too.
"""

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, FilteredRelation, Q, QuerySet
from django.utils import timezone

from casework import selectors as case_selectors
from casework.models import CaseActivity, DropoutCase, Measure
from students import idnumber, scoping
from students.errors import OutOfScope, as_id
from students.models import SPECIAL_GROUPS, Classroom, County, Guardian, Post, School, SchoolYear, Student

from ..building import BuildResult, Progress
from ..models import ReportRun
from ..xlsx import SheetWriter, new_workbook

# Exports up to this many rows are generated in the request; a bigger county-wide one is a job.
DIRECT_MAX_ROWS = 5000
CHUNK = 2000
PROGRESS_EVERY = 500

S = DropoutCase.Status
ONE_DAY = dt.timedelta(days=1)


def direct_max_rows() -> int:
    return int(getattr(settings, "LEDGER_DIRECT_MAX_ROWS", DIRECT_MAX_ROWS))


# --- small values -----------------------------------------------------------------------------


def person(display_name: str | None, username: str | None, phone: str | None = None) -> str:
    name = display_name or username or ""
    return f"{name}({phone})" if name and phone else name


def age(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def iso_date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def choice_labels(choices) -> dict[str, str]:
    return {code: str(label) for code, label in choices}


def as_pk(value) -> int | None:
    """A school / class given as an object, an id or a query-string value; None when not given."""
    if hasattr(value, "pk"):
        return value.pk
    return as_id(value, "学校或班级")


# --- who exports what -------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    """What one export covers: the scoped cases, how to label the file, whether IDs show in full.

    ``user`` is who exports (a run's requester; None for a system run): a ledger that is not built
    from cases (适龄儿童少年台账, from screened children) scopes its rows with it. ``options`` is how the
    export was narrowed: ``school`` / ``classroom`` when asked for (a run: its school / class, or
    ``county``), and the ledger's own query parameters (``Ledger.options``), which it validates.
    """

    cases: QuerySet[DropoutCase]
    scope_label: str
    full_ids: bool
    as_of: dt.datetime
    county_id: int | None = None
    school_id: int | None = None
    classroom_id: int | None = None
    exported_by: str = ""
    user: Any = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
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


def user_county_id(user) -> int | None:
    """The county of the user's bureau posts, else that of their first post (for titles and the download log)."""
    county_id = scoping.scope_for(user).home_county_id
    if county_id is not None:
        return county_id
    return Post.objects.active().filter(user=user).values_list("county_id", flat=True).order_by("county_id").first()


def _with_county(label: str, county_id: int | None) -> str:
    """'清溪镇中学' → '青山县 清溪镇中学' (the title names the county and the school)."""
    county = County.objects.filter(pk=county_id).values_list("name", flat=True).first() if county_id else None
    if county and not label.startswith(county):
        return f"{county} {label}".strip()
    return label


def context_for_user(user, *, school=None, classroom=None, options: dict | None = None) -> Context:
    """The cases ``user`` may export, optionally narrowed to one school or class (out of scope → OutOfScope).

    ``options``: the ledger's own parameters, kept as given in ``Context.options`` for its writer.
    """
    scope = scoping.scope_for(user)
    if scope.is_empty:
        raise OutOfScope("台账不存在或您无权查看")
    cases = case_selectors.cases_visible_to(user)
    school_id, classroom_id = as_pk(school), as_pk(classroom)
    given = {key: pk for key, pk in (("school", school_id), ("classroom", classroom_id)) if pk is not None}
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
        label = scoping.scope_name(user)
        school_id = scope.only_school_id
        if school_id is None and scope.only_classroom_id is not None:
            school_id = Classroom.objects.filter(pk=scope.only_classroom_id).values_list("school_id", flat=True).first()
    if county_id is None and school_id is not None and not scope.is_bureau:
        county_id = School.objects.filter(pk=school_id).values_list("county_id", flat=True).first()
    county_id = county_id or user_county_id(user)
    return Context(
        cases=cases,
        scope_label=_with_county(label, county_id),
        full_ids=scope.sees_full_id_numbers,
        as_of=timezone.localtime(),
        county_id=county_id,
        school_id=school_id,
        classroom_id=classroom_id,
        exported_by=str(user),
        user=user,
        options={**(options or {}), **given},
    )


def context_for_run(run: ReportRun) -> Context:
    """A run covers its scope (checked when it was requested); IDs show in full only for its requester's role.

    Class-scope runs are masked whatever the requester, because class teachers may open them.
    """
    cases = DropoutCase.objects.all()
    school_id = classroom_id = None
    county_id: int | None
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
        user=requester,
        options={run.scope_type: run.scope_id},  # {"county" | "school" | "classroom": its id}
    )


# --- populations ------------------------------------------------------------------------------


def dropouts_q(year_start: dt.date) -> Q:
    """On the ledger now, or struck off (销号) during this school year."""
    return Q(status__in=DropoutCase.LEDGER_STATUSES) | Q(status=S.CLOSED, closed_on__gte=year_start)


def suspected_q(year_start: dt.date) -> Q:
    """Awaiting verification, or reported during this school year (with its conclusion)."""
    return Q(status=S.SUSPECTED) | Q(detected_on__gte=year_start)


def row_counts(ctx: Context) -> dict[str, int]:
    """Rows of each ledger in the context's scope, in one query."""
    year_start = ctx.year_start
    counts = ctx.cases.aggregate(
        on_ledger=Count("pk", filter=Q(status__in=DropoutCase.LEDGER_STATUSES)),
        closed=Count("pk", filter=Q(status=S.CLOSED, closed_on__gte=year_start)),
        returned=Count("pk", filter=Q(status=S.RETURNED) | Q(status=S.CLOSED, closed_on__gte=year_start)),
        suspected=Count("pk", filter=suspected_q(year_start)),
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


def case_rows(qs: QuerySet[DropoutCase], *extra: str, order_first: tuple[str, ...] = ()) -> Iterator[dict]:
    """One dict per case with its school, class, student and current plan (一人一案), in one query.

    Plain values, not model instances (several times cheaper), streamed in chunks from a
    server-side cursor. An export reads every row, so PostgreSQL is told to plan the cursor for
    the whole result (``cursor_tuple_fraction`` 1 instead of 0.1, which picks fast-start plans
    that took twice as long for the whole ledger on the 100,000-student county).
    """
    current_plan = FilteredRelation("plans", condition=Q(plans__is_current=True))
    yield from stream(qs.annotate(plan=current_plan).order_by(*order_first, *CASE_ORDER).values(*ROW_FIELDS, *extra))


def stream(rows: QuerySet) -> Iterator[dict]:
    """A ``values()`` queryset read whole through a server-side cursor, in chunks (see :func:`case_rows`)."""
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


def class_teachers(ctx: Context, qs: QuerySet[DropoutCase]) -> dict[int, str]:
    """Today's class teacher of each classroom the cases belong to (one query)."""
    names = Post.objects.class_teachers(ctx.today).filter(classroom_id__in=qs.values("classroom_id"))
    return {classroom_id: holders[0] for classroom_id, holders in names.names_by_classroom().items()}


def owners(c: dict) -> str:
    """劝返责任人 of the current plan with phones: 学校:校领导、班主任;乡镇:…;村:…"""
    if not c["plan__school_leader__username"]:
        return ""
    leader, teacher, township, village = (
        person(c[f"plan__{who}__display_name"], c[f"plan__{who}__username"], c[f"plan__{who}__phone"])
        for who in PLAN_PEOPLE
    )
    names = "学校:" + "、".join(name for name in (leader, teacher) if name)
    if township:
        names += f";乡镇:{township}"
    if village:
        names += f";村:{village}"
    return names


class Labels:
    """Choice labels as plain Chinese strings, looked up once per export."""

    def __init__(self) -> None:
        self.status = choice_labels(S.choices)
        self.source = choice_labels(DropoutCase.Source.choices)
        self.reason = choice_labels(DropoutCase.Reason.choices)
        self.whereabouts = choice_labels(DropoutCase.Whereabouts.choices)
        self.placement = choice_labels(DropoutCase.Placement.choices)
        self.dismiss = choice_labels(DropoutCase.DismissReason.choices)
        self.gender = choice_labels(Student.Gender.choices)
        self.stage = choice_labels(School.Stage.choices)
        self.measure = choice_labels(Measure.choices)
        self.outcome = choice_labels(CaseActivity.Outcome.choices)

    def measures(self, codes) -> str:
        return "、".join(self.measure[code] for code in codes or () if code in self.measure)


def special_groups(c: dict) -> str:
    groups = [label for field, label in SPECIAL_GROUPS if c[f"student__{field}"]]
    if c["student__disabled"] and c["student__disability_type"]:
        groups[groups.index("残疾")] = f"残疾({c['student__disability_type']})"
    return "、".join(groups)


def id_number(c: dict, full: bool) -> str:
    return shown_number(c["student__id_number"], full)


def student_no(c: dict, full: bool) -> str:
    """The 学籍号 ("G" + the 身份证号) masked exactly as the 身份证号 is."""
    return shown_number(c["student__student_no"], full)


def shown_number(value: str, full: bool) -> str:
    return value if full or not value else idnumber.mask(value)


def township(c: dict) -> str:
    return c["student__village__township__name"] or c["school__township__name"] or ""


def class_label(c: dict) -> str:
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


def ledger_workbook(title: str, ctx: Context):
    return new_workbook(title=title, exported_by=ctx.exported_by)


def ledger_sheet(
    wb,
    ctx: Context,
    *,
    sheet_title: str,
    name: str,
    headers: list[str],
    text_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    widths: dict[str, float] | None = None,
    extra_widths: dict[str, float] | None = None,
) -> SheetWriter:
    """A ledger's sheet: '<scope> <name>' in A1, data-as-of and exporter in A2, the header on row 3."""
    date_columns = set(date_columns)
    column_widths = [
        (widths or {}).get(header) or (DATE_WIDTH if header in date_columns else WIDTHS.get(header, 12))
        for header in headers
    ]
    return SheetWriter(
        wb,
        sheet_title=sheet_title,
        title=f"{ctx.scope_label} {name}".strip(),
        note=f"数据截至 {ctx.as_of:%Y-%m-%d %H:%M}    导出:{ctx.exported_by}",
        headers=headers,
        widths=column_widths,
        text_columns=text_columns,
        extra_widths=extra_widths,
    )


class Ticker:
    """Calls ``progress`` with a percentage every few hundred rows (never 100: the run sets that)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, max(total, 1), 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % PROGRESS_EVERY == 0:
            self.progress(min(95, self.done * 95 // self.total))


@dataclasses.dataclass
class Written:
    rows: int
    data: dict
    params: dict = dataclasses.field(default_factory=dict)  # what the writer chose by default, for the download log


# --- the registry entry -----------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\s]+')


@dataclasses.dataclass(frozen=True)
class Ledger:
    slug: str  # in the URL: /api/v1/ledgers/<slug>.xlsx
    kind: str  # ReportRun.Kind of its background runs
    title: str
    write: Callable[..., Written]  # write(ctx, out, progress=None)
    # Its rows in the context (raising OutOfScope when there is nothing to export); None: row_counts(ctx)[slug].
    count: Callable[[Context], int] | None = None
    options: tuple[str, ...] = ()  # its own query parameters, passed to the writer in Context.options

    def rows(self, ctx: Context) -> int:
        return self.count(ctx) if self.count is not None else row_counts(ctx)[self.slug]

    def build(self, run: ReportRun, progress: Progress) -> BuildResult:
        """The run builder: the ledger of the run's scope."""
        ctx = context_for_run(run)
        out = io.BytesIO()
        written = self.write(ctx, out, progress)
        return BuildResult(
            content=out.getvalue(), filename=filename_for(self, ctx), data=written.data, row_count=written.rows
        )


def filename_for(ledger: Ledger, ctx: Context) -> str:
    scope = _UNSAFE_FILENAME.sub("_", ctx.scope_label).strip("_")[:40]
    return (
        f"{ledger.title}_{scope}_{ctx.as_of:%Y%m%d-%H%M}.xlsx"
        if scope
        else f"{ledger.title}_{ctx.as_of:%Y%m%d-%H%M}.xlsx"
    )
