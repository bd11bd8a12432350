"""劝返清单: for the townships to sign. Dropouts, back at school and not, per township, with the three lists."""

from django.db.models import QuerySet
from django.utils import translation

from casework.models import DropoutCase

from ..models import ReportRun
from ..xlsx import HEADER_ALIGN, HEADER_FONT, cell_text, styled
from .shared import (
    Context,
    Labels,
    Ledger,
    Side,
    Ticker,
    Written,
    case_rows,
    class_label,
    context_for_user,
    dropouts_q,
    id_number,
    ledger_sheet,
    ledger_workbook,
    owners,
    student_no,
    township,
)

S = DropoutCase.Status

SUMMARY_HEADERS = ["乡镇(街道)", "辍学", "已返校", "未返校"]
HEADERS = [
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
TEXT_COLUMNS = ("身份证号", "学籍号")
DATE_COLUMNS = ("辍学时间", "认定辍学日期", "最近劝返日期", "复学日期")
SIGNATORIES = ("村支书", "中心校校长", "中学校长", "乡镇分管领导", "乡镇长", "教育局包片领导")


def rows(ctx: Context, qs: QuerySet[DropoutCase], labels: Labels) -> list[tuple[str, bool, list]]:
    """(township, back at school?, row without 序号) for every dropout of the school year, by township."""
    full, text = ctx.full_ids, cell_text
    side = Side.load(qs)
    found = []
    for c in case_rows(qs):
        status = c["status"]
        name, relation, phone = side.guardians.get(c["student_id"], Side.NO_GUARDIAN)
        contacts, last_contact, _outcome = side.contacts.get(c["pk"], Side.NO_CONTACT)
        home = township(c)
        notes = "曾销号后再次辍学" if c["previous_case_id"] else ""
        if status == S.CLOSED and c["closed_on"]:
            notes = ";".join(filter(None, [notes, f"{c['closed_on']:%Y-%m-%d}已销号"]))
        row = [
            None,
            text(home),
            text(c["student__village__name"]),
            text(c["school__name"]),
            text(class_label(c)),
            text(c["student__name"]),
            labels.gender.get(c["student__gender"]),
            text(id_number(c, full)),
            text(student_no(c, full)),
            text(f"{name}({relation})" if name else ""),
            text(phone),
            c["dropped_out_on"],
            c["verified_on"],
            text(owners(c)),
            contacts,
            last_contact,
            c["returned_on"],
            labels.placement.get(c["placement"]),
            labels.status.get(status),
            text(notes),
        ]
        found.append((home, status in DropoutCase.BACK_AT_SCHOOL, row))
    found.sort(key=lambda item: item[0])  # stable: within a township, by school and class
    return found


def write(ctx: Context, out, progress=None) -> Written:
    with translation.override("zh-hans"):
        qs = ctx.cases.filter(dropouts_q(ctx.year_start))
        found = rows(ctx, qs, Labels())
        tick = Ticker(progress, len(found) * 2)
        wb = ledger_workbook("劝返清单", ctx)

        by_township: dict[str, list[int]] = {}
        for home, back, _row in found:
            counts = by_township.setdefault(home or "(未登记户籍村)", [0, 0, 0])
            counts[0] += 1
            counts[1 if back else 2] += 1
        summary = ledger_sheet(
            wb,
            ctx,
            sheet_title="汇总",
            name="控辍保学劝返清单",
            headers=SUMMARY_HEADERS,
            widths=dict.fromkeys(SUMMARY_HEADERS, 18),
            extra_widths={"E": 18, "F": 18},  # the six signatures
        )
        for home, counts in by_township.items():
            summary.append([cell_text(home), *counts])
        totals = [sum(c[i] for c in by_township.values()) for i in range(3)]
        summary.raw([styled(summary.ws, "合计", font=HEADER_FONT), *totals])
        summary.raw([])
        summary.raw([styled(summary.ws, "签字栏", font=HEADER_FONT)])
        summary.raw([styled(summary.ws, name, font=HEADER_FONT, alignment=HEADER_ALIGN) for name in SIGNATORIES])
        summary.raw([], height=40)
        summary.raw([styled(summary.ws, "签字日期:    年    月    日")])
        summary.finish()

        sections = (
            ("辍学学生名单", found),
            ("已返校名单", [item for item in found if item[1]]),
            ("未返校名单", [item for item in found if not item[1]]),
        )
        for sheet_title, section in sections:
            sheet = ledger_sheet(
                wb,
                ctx,
                sheet_title=sheet_title,
                name=f"劝返清单 · {sheet_title}",
                headers=HEADERS,
                text_columns=TEXT_COLUMNS,
                date_columns=DATE_COLUMNS,
            )
            for number, (_township_name, _back, row) in enumerate(section, 1):
                sheet.append([number, *row[1:]])
                tick()
            sheet.finish()
        wb.save(out)
    returned = sum(1 for item in found if item[1])
    data = {"rows": len(found), "dropouts": len(found), "returned": returned, "not_returned": len(found) - returned}
    return Written(rows=len(found), data=data)


def write_returns(user, *, school=None, classroom=None, out, progress=None) -> int:
    """劝返清单 in ``user``'s scope into ``out``; returns the number of dropouts listed."""
    return write(context_for_user(user, school=school, classroom=classroom), out, progress).rows


LEDGER = Ledger("returns", ReportRun.Kind.LEDGER_RETURNS, "劝返清单", write)
