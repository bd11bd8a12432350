"""辍学学生台账: one row per dropout on the ledger, then this school year's struck-off (已销号) on their own sheet."""

from collections.abc import Iterator

from django.db.models import Case, QuerySet, Value, When
from django.utils import translation

from casework.models import DropoutCase
from casework.services import DUE_LABELS

from ..models import ReportRun
from ..xlsx import cell_text
from .shared import (
    Context,
    Labels,
    Ledger,
    Side,
    Ticker,
    Written,
    age,
    case_rows,
    context_for_user,
    dropouts_q,
    id_number,
    ledger_sheet,
    ledger_workbook,
    owners,
    special_groups,
    student_no,
)

S = DropoutCase.Status

HEADERS = [
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
TEXT_COLUMNS = ("身份证件号码", "全国学籍号")
DATE_COLUMNS = (
    "出生日期",
    "疑似辍学发现日期",
    "认定辍学日期",
    "辍学时间",
    "劝返时间",
    "最近劝返日期",
    "复学日期",
    "销号日期",
)


def rows(ctx: Context, qs: QuerySet[DropoutCase], side: Side, labels: Labels) -> Iterator[tuple[bool, list]]:
    """(struck off?, row): the cases on the ledger first, then those struck off, each numbered from 1."""
    today, full, text = ctx.today, ctx.full_ids, cell_text
    qs = qs.alias(struck_off=Case(When(status=S.CLOSED, then=Value(1)), default=Value(0)))
    number, struck_before = 0, False
    for c in case_rows(qs, order_first=("struck_off",)):
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
                age(c["student__birth_date"], today),
                text(id_number(c, full)),
                text(student_no(c, full)),
                text(c["student__hukou_address"]),
                text(c["student__address"]),
                text(guardian[0]),
                text(guardian[1]),
                text(guardian[2]),
                special_groups(c) or None,
                c["detected_on"],
                c["verified_on"],
                c["dropped_out_on"],
                labels.reason.get(c["reason"]),
                text(c["reason_detail"]),
                labels.whereabouts.get(c["whereabouts"]),
                text(owners(c)),
                text(c["plan__method"]),
                c["plan__target_return_on"],
                contacts,
                last_contact,
                labels.measures(c["plan__measures"]) or None,
                labels.outcome.get(last_outcome),
                "是" if c["notice_issued_on"] else "否",
                "是" if status in DropoutCase.BACK_AT_SCHOOL else "否",
                c["returned_on"],
                labels.placement.get(c["placement"]),
                c["closed_on"],
                text(c["close_basis"]),
                labels.status.get(status),
                text(";".join(notes)),
            ],
        )


def write(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        year_start = ctx.year_start
        everyone = ctx.cases.filter(dropouts_q(year_start))
        side = Side.load(everyone)
        tick = Ticker(progress, everyone.count() if progress else 0)
        wb = ledger_workbook("辍学学生台账", ctx)

        def new_sheet(sheet_title: str, name: str):
            return ledger_sheet(
                wb,
                ctx,
                sheet_title=sheet_title,
                name=name,
                headers=HEADERS,
                text_columns=TEXT_COLUMNS,
                date_columns=DATE_COLUMNS,
            )

        # One query for both sheets: the ledger first, then this school year's struck-off cases.
        on_ledger = sheet = new_sheet("辍学学生台账", "辍学学生台账")
        struck_off = None
        for struck, row in rows(ctx, everyone, side, Labels()):
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
    on_ledger_rows, closed = on_ledger.rows, struck_off.rows
    total = on_ledger_rows + closed
    return Written(rows=total, data={"rows": total, "on_ledger": on_ledger_rows, "closed": closed})


def write_dropouts(user, *, school=None, classroom=None, out, progress=None) -> int:
    """辍学学生台账 in ``user``'s scope into ``out`` (a binary file); returns the number of student rows."""
    return write(context_for_user(user, school=school, classroom=classroom), out, progress).rows


LEDGER = Ledger("dropouts", ReportRun.Kind.LEDGER_DROPOUTS, "辍学学生台账", write)
