"""The weekly and monthly reports: class, school (值班领导周报告 / 在校学生登记表) and county.

Each builder takes a run, asks :mod:`reporting.metrics` for the numbers (the same functions the
dashboards use), writes them to an .xlsx through :mod:`reporting.xlsx` (Chinese headers, a title
row with scope and data-as-of, frozen header, filters, the formulas written under the table) and
returns the same numbers as ``data`` for the report page and the API. Builders report progress
as they go. ``services.BUILDERS`` maps each kind to its builder.
"""

from django.utils import timezone
from openpyxl import Workbook

from students import idnumber
from students.models import GRADE_NAMES, Classroom, County, School

from . import metrics
from .building import BuildResult, Progress
from .models import ReportRun
from .periods import period_bounds
from .xlsx import DATE, INT, PCT, TEXT, Sheet, new_workbook, workbook_bytes

K = ReportRun.Kind


def formula_notes(*keys: str) -> list[str]:
    return [f"注:{metrics.FORMULAS[key]}" for key in keys]


def scope_classrooms(run: ReportRun):
    """Classrooms covered by a run's scope."""
    if run.scope_type == ReportRun.ScopeType.CLASSROOM:
        return Classroom.objects.filter(pk=run.scope_id)
    if run.scope_type == ReportRun.ScopeType.SCHOOL:
        return Classroom.objects.filter(school_id=run.scope_id)
    return Classroom.objects.filter(school__county_id=run.scope_id)


# --- shared pieces -------------------------------------------------------------------------------


def _frame(run: ReportRun) -> dict:
    start, end = period_bounds(run.period)
    as_of = timezone.now()
    return {
        "kind": run.kind,
        "kind_label": str(K(run.kind).label),
        "scope_type": run.scope_type,
        "scope_id": run.scope_id,
        "scope": run.scope_name,
        "period": run.period,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "as_of": as_of.isoformat(),
        "_start": start,
        "_end": end,
        "_as_of": as_of,
    }


def _public(data: dict) -> dict:
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _subtitle(data: dict) -> str:
    as_of = timezone.localtime(data["_as_of"]).strftime("%Y-%m-%d %H:%M")
    return f"范围:{data['scope']}  期间:{data['period']}({data['start']} 至 {data['end']})  数据截至:{as_of}"


def _filename(run: ReportRun) -> str:
    return f"{run.kind}-{run.period}-{run.scope_type}{run.scope_id}-g{run.generation}.xlsx"


def _scaled(progress: Progress, low: int, high: int) -> Progress:
    return lambda percent: progress(low + (high - low) * percent // 100)


def _pct_text(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _met_label(met) -> str:
    return "" if met is None else ("是" if met else "否")


# --- class weekly --------------------------------------------------------------------------------

CLASS_COLUMNS = [
    ("序号", INT),
    ("全国学籍号", TEXT),
    ("姓名", TEXT),
    ("性别", TEXT),
    ("学籍状态", TEXT),
    ("已报告天数", INT),
    ("出勤天数", INT),
    *[(f"{label}(天)", INT) for label in metrics.ABSENCE_LABELS.values()],
    ("缺勤合计(天)", INT),
    ("缺勤明细", TEXT),
    ("本周新增预警", TEXT),
    ("在办个案", TEXT),
]


def report_number(value: str) -> str:
    """A 学籍号 in a weekly report: masked but for its last four characters, for every reader. A report
    is one file for all who may open it (the class teacher too), and it names the child anyway."""
    return idnumber.mask(value) if value else ""


def build_class_weekly(run: ReportRun, progress: Progress) -> BuildResult:
    data = _frame(run)
    classroom = Classroom.objects.select_related("school").get(pk=run.scope_id)
    numbers = metrics.collect(
        Classroom.objects.filter(pk=classroom.pk),
        data["_start"],
        data["_end"],
        as_of=data["_as_of"],
        progress=_scaled(progress, 0, 40),
    )
    detail = metrics.class_students(classroom, data["_start"], data["_end"], as_of=data["_as_of"])
    progress(60)
    data.update(
        school=classroom.school.name,
        summary=numbers.classes[0].to_dict() if numbers.classes else None,
        school_days=detail["school_days"],
        reported_days=detail["reported_days"],
        students=detail["students"],
        formulas=metrics.FORMULAS,
    )
    wb = new_workbook()
    sheet = Sheet(
        wb,
        "班级周报",
        heading=f"{classroom.school.name} {classroom.name} 班级周报",
        subtitle=_subtitle(data),
        columns=CLASS_COLUMNS,
        freeze_cols=3,
    )
    for index, s in enumerate(detail["students"], start=1):
        sheet.append(
            [
                index,
                report_number(s["student_no"]),
                s["name"],
                s["gender"],
                s["status"],
                s["reported_days"],
                s["present"],
                *[s["absences"][kind] for kind in metrics.ABSENCE_KINDS],
                s["absent"],
                "、".join(s["absent_days"]),
                ";".join(s["new_flags"]),
                s["open_case"],
            ]
        )
    summary = data["summary"] or {}
    sheet.finish(
        notes=[
            f"上学日 {len(detail['school_days'])} 天,已报告 {len(detail['reported_days'])} 天;"
            f"出勤率 {_pct_text(summary.get('attendance_rate'))},报告完成率 {_pct_text(summary.get('completeness'))}",
            *formula_notes("attendance_rate", "completeness"),
        ]
    )
    progress(90)
    return BuildResult(workbook_bytes(wb), _filename(run), _public(data), len(detail["students"]))


# --- school weekly (值班领导周报告 / 在校学生登记表) ------------------------------------------------


def build_school_weekly(run: ReportRun, progress: Progress) -> BuildResult:
    data = _frame(run)
    school = School.objects.get(pk=run.scope_id)
    start, end, as_of = data["_start"], data["_end"], data["_as_of"]
    numbers = metrics.collect(
        Classroom.objects.filter(school=school), start, end, as_of=as_of, progress=_scaled(progress, 0, 40)
    )
    week = metrics.school_week(school.pk, school.county_id, start, end, as_of=as_of)
    progress(55)
    days = week["days"]
    classes = []
    day_totals = [{"enrolled": 0, "present": 0, "classes": 0} for _ in days]
    for unit in numbers.classes:
        cells = []
        for index, day in enumerate(days):
            cell = week["register"].get(str(unit.key), {}).get(day["date"])
            cells.append(cell)
            if cell:
                day_totals[index]["enrolled"] += cell["enrolled"]
                day_totals[index]["present"] += cell["present"]
                day_totals[index]["classes"] += 1
        classes.append({**unit.to_dict(), "teachers": week["teachers"].get(str(unit.key), []), "days": cells})
    data.update(
        school=school.name,
        school_code=school.code,
        summary=numbers.schools[0].to_dict() if numbers.schools else metrics.Unit(key=school.pk, name="").to_dict(),
        school_year=numbers.school_year,
        school_days=[day.isoformat() for day in numbers.school_days],
        days=days,
        classes=classes,
        day_totals=day_totals,
        absentees=week["absentees"],
        new_cases=week["new_cases"],
        follow_ups=week["follow_ups"],
        formulas=metrics.FORMULAS,
    )
    summary = data["summary"]
    wb = new_workbook()
    subtitle = _subtitle(data)
    heading = f"{school.name} 值班领导周报告 · 在校学生登记表"
    day_columns = []
    for day in days:
        day_columns += [(f"{day['label']}应到", INT), (f"{day['label']}实到", INT)]
    register = Sheet(
        wb,
        "在校学生登记表",
        heading=heading,
        subtitle=subtitle,
        columns=[
            ("序号", INT),
            ("年级", TEXT),
            ("班级", TEXT),
            ("班主任", TEXT),
            ("在读人数", INT),
            *day_columns,
            ("已报天数", INT),
            ("应报天数", INT),
            ("报告完成率", PCT),
            ("出勤率", PCT),
            ("缺勤人次", INT),
        ],
        freeze_cols=3,
    )
    for index, row in enumerate(classes, start=1):
        cells = []
        for cell in row["days"]:
            cells += [cell["enrolled"], cell["present"]] if cell else ["未报", "未报"]
        register.append(
            [
                index,
                GRADE_NAMES.get(row["grade_level"], ""),
                row["name"],
                "、".join(row["teachers"]),
                row["enrolled"],
                *cells,
                row["reports_filed"],
                row["reports_expected"],
                row["completeness"],
                row["attendance_rate"],
                row["absence_total"],
            ]
        )
    total_cells = []
    for total in day_totals:
        total_cells += [total["enrolled"], total["present"]]
    register.finish(
        total=[
            None,
            "",
            "全校合计",
            "",
            summary["enrolled"],
            *total_cells,
            summary["reports_filed"],
            summary["reports_expected"],
            summary["completeness"],
            summary["attendance_rate"],
            summary["absence_total"],
        ],
        notes=[
            "“未报”:该班当天未提交考勤日报;每日应到/实到取自班主任当天的日报",
            *formula_notes("attendance_rate", "completeness"),
        ],
    )
    progress(65)

    absentees = Sheet(
        wb,
        "缺勤名单",
        heading=f"{school.name} 本周缺勤名单",
        subtitle=subtitle,
        columns=[
            ("序号", INT),
            ("日期", DATE),
            ("班级", TEXT),
            ("全国学籍号", TEXT),
            ("姓名", TEXT),
            ("缺勤类别", TEXT),
            ("已联系家长", TEXT),
            ("备注", TEXT),
        ],
    )
    for index, a in enumerate(week["absentees"], start=1):
        absentees.append(
            [
                index,
                a["date"],
                a["classroom"],
                report_number(a["student_no"]),
                a["name"],
                a["kind_label"],
                "是" if a["family_contacted"] else "否",
                a["note"],
            ]
        )
    absentees.finish(
        notes=[
            "缺勤人次:" + ",".join(f"{label}{summary['absences'][k]}" for k, label in metrics.ABSENCE_LABELS.items())
        ]
    )
    progress(75)

    cases = Sheet(
        wb,
        "新增疑似辍学",
        heading=f"{school.name} 本周新增疑似辍学",
        subtitle=subtitle,
        columns=[
            ("序号", INT),
            ("发现日期", DATE),
            ("班级", TEXT),
            ("全国学籍号", TEXT),
            ("姓名", TEXT),
            ("最后到校日期", DATE),
            ("来源", TEXT),
            ("当前状态", TEXT),
        ],
    )
    for index, c in enumerate(week["new_cases"], start=1):
        cases.append(
            [
                index,
                c["detected_on"],
                c["classroom"],
                report_number(c["student_no"]),
                c["name"],
                c["last_attended_on"],
                c["source"],
                c["status"],
            ]
        )
    cases.finish()

    follow_ups = Sheet(
        wb,
        "本周复学跟踪",
        heading=f"{school.name} 本周到期未完成的复学跟踪",
        subtitle=subtitle,
        columns=[
            ("序号", INT),
            ("计划日期", DATE),
            ("学生", TEXT),
            ("班级", TEXT),
            ("类别", TEXT),
            ("责任人", TEXT),
            ("说明", TEXT),
        ],
    )
    for index, f in enumerate(week["follow_ups"], start=1):
        follow_ups.append([index, f["due_on"], f["name"], f["classroom"], f["kind"], f["assignee"], f["note"]])
    follow_ups.finish()
    progress(85)

    _summary_sheet(wb, heading=f"{school.name} 控辍保学情况汇总", subtitle=subtitle, units=[summary])
    progress(95)
    return BuildResult(workbook_bytes(wb), _filename(run), _public(data), len(classes))


# --- county weekly / monthly ---------------------------------------------------------------------

SCHOOL_COLUMNS = [
    ("序号", INT),
    ("学校代码", TEXT),
    ("学校", TEXT),
    ("班级数", INT),
    ("在读人数", INT),
    ("学年初在籍人数", INT),
    ("出勤率", PCT),
    ("已报日报数", INT),
    ("应报日报数", INT),
    ("报告完成率", PCT),
    *[(f"{label}(人次)", INT) for label in metrics.ABSENCE_LABELS.values()],
    ("本期新增疑似", INT),
    *[(label, INT) for label in metrics.CASE_LABELS.values()],
    ("逾期事项", INT),
    ("本学年辍学人数", INT),
    ("辍学率", PCT),
    ("巩固率", PCT),
    ("辍学率控制目标", PCT),
    ("是否达标", TEXT),
]


def school_row(index, unit: dict) -> list:
    return [
        index,
        unit["code"],
        unit["name"],
        unit["classes"],
        unit["enrolled"],
        unit["enrolled_at_start"],
        unit["attendance_rate"],
        unit["reports_filed"],
        unit["reports_expected"],
        unit["completeness"],
        *[unit["absences"][kind] for kind in metrics.ABSENCE_KINDS],
        unit["new_suspected"],
        *[unit["cases"][column] for column in metrics.CASE_LABELS],
        unit["overdue"],
        unit["dropouts"],
        unit["dropout_rate"],
        unit["retention_rate"],
        unit["target"],
        _met_label(unit["target_met"]),
    ]


def _summary_sheet(
    wb: Workbook, *, heading: str, subtitle: str, units: list[dict], total: dict | None = None, title: str = "汇总"
):
    sheet = Sheet(wb, title, heading=heading, subtitle=subtitle, columns=SCHOOL_COLUMNS, freeze_cols=3)
    for index, unit in enumerate(units, start=1):
        sheet.append(school_row(index, unit))
    sheet.finish(
        total=school_row(None, {**total, "code": ""}) if total else None,
        notes=formula_notes(
            "dropout_rate", "retention_rate", "enrolled_at_start", "attendance_rate", "completeness", "target", "cases"
        )
        + formula_notes("overdue"),
    )
    return sheet


def county_numbers(run: ReportRun, progress: Progress) -> tuple[dict, metrics.Metrics]:
    """The county report's numbers (page and API resource): per school and the county's total."""
    data = _frame(run)
    county = County.objects.get(pk=run.scope_id)
    numbers = metrics.collect(
        scope_classrooms(run),
        data["_start"],
        data["_end"],
        as_of=data["_as_of"],
        progress=_scaled(progress, 0, 80),
        by_class=False,
    )
    total = numbers.total.to_dict()
    total["name"] = f"{county.name}合计"
    total["target_met"] = None
    data.update(
        county=county.name,
        school_year=numbers.school_year,
        school_days=[day.isoformat() for day in numbers.school_days],
        schools=[unit.to_dict() for unit in numbers.schools],
        total=total,
        formulas=metrics.FORMULAS,
    )
    return data, numbers


def county_workbook(run: ReportRun, data: dict, numbers: metrics.Metrics) -> bytes:
    wb = new_workbook()
    title = "全县周报" if run.kind == K.COUNTY_WEEKLY else "全县月报"
    year = f"({numbers.school_year['name']}学年)" if numbers.school_year else "(未设置学年)"
    _summary_sheet(
        wb,
        heading=f"{data['county']} 控辍保学{title}{year}",
        subtitle=_subtitle(data),
        units=data["schools"],
        total=data["total"],
        title="各校情况",
    )
    return workbook_bytes(wb)


def build_county(run: ReportRun, progress: Progress) -> BuildResult:
    """The county weekly and monthly reports: per school and the county's total."""
    data, numbers = county_numbers(run, progress)
    content = county_workbook(run, data, numbers)
    progress(95)
    return BuildResult(content, _filename(run), _public(data), len(data["schools"]))
