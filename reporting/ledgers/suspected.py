"""疑似辍学学生台账: every case awaiting verification, and this school year's reports with their conclusion."""

from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import translation

from casework.models import DropoutCase

from ..models import ReportRun
from ..xlsx import cell_text
from .shared import (
    ONE_DAY,
    Context,
    Labels,
    Ledger,
    Side,
    Ticker,
    Written,
    case_rows,
    class_label,
    class_teachers,
    context_for_user,
    id_number,
    iso_date,
    ledger_sheet,
    ledger_workbook,
    person,
    student_no,
    suspected_q,
)

S = DropoutCase.Status

HEADERS = [
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
TEXT_COLUMNS = ("身份证号", "学籍号")
DATE_COLUMNS = ("首次缺勤日期", "核实日期", "转入辍学台账日期")
CONCLUSION = HEADERS.index("核实结论")

# 核实结论 of a dismissed case (the exact reason goes to 备注).
DISMISS_CONCLUSIONS: dict[str, str] = {
    DropoutCase.DismissReason.TRANSFERRED: "转学在读",
    DropoutCase.DismissReason.SUSPENDED: "休学",
    DropoutCase.DismissReason.DEFERRED: "休学",
    DropoutCase.DismissReason.UNFIT: "休学",
    DropoutCase.DismissReason.DECEASED: "死亡",
    DropoutCase.DismissReason.FALSE_REPORT: "返校",
    DropoutCase.DismissReason.SICK_LEAVE: "其他",
}


def conclusion(status: str, dismiss_reason: str) -> str:
    if status == S.SUSPECTED:
        return "待核实"
    if status == S.DISMISSED:
        return DISMISS_CONCLUSIONS.get(dismiss_reason, "其他")
    return "辍学"


def rows(ctx: Context, qs: QuerySet[DropoutCase], labels: Labels) -> Iterator[list]:
    full, text = ctx.full_ids, cell_text
    teachers = class_teachers(ctx, qs)
    side = Side.load(qs)
    for number, c in enumerate(case_rows(qs, "source_flag__evidence", "source_flag__evidence_text"), 1):
        status = c["status"]
        evidence = c["source_flag__evidence"]
        dates = (evidence.get("dates") or []) if isinstance(evidence, dict) else []
        if dates:
            first_absent = iso_date(dates[0])
        else:
            first_absent = c["last_attended_on"] + ONE_DAY if c["last_attended_on"] else None
        name, relation, phone = side.guardians.get(c["student_id"], Side.NO_GUARDIAN)
        guardian = f"{name}({relation}) {phone}".strip() if name else ""
        reason = labels.reason.get(c["reason"], "")
        if c["reason_detail"]:
            reason = f"{reason}:{c['reason_detail']}" if reason else c["reason_detail"]
        teacher = teachers.get(c["classroom_id"]) or person(
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
            text(class_label(c)),
            text(c["student__name"]),
            labels.gender.get(c["student__gender"]),
            text(id_number(c, full)),
            text(student_no(c, full)),
            text(guardian),
            first_absent,
            len(dates) or None,
            labels.source.get(c["source"]),
            text(reason),
            text(teacher),
            side.contacts.get(c["pk"], Side.NO_CONTACT)[0],
            conclusion(status, c["dismiss_reason"]),
            c["verified_on"],
            c["verified_on"] if status in DropoutCase.CONFIRMED_STATUSES else None,
            text(";".join(notes)),
        ]


def write(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        qs = ctx.cases.filter(suspected_q(ctx.year_start))
        tick = Ticker(progress, qs.count() if progress else 0)
        wb = ledger_workbook("疑似辍学学生台账", ctx)
        sheet = ledger_sheet(
            wb,
            ctx,
            sheet_title="疑似辍学学生台账",
            name="疑似辍学学生台账",
            headers=HEADERS,
            text_columns=TEXT_COLUMNS,
            date_columns=DATE_COLUMNS,
        )
        pending = 0
        for row in rows(ctx, qs, Labels()):
            pending += row[CONCLUSION] == "待核实"
            sheet.append(row)
            tick()
        sheet.finish()
        wb.save(out)
    return Written(rows=sheet.rows, data={"rows": sheet.rows, "pending": pending})


def write_suspected(user, *, school=None, classroom=None, out, progress=None) -> int:
    """疑似辍学学生台账 in ``user``'s scope into ``out``; returns the number of student rows."""
    return write(context_for_user(user, school=school, classroom=classroom), out, progress).rows


LEDGER = Ledger("suspected", ReportRun.Kind.LEDGER_SUSPECTED, "疑似辍学学生台账", write)
