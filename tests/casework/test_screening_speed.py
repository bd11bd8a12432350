"""The register import's fast paths (casework/screening/register.py, matching.py, services.py) give exactly
what the general code they stand in for gives: the per-cell checks, the shared-strings table, the
writing of the children, the open cases of a whole register."""

import dataclasses
import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from casework.models import DropoutCase, ScreenedChild, ScreeningRun
from casework.screening import demo, matching, register, services
from students import idnumber, tabular
from tests.helpers import build_case

VALID = idnumber.make_id_number("431226", dt.date(2014, 3, 2), 11, True)
CELLS = [
    None,
    "",
    " ",
    "王小花",
    " 王 小花 ",
    "王\u3000小花",
    "王\xa0小花",
    "Ayi  Li",
    "ayi li",
    "石门村3组",
    "a\tb\nc",
    12,
    12.0,
    12.5,
    True,
    False,
    dt.date(2015, 5, 17),
    dt.datetime(2015, 5, 17, 8, 30),
    "2015-05-17",
    "2015-02-30",
    "2015-5-17",
    "2015年5月17日",
    "20150517",
    "１２３",
    "0000-01-01",
    44000,
    20150517,
]
NUMBERS = [
    VALID,
    VALID.lower(),
    " " + VALID + " ",
    VALID[:6] + " " + VALID[6:],
    VALID[:-1] + ("0" if VALID[-1] != "0" else "1"),  # bad check digit
    idnumber.make_id_number("431226", dt.date(2099, 1, 1), 1, False),  # born in the future
    idnumber.make_id_number("431226", dt.date(1899, 12, 31), 1, False),
    "431226201402301234",  # 30 February
    "43122620140302123",
    "4312262014030212345",
    "４３１２２６２０１４０３０２０１１Ｘ",  # full-width digits
    "43122620140302011x",
    "abc",
]


def outcome(func, *args):
    try:
        return ("ok", func(*args))
    except ValidationError as exc:
        return ("error", exc.messages)


@pytest.mark.parametrize("cell", CELLS)
def test_the_fast_cell_checks_are_the_general_ones(cell):
    assert register._text(cell) == tabular.text(cell)
    assert register._person_name(cell) == tabular.person_name(cell)
    assert register._birth_date(cell) == tabular.parse_date(cell)


@pytest.mark.parametrize("number", NUMBERS)
def test_the_fast_id_check_is_validate_id_number(number, today):
    text = tabular.text(number)
    assert outcome(register._id_number, text, today) == outcome(idnumber.validate_id_number, text)


# Shared strings as Excel writes them (openpyxl itself writes inline strings): plain, with spaces kept,
# escaped, empty, rich text (runs), with a phonetic reading (rPh, left out of the text).
SHARED = [
    "<si><t>户主姓名</t></si>",
    "<si><t>王小花</t></si>",
    '<si><t xml:space="preserve">  spaces kept  </t></si>',
    "<si><t>x005F_x0041_ a&amp;b &lt;c&gt;</t></si>",
    "<si><t/></si>",
    "<si><t>a\nb</t></si>",
    "<si><r><t>王</t></r><r><rPr><b/></rPr><t>小花</t></r><r><t>(监护人)</t></r></si>",
    '<si><t>王</t><rPh sb="0" eb="1"><t>wang</t></rPh><phoneticPr fontId="1"/></si>',
    "<si><r><t>x005F_</t></r></si>",
]


def excel_file() -> bytes:
    """An .xlsx whose sheet points at each of SHARED, in a row of its own with a plain text beside it."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings = "".join(SHARED) + "<si><t>石门村</t></si>"
    rows = "".join(
        f'<row r="{n + 1}"><c r="A{n + 1}" t="s"><v>{n}</v></c><c r="B{n + 1}" t="s"><v>{len(SHARED)}</v></c></row>'
        for n in range(len(SHARED))
    )
    parts = {
        "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">'
        f"<sheetData>{rows}</sheetData></worksheet>",
    }
    source = zipfile.ZipFile(io.BytesIO(demo.register_xlsx([])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, parts.get(name, source.read(name)))
    return out.getvalue()


def test_the_shared_strings_are_read_as_openpyxl_reads_them():
    content = excel_file()
    sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    sheet.reset_dimensions()  # as read_rows does
    expected = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    rows, label = register.read_rows("xlsx", content)
    assert label == "Excel (.xlsx)"
    assert [values for _, values in rows] == expected
    texts = [values[0] for _, values in rows]
    assert texts[2] == "  spaces kept  "
    assert texts[3] == "x0041_ a&b <c>"  # openpyxl drops the escape's x005F_
    assert texts[4] == ""
    assert texts[6] == "王小花(监护人)"  # the runs, joined
    assert texts[7] == "王"  # not the phonetic reading
    assert len(rows) == len(SHARED)


def child_rows(world, run) -> list[matching.ChildRow]:
    a0 = world.students_a[0]
    return [
        matching.ChildRow(
            run_id=run.pk,
            name="王小花",
            gender="F",
            id_number=VALID,
            birth_date=dt.date(2014, 3, 2),
            age=12,
            township_id=world.township.pk,
            village_id=world.village.pk,
            row_number=2,
            household_head="王大山",
            relation_to_head="女",
            group="3组",
            hukou_address="back\\slash\ttab\nnew line\r",
            current_address="\\N",
            guardian_name="",
            guardian_phone="13800000000",
            outcome="not_enrolled",
            suggested_student_id=a0.pk,
            suggestion="pending",
        ),
        matching.ChildRow(
            run_id=run.pk,
            name=a0.name,
            gender=a0.gender,
            id_number=a0.id_number,
            birth_date=a0.birth_date,
            age=13,
            township_id=None,
            village_id=None,
            outcome="attending",
            student_id=a0.pk,
            match_method="id_number",
            school_id=a0.school_id,
            classroom_id=a0.classroom_id,
            student_status="enrolled",
            evidence_text="最近5个上学日(11-18至11-24)日报均缺勤",
        ),
    ]


def stored(run) -> list[dict]:
    rows = list(ScreenedChild.objects.filter(run=run).order_by("row_number", "name").values())
    for row in rows:
        del row["id"], row["run_id"]
    return rows


def test_write_children_stores_what_bulk_create_stores(world, today):
    runs = [
        ScreeningRun.objects.create(
            county=world.county,
            title=title,
            cutoff_on=dt.date(2026, 8, 31),
            file_name="x.xlsx",
            file_size=1,
            file_sha256="0" * 64,
            imported_by=world.bureau,
        )
        for title in ("bulk_create", "write_children")
    ]
    made = child_rows(world, runs[0])
    ScreenedChild.objects.bulk_create(
        [ScreenedChild(**{k: v for k, v in dataclasses.asdict(row).items() if k != "known"}) for row in made]
    )
    services.write_children(child_rows(world, runs[1]))
    first, second = stored(runs[0]), stored(runs[1])
    assert len(second) == 2
    assert first == second
    assert second[0]["hukou_address"] == "back\\slash\ttab\nnew line\r"
    assert second[0]["current_address"] == "\\N"
    assert second[0]["evidence"] == ""
    assert second[0]["resolved_by_id"] is None


def test_open_cases_of_a_whole_register_are_those_of_the_in_list(world, term, today):
    case = build_case(world, world.students_a[0], "suspected")
    ids = [student.pk for student in world.students_a + world.students_b]
    many = ids + list(range(10**9, 10**9 + 1001))  # over the size where every open case is loaded
    assert matching.open_cases(ids) == matching.open_cases(many) == {case.student_id: case.pk}
    assert matching.open_cases([world.students_b[0].pk]) == {}
    case.status = DropoutCase.Status.CLOSED
    case.save()
    assert matching.open_cases(many) == {}
