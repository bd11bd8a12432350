"""适龄儿童少年台账: the children of one screening run (户籍比对), one row each, grouped by household,
and a summary sheet per township (乡镇汇总).

Built from screened children, not cases: the rows are ``casework.screening.selectors.children_visible_to``
of the exporter (the bureau every child of its county, a cadre their township's / village's, a
principal the children matched to their school, a class teacher those of their class; the register's
unmatched children are the bureau's and the cadres' alone), of one run, optionally narrowed to a
township, village, school or class (``Context.options``). Which run: ``run`` when given (visible
to the exporter), else the latest finished run the exporter may see; a background run takes the
latest finished run of its county. Every count of the summary sheet is
``casework.screening.selectors.outcome_counts`` over the same children, so it equals the pages.
"""

import dataclasses
from collections.abc import Iterator

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import translation

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from casework.screening import selectors as screening
from students import scoping
from students.errors import InvalidTransition, OutOfScope, as_id
from students.models import SPECIAL_GROUPS, Guardian, Student, Township, Village

from ..models import ReportRun
from ..xlsx import HEADER_FONT, cell_text, styled
from .shared import (
    Context,
    Ledger,
    Ticker,
    Written,
    choice_labels,
    ledger_sheet,
    ledger_workbook,
    person,
    shown_number,
    special_groups,
    stream,
)

TITLE = "适龄儿童少年台账"
NO_RUN = "尚未导入户籍名单"
NO_TOWNSHIP = "(未登记乡镇)"
Outcome = ScreeningOutcome
R = Resolution
StudentStatus = Student.Status

HEADERS = [
    "序号",
    "户序号",
    "乡镇(街道)",
    "村/组",
    "户主姓名",
    "与户主关系",
    "姓名",
    "性别",
    "出生日期",
    "年龄(截止日)",
    "身份证号",
    "户籍地",
    "现居地",
    "监护人/电话",
    "就学状态",
    "学籍号",
    "特殊群体",
    "比对结果",
    "摸排人",
    "摸排日期",
    "佐证材料",
    "个案",
    "备注",
]
TEXT_COLUMNS = ("身份证号", "学籍号")
DATE_COLUMNS = ("出生日期", "摸排日期")
WIDTHS: dict[str, float] = {
    "户序号": 6,
    "村/组": 14,
    "户主姓名": 10,
    "与户主关系": 8,
    "年龄(截止日)": 7,
    "户籍地": 24,
    "现居地": 24,
    "就学状态": 30,
    "比对结果": 24,
    "摸排人": 10,
    "佐证材料": 28,
    "个案": 12,
}
SUMMARY_HEADERS = [
    "乡镇(街道)",
    "适龄人数",
    "在读且在校",
    "名在人不在",
    "未在本县学籍",
    "其中已核实",
    "待核实",
    "其中失学/辍学",
    "疑似匹配待确认",
    "在籍不在册",
]
SUMMARY_WIDTHS: dict[str, float] = dict.fromkeys(SUMMARY_HEADERS, 12.0) | {"乡镇(街道)": 16, "疑似匹配待确认": 14}
# The outcome_counts key behind each number of the summary sheet.
SUMMARY_KEYS = (
    "total",
    Outcome.ATTENDING.value,
    Outcome.ENROLLED_ABSENT.value,
    Outcome.NOT_ENROLLED.value,
    "resolved",
    "unresolved",
    "out_of_school",
    "suggested",
    Outcome.NOT_REGISTERED.value,
)

FIELDS = (
    "pk",
    "row_number",
    "household_head",
    "relation_to_head",
    "name",
    "gender",
    "id_number",
    "birth_date",
    "age",
    "township__name",
    "village__name",
    "group",
    "hukou_address",
    "current_address",
    "guardian_name",
    "guardian_phone",
    "outcome",
    "student_id",
    "match_method",
    "suggestion",
    "school__name",
    "classroom__name",
    "student_status",
    "evidence_text",
    "resolution",
    "resolved_school",
    "resolved_place",
    "resolution_note",
    "evidence_name",
    "resolved_by__display_name",
    "resolved_by__username",
    "resolved_on",
    "case__status",
    "student__student_no",
    "student__hukou_address",
    "student__address",
    *(f"student__{field}" for field, _label in SPECIAL_GROUPS),
    "student__disability_type",
)
# Grouped by household: township, village, then the register's households in head order (a
# household's members in file order), then the enrolled children the register does not list.
NOT_ON_REGISTER = ExpressionWrapper(Q(row_number__isnull=True), output_field=BooleanField())
ORDER = (
    F("township__name").asc(nulls_last=True),
    F("village__name").asc(nulls_last=True),
    NOT_ON_REGISTER.asc(),
    "household_head",
    "row_number",
    "pk",
)

# 就学状态 of a child the register lists and no school of the county enrols, once resolved.
RESOLVED_SCHOOLING = {
    R.SPECIAL: "送教上门",
    R.DEFERRED: "延缓入学",
    R.SUSPENDED: "休学",
    R.DECEASED: "死亡",
    R.MOVED: "迁出",
    R.GRADUATED: "已毕业",
}
STATUS_LABELS = choice_labels(StudentStatus.choices)


# --- which children -----------------------------------------------------------------------------


@dataclasses.dataclass
class Selection:
    """The run and the children one export covers, and the place it is narrowed to (for the title)."""

    run: ScreeningRun | None
    children: QuerySet[ScreenedChild]
    place: str = ""
    params: dict = dataclasses.field(default_factory=dict)  # the run, township, village as resolved


def _run(ctx: Context) -> ScreeningRun | None:
    """``run`` of the options (visible, else OutOfScope), else the latest finished one (None if none):
    the latest the exporter may see, or, for a background run, the latest of its county."""
    runs = screening.runs_visible_to(ctx.user) if ctx.user is not None else ScreeningRun.objects.all()
    run_id = as_id(ctx.options.get("run"), "排查批次")
    if run_id is not None:
        run = runs.filter(pk=run_id).first()
        if run is None:
            raise OutOfScope("排查批次不存在或您无权查看")
        if run.status != ScreeningRun.Status.DONE:
            raise InvalidTransition("该批次尚未完成比对,没有台账")
        return run
    if ctx.user is None or "county" in ctx.options:
        county_id = ctx.options.get("county", ctx.county_id)
        if county_id is None:
            return None
        done = runs.filter(county_id=county_id, status=ScreeningRun.Status.DONE)
        return done.order_by("-created_at", "-pk").first()
    return screening.latest_run(ctx.user)


def _places(user, county_id: int) -> tuple[QuerySet[Township], QuerySet[Village]]:
    """Townships and villages a user may narrow the ledger to: those of the run's county; a cadre
    (on no education-line post) only their own."""
    townships = Township.objects.filter(county_id=county_id)
    villages = Village.objects.filter(township__county_id=county_id)
    scope = scoping.scope_for(user) if user is not None else None
    if scope is not None and not scope.on_education_line:
        townships = townships.filter(Q(pk__in=scope.township_ids) | Q(villages__in=scope.village_ids)).distinct()
        villages = villages.filter(Q(township_id__in=scope.township_ids) | Q(pk__in=scope.village_ids))
    return townships, villages


def select(ctx: Context) -> Selection:
    """The children of the export: in scope, of one run, narrowed as the options say.

    No run yet: OutOfScope ("尚未导入户籍名单") for a person; an empty selection for a background run.
    A township / village / run out of scope is OutOfScope, a malformed one InvalidInput.
    """
    user, options = ctx.user, ctx.options
    run = _run(ctx)
    if run is None:
        if user is None or "county" in options:
            return Selection(run=None, children=ScreenedChild.objects.none())
        raise OutOfScope(NO_RUN)
    children = (
        screening.children_visible_to(user)
        if user is not None
        else ScreenedChild.objects.filter(run__status=ScreeningRun.Status.DONE)
    ).filter(run_id=run.pk)
    if options.get("school") is not None:
        children = children.filter(school_id=options["school"])
    if options.get("classroom") is not None:
        children = children.filter(classroom_id=options["classroom"])
    params: dict = {"run": run.pk}
    place = []
    township_id = as_id(options.get("township"), "乡镇")
    village_id = as_id(options.get("village"), "村")
    if township_id is not None or village_id is not None:
        townships, villages = _places(user, run.county_id)
        if township_id is not None:
            name = townships.filter(pk=township_id).values_list("name", flat=True).first()
            if name is None:
                raise OutOfScope("乡镇不存在或您无权查看")
            children, params["township"] = children.filter(township_id=township_id), township_id
            place.append(name)
        if village_id is not None:
            if township_id is not None:
                villages = villages.filter(township_id=township_id)
            found = villages.filter(pk=village_id).values_list("township__name", "name").first()
            if found is None:
                raise OutOfScope("村(社区)不存在或您无权查看")
            children, params["village"] = children.filter(village_id=village_id), village_id
            place = [found[0], found[1]]
    return Selection(run=run, children=children, place="".join(place), params=params)


def count(ctx: Context) -> int:
    """Rows of the export (the ledgers page, and whether a county-wide export is a background run)."""
    return select(ctx).children.count()


# --- the rows -----------------------------------------------------------------------------------


def schooling(c: dict) -> str:
    """就学状态: 在读 (school and class), or what became of a child no school of the county enrols."""
    status, resolution = c["student_status"], c["resolution"]
    if c["outcome"] != Outcome.NOT_ENROLLED:  # matched to an enrolled student, or enrolled and not on the register
        if status == StudentStatus.SUSPENDED:
            return "休学"
        if status == StudentStatus.DROPPED_OUT:
            return "辍学"
        where = " ".join(filter(None, (c["school__name"], c["classroom__name"])))
        return f"在读:{where}" if where else "在读"
    if resolution == R.ELSEWHERE:
        where = "、".join(filter(None, (c["resolved_school"], c["resolved_place"])))
        return f"在外地就读:{where}" if where else "在外地就读"
    if resolution == R.MIGRANT:
        return f"随迁就读:{c['resolved_place']}" if c["resolved_place"] else "随迁就读"
    if resolution in RESOLVED_SCHOOLING:
        return RESOLVED_SCHOOLING[resolution]
    if resolution == R.OUT_OF_SCHOOL:  # 辍学 once enrolled somewhere, 未入学 (失学) never
        return "未入学" if status in ("", StudentStatus.NOT_ENROLLED) else "辍学"
    # Not resolved yet: never enrolled as far as the county knows, or its 学籍 moved away (转出).
    return "未入学" if status in ("", StudentStatus.NOT_ENROLLED) else STATUS_LABELS.get(status, "未入学")


def comparison(c: dict, outcomes: dict[str, str]) -> str:
    """比对结果: the outcome; an unmatched child's is resolved or not; a suggestion waiting to be decided."""
    text = outcomes[c["outcome"]]
    if c["outcome"] == Outcome.NOT_ENROLLED:
        text += "(已核实)" if c["resolution"] else "(待核实)"
    if c["suggestion"] == ScreenedChild.Suggestion.PENDING:
        text += ",疑似匹配待确认"
    return text


def notes(c: dict) -> str:
    found = []
    if c["match_method"] == ScreenedChild.MatchMethod.SUGGESTION:
        found.append("姓名+出生日期+村 人工确认匹配")
    if c["resolution"] == R.SPECIAL and c["resolved_school"]:
        found.append(c["resolved_school"])
    if c["resolution_note"]:
        found.append(c["resolution_note"])
    return ";".join(found)


def guardians(children: QuerySet[ScreenedChild]) -> dict[int, tuple[str, str]]:
    """The first guardian of each student the register gives none for (在籍不在册), in one query."""
    found: dict[int, tuple[str, str]] = {}
    students = children.filter(guardian_name="", student__isnull=False).values("student_id")
    for student_id, name, phone in (
        Guardian.objects.filter(student_id__in=students)
        .order_by("student_id", "id")
        .values_list("student_id", "name", "phone")
    ):
        found.setdefault(student_id, (name, phone))
    return found


def rows(ctx: Context, children: QuerySet[ScreenedChild]) -> Iterator[list]:
    full, text = ctx.full_ids, cell_text
    outcomes = choice_labels(Outcome.choices)
    genders = choice_labels(Student.Gender.choices)
    case_status = choice_labels(DropoutCase.Status.choices)
    from_roll = guardians(children)
    household, households = None, 0
    for number, c in enumerate(stream(children.order_by(*ORDER).values(*FIELDS)), 1):
        head = (c["township__name"], c["village__name"], c["household_head"])
        on_register = c["row_number"] is not None
        if on_register and head != household:
            household, households = head, households + 1
        guardian, phone = (c["guardian_name"], c["guardian_phone"])
        if not guardian and c["student_id"] in from_roll:
            guardian, phone = from_roll[c["student_id"]]
        place = "".join(filter(None, (c["village__name"], c["group"])))
        yield [
            number,
            households if on_register else None,
            text(c["township__name"]),
            text(place),
            text(c["household_head"]),
            text(c["relation_to_head"]),
            text(c["name"]),
            genders.get(c["gender"]),
            c["birth_date"],
            c["age"],
            text(shown_number(c["id_number"], full)),
            text(c["hukou_address"] or c["student__hukou_address"]),
            text(c["current_address"] or c["student__address"]),
            text(f"{guardian} {phone}".strip()),
            text(schooling(c)),
            text(shown_number(c["student__student_no"] or "", full)),
            text(special_groups(c)) if c["student_id"] else None,
            comparison(c, outcomes),
            text(person(c["resolved_by__display_name"], c["resolved_by__username"])),
            c["resolved_on"],
            text(c["evidence_name"] or c["evidence_text"]),
            case_status.get(c["case__status"]),
            text(notes(c)),
        ]


def township_counts(children: QuerySet[ScreenedChild]) -> list[tuple[str, dict[str, int]]]:
    """(township, outcome_counts) for every township the children live in, by name; the unplaced last."""
    towns = (
        children.order_by(F("township__name").asc(nulls_last=True))
        .values_list("township_id", "township__name")
        .distinct()
    )
    found = []
    for township_id, name in towns:
        same = children.filter(township_id=township_id) if township_id else children.filter(township__isnull=True)
        found.append((name or NO_TOWNSHIP, screening.outcome_counts(same)))
    return found


# --- the file -----------------------------------------------------------------------------------


def write(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        chosen = select(ctx)
        run, children = chosen.run, chosen.children
        tick = Ticker(progress, children.count() if progress else 0)
        wb = ledger_workbook(TITLE, ctx)
        about = f"({run.title},年龄截至{run.cutoff_on:%Y-%m-%d})" if run else f"({NO_RUN})"
        sheet = ledger_sheet(
            wb,
            ctx,
            sheet_title=TITLE,
            name=" ".join(filter(None, (chosen.place, TITLE + about))),
            headers=HEADERS,
            text_columns=TEXT_COLUMNS,
            date_columns=DATE_COLUMNS,
            widths=WIDTHS,
        )
        for row in rows(ctx, children):
            sheet.append(row)
            tick()
        sheet.finish()

        totals = screening.outcome_counts(children)
        summary = ledger_sheet(
            wb,
            ctx,
            sheet_title="乡镇汇总",
            name=" ".join(filter(None, (chosen.place, f"{TITLE} 乡镇汇总{about}"))),
            headers=SUMMARY_HEADERS,
            widths=SUMMARY_WIDTHS,
        )
        for name, counts in township_counts(children):
            summary.append([cell_text(name), *(counts[key] for key in SUMMARY_KEYS)])
        summary.raw([styled(summary.ws, "合计", font=HEADER_FONT), *(totals[key] for key in SUMMARY_KEYS)])
        summary.raw([])
        summary.raw(
            [
                cell_text(
                    "注:适龄人数 = 在读且在校 + 名在人不在 + 未在本县学籍 + 在籍不在册;"
                    "未在本县学籍 = 其中已核实 + 待核实;在籍不在册为学籍在本县、户籍名单未列的学生。"
                )
            ]
        )
        if run is not None:
            days = f"最近{run.absent_days}个上学日日报均缺勤为名在人不在"
            summary.raw([cell_text(f"比对批次:{run};{days}")])
        summary.finish()
        wb.save(out)
    data = {
        "rows": sheet.rows,
        "screening_run": run.pk if run else None,
        "screening_run_title": run.title if run else "",
        **{key: totals[key] for key in SUMMARY_KEYS},
    }
    return Written(rows=sheet.rows, data=data, params=chosen.params)


LEDGER = Ledger(
    "screening",
    ReportRun.Kind.LEDGER_SCREENING,
    TITLE,
    write,
    count=count,
    options=("run", "township", "village"),
)
