"""适龄儿童少年台账 (screening.xlsx): a hand-made register imported, some children resolved, the file read
back with openpyxl — columns, households, 就学状态 of each outcome, scope, masking, the township
summary, escaping, the download log and the background run of a big county."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries

from casework.models import Resolution, ScreenedChild, ScreeningRun
from casework.screening import selectors as screening
from casework.screening import services as screening_services
from casework.screening.services import ResolutionInput
from reporting import ledgers, xlsx
from reporting import services as reporting_services
from reporting.models import DownloadLog, ReportRun
from students import idnumber
from students.models import Student
from tests import factories as f
from tests import screening_files as files
from tests.helpers import report

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # the school days before 25 November
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EVIL = '=HYPERLINK("http://x","点我")'
# DESIGN.md §6 适龄儿童少年台账 and issue 14's list: the ledger may add columns, never drop these.
REQUIRED_HEADERS = [
    "序号",
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
SUMMARY_KEYS = [
    "total",
    "attending",
    "enrolled_absent",
    "not_enrolled",
    "resolved",
    "unresolved",
    "out_of_school",
    "suggested",
    "not_registered",
]


# --- the register -------------------------------------------------------------------------------


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    def run(user, upload, **kwargs) -> ScreeningRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = screening_services.start_import(user=user, upload=upload, **kwargs)
        run.refresh_from_db()
        assert run.status == ScreeningRun.Status.DONE, run.errors
        return run

    return run


def another_number(student) -> dict:
    """A valid 身份证号 of the student's birth date and gender that no student has (a typo in one office or
    the other), as ``files.person`` arguments: the register's row can then only be a suggestion."""
    taken = set(Student.objects.values_list("id_number", flat=True))
    female = int(student.id_number[16]) % 2 == 0
    numbers = (idnumber.make_id_number("431226", student.birth_date, seq, female) for seq in range(500))
    return {"id_number": next(n for n in numbers if n not in taken), "female": female}


def register_rows(world) -> list[dict]:
    """Households interleaved in the file (the ledger groups them); every outcome and resolution."""
    a0, a1, _a2 = world.students_a
    b0 = world.students_b[0]
    c2 = world.students_c[2]  # class C (school 2), lives in 石门村
    p = files.person
    return [
        files.of_student(a0, head="王大山", relation="子"),  # 在读且在校
        files.of_student(a1, head="李四", relation="女"),  # 名在人不在: absent on the last five days
        p("王小花", dt.date(2014, 3, 2), female=True, sequence=11, head="王大山", relation="女"),  # → 在外地就读
        p("李小草", dt.date(2012, 8, 31), sequence=12, head="李四", relation="子"),  # → 失学 (a case)
        p("赵小六", dt.date(2015, 1, 1), sequence=18, head="赵五"),  # left unresolved
        files.of_student(c2, head="赵五", relation="侄"),  # 休学 (学籍状态)
        p("钱小八", dt.date(2016, 5, 5), sequence=19, head="钱七"),  # → 延缓入学
        p("钱小九", dt.date(2013, 2, 2), sequence=20, head="钱七"),  # → 送教上门
        p("钱小十", dt.date(2014, 9, 9), sequence=23, head="钱七"),  # → 随迁就读
        p(EVIL, dt.date(2014, 6, 6), sequence=21, head="孙一"),  # a formula for a name
        p(b0.name, b0.birth_date, village="柳树村", head="周大", **another_number(b0)),  # only a suggestion
        p("周小妹", dt.date(2014, 7, 7), female=True, village="柳树村", sequence=22, head="周大", relation="女"),
    ]


def resolve(world, child: ScreenedChild, resolution: str, *, evidence: bool = False, **fields) -> None:
    upload = SimpleUploadedFile("在读证明.pdf", PDF, content_type="application/pdf") if evidence else None
    data = ResolutionInput(resolution=resolution, evidence=upload, **fields)
    screening_services.resolve(user=world.cadre, child_id=child.pk, data=data)


@pytest.fixture
def screened(world, term, today, settings, tmp_path, run_import):
    """The register imported by the bureau, and five 石门村 children resolved by the township cadre."""
    settings.MEDIA_ROOT = tmp_path
    a0, a1 = world.students_a[:2]
    Student.objects.filter(pk=a0.pk).update(left_behind=True)
    Student.objects.filter(pk=world.students_c[2].pk).update(status=Student.Status.SUSPENDED)
    f.GuardianFactory(student=world.students_a[2], name="陈监护", relation="母亲", phone="13700000000")
    for day in LAST_FIVE:
        report(world.class_a, day, [a1], by=world.teacher)
    run = run_import(world.bureau, files.csv_file(register_rows(world)))
    children = {child.name: child for child in ScreenedChild.objects.filter(run=run)}
    resolve(world, children["王小花"], Resolution.ELSEWHERE, evidence=True, school="天河小学", place="广东广州")
    resolve(world, children["李小草"], Resolution.OUT_OF_SCHOOL, note="在家务农", responsible_school_id=world.school.pk)
    resolve(world, children["钱小八"], Resolution.DEFERRED, evidence=True)
    resolve(world, children["钱小九"], Resolution.SPECIAL)
    resolve(world, children["钱小十"], Resolution.MIGRANT, place="浙江杭州")
    return run


# --- reading the file ---------------------------------------------------------------------------


def get(api, user, **params):
    return api.as_user(user).get("/api/v1/ledgers/screening.xlsx", params)


def open_book(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(response.content))


def table(ws) -> list[dict]:
    headers = [cell.value for cell in ws[3]]
    return [dict(zip(headers, row, strict=False)) for row in ws.iter_rows(min_row=4) if row[0].value is not None]


def values(rows, column: str) -> list:
    return [row[column].value for row in rows]


def by_name(rows) -> dict[str, dict]:
    return {row["姓名"].value: row for row in rows}


def ledger(api, user, **params) -> list[dict]:
    return table(open_book(get(api, user, **params))["适龄儿童少年台账"])


def names_in_scope(user, run) -> set[str]:
    """The names of the children ``user`` may see, as the file holds them (a formula escaped)."""
    return {
        xlsx.cell_text(name)
        for name in screening.children_visible_to(user).filter(run=run).values_list("name", flat=True)
    }


# --- the file -----------------------------------------------------------------------------------


def test_columns_sheets_and_frame(world, screened, api):
    wb = open_book(get(api, world.bureau))
    assert wb.sheetnames == ["适龄儿童少年台账", "乡镇汇总"]
    ws = wb["适龄儿童少年台账"]
    headers = [cell.value for cell in ws[3]]
    assert [h for h in headers if h in REQUIRED_HEADERS] == REQUIRED_HEADERS  # all there, in this order
    rows = table(ws)
    assert len(rows) == ScreenedChild.objects.filter(run=screened).count() == 17  # 12 listed + 5 在籍不在册
    assert values(rows, "序号") == list(range(1, 18))
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == f"A3:{ws.cell(row=3, column=len(headers)).column_letter}{3 + len(rows)}"
    assert ws["A1"].font.b
    assert "青山县" in ws["A1"].value
    assert "适龄儿童少年台账" in ws["A1"].value
    assert screened.title in ws["A1"].value
    assert ws["A2"].value.startswith("数据截至 2026-11-25 ")
    row = by_name(rows)[world.students_a[0].name]
    assert row["身份证号"].value == world.students_a[0].id_number
    assert row["身份证号"].number_format == "@"
    assert row["学籍号"].value == world.students_a[0].student_no
    assert row["学籍号"].number_format == "@"
    assert row["出生日期"].is_date
    assert row["出生日期"].number_format == "yyyy-mm-dd"
    assert row["出生日期"].value.date() == idnumber.birth_date_of(world.students_a[0].id_number)  # the register says it
    assert row["年龄(截止日)"].value == ScreenedChild.objects.get(run=screened, student=world.students_a[0]).age
    assert row["特殊群体"].value == "留守"
    for sheet in wb.worksheets:  # printed as the offices file them, like every ledger
        assert (sheet.page_setup.orientation, sheet.page_setup.fitToWidth) == ("landscape", 1), sheet.title
        assert sheet.print_title_rows == "$3:$3", sheet.title


def test_children_are_grouped_by_household(world, screened, api):
    rows = ledger(api, world.bureau)
    places = [(row["乡镇(街道)"].value, row["村/组"].value) for row in rows]
    # Each township and village in one block; the enrolled children the register does not list last in it.
    blocks = list(dict.fromkeys(places))
    assert len(blocks) == 2
    assert {b[0] for b in blocks} == {"清溪镇", "白沙乡"}
    assert places == sorted(places, key=blocks.index)
    for township in ("清溪镇", "白沙乡"):
        here = [row for row in rows if row["乡镇(街道)"].value == township]
        listed = [row["户序号"].value is not None for row in here]
        assert listed == sorted(listed, reverse=True)  # register households first, then 在籍不在册
    heads = [row["户主姓名"].value for row in rows if row["户序号"].value is not None]
    assert len(heads) == 12
    seen: list[str] = []
    for head in heads:  # a household's children are together (the file interleaved them)
        if not seen or seen[-1] != head:
            assert head not in seen, heads
            seen.append(head)
    assert set(seen) == {"王大山", "李四", "赵五", "钱七", "孙一", "周大"}
    numbers = [row["户序号"].value for row in rows if row["户序号"].value is not None]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 6
    # Within a household, the file's order.
    qian = [row["姓名"].value for row in rows if row["户主姓名"].value == "钱七"]
    assert qian == ["钱小八", "钱小九", "钱小十"]
    wang = [row["姓名"].value for row in rows if row["户主姓名"].value == "王大山"]
    assert wang == [world.students_a[0].name, "王小花"]


def test_each_outcome_and_its_schooling(world, screened, api):
    rows = by_name(ledger(api, world.bureau))
    a0, a1, a2 = world.students_a
    b0, b1 = world.students_b[:2]
    c2 = world.students_c[2]
    expected = {
        a0.name: ("在读:清溪镇中学 七年级(1)班", "在读且在校"),
        a1.name: ("在读:清溪镇中学 七年级(1)班", "名在人不在"),
        c2.name: ("休学", "名在人不在"),
        "王小花": ("在外地就读:天河小学、广东广州", "未在本县学籍(已核实)"),
        "李小草": ("未入学", "未在本县学籍(已核实)"),
        "赵小六": ("未入学", "未在本县学籍(待核实)"),
        "钱小八": ("延缓入学", "未在本县学籍(已核实)"),
        "钱小九": ("送教上门", "未在本县学籍(已核实)"),
        "钱小十": ("随迁就读:浙江杭州", "未在本县学籍(已核实)"),
        b0.name: ("未入学", "未在本县学籍(待核实),疑似匹配待确认"),
        a2.name: ("在读:清溪镇中学 七年级(1)班", "在籍不在册"),
        b1.name: ("在读:清溪镇中学 七年级(2)班", "在籍不在册"),
    }
    got = {name: (rows[name]["就学状态"].value, rows[name]["比对结果"].value) for name in expected}
    assert got == expected
    assert "11-18至11-24" in rows[a1.name]["佐证材料"].value
    outside = rows["王小花"]
    assert (outside["摸排人"].value, outside["佐证材料"].value) == ("cadre", "在读证明.pdf")
    assert outside["摸排日期"].value.date() == dt.date(2026, 11, 25)
    assert outside["摸排日期"].is_date
    assert rows["李小草"]["个案"].value == "疑似辍学"
    assert rows["李小草"]["备注"].value == "在家务农"
    assert rows["赵小六"]["摸排人"].value is None
    assert rows["赵小六"]["个案"].value is None
    assert rows[a2.name]["户主姓名"].value is None
    assert rows[a2.name]["户序号"].value is None
    assert rows[a2.name]["监护人/电话"].value == "陈监护 13700000000"  # from the 学籍, the register has none
    assert rows["周小妹"]["监护人/电话"].value == "周大 13800000000"
    assert rows["周小妹"]["村/组"].value == "柳树村"


def test_a_child_found_by_a_confirmed_suggestion_says_so(world, screened, api):
    b0 = world.students_b[0]
    child = ScreenedChild.objects.get(run=screened, suggested_student=b0)
    screening_services.confirm_suggestion(user=world.cadre2, child_id=child.pk)
    row = by_name(ledger(api, world.bureau))[b0.name]
    assert row["比对结果"].value == "在读且在校"
    assert row["就学状态"].value == "在读:清溪镇中学 七年级(2)班"
    assert "人工确认" in row["备注"].value
    assert row["学籍号"].value == b0.student_no


# --- scope and masking --------------------------------------------------------------------------


def test_bureau_and_principal_see_numbers_in_full_the_cadre_the_last_four(world, screened, api):
    a0 = world.students_a[0]
    for user in (world.bureau, world.principal):
        row = by_name(ledger(api, user))[a0.name]
        assert (row["身份证号"].value, row["学籍号"].value) == (a0.id_number, a0.student_no)
    rows = ledger(api, world.cadre)
    row = by_name(rows)[a0.name]
    assert row["身份证号"].value == idnumber.mask(a0.id_number)
    assert row["身份证号"].value.endswith(a0.id_number[-4:])
    assert row["学籍号"].value == idnumber.mask(a0.student_no)
    numbers = [v for row in rows for v in (row["身份证号"].value, row["学籍号"].value) if v]
    assert numbers
    assert all(v.startswith("*" * 10) for v in numbers)


def test_each_person_exports_only_the_children_they_may_see(world, screened, api):
    a0, a1, a2 = world.students_a
    b1, b2 = world.students_b[1:]
    c0, c1, c2 = world.students_c
    cadre = set(values(ledger(api, world.cadre), "姓名"))
    assert cadre == names_in_scope(world.cadre, screened)
    assert {a0.name, a2.name, "赵小六", xlsx.cell_text(EVIL)} <= cadre
    assert not cadre & {"周小妹", b1.name, c0.name}  # 白沙乡 is cadre2's
    principal = set(values(ledger(api, world.principal), "姓名"))
    assert principal == {a0.name, a1.name, a2.name, b1.name, b2.name}  # matched to 清溪镇中学, nothing else
    assert set(values(ledger(api, world.teacher), "姓名")) == {a0.name, a1.name, a2.name}
    assert set(values(ledger(api, world.principal2), "姓名")) == {c0.name, c1.name, c2.name}
    response = get(api, world.outsider)
    assert response.status_code == 404
    assert not DownloadLog.objects.filter(user=world.outsider).exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anon", 401),
        ("bureau", 200),
        ("principal", 200),
        ("teacher", 200),
        ("teacher2", 200),
        ("principal2", 200),
        ("cadre", 200),
        ("cadre2", 200),
        ("outsider", 404),
    ],
)
def test_route_by_role(world, screened, api, role, status):
    client = api if role == "anon" else api.as_user(getattr(world, role))
    assert client.get("/api/v1/ledgers/screening.xlsx").status_code == status


def test_township_village_and_school_filters(world, screened, api):
    town = ledger(api, world.bureau, township=world.township.pk)
    assert {row["乡镇(街道)"].value for row in town} == {"清溪镇"}
    assert len(town) == screening.children_visible_to(world.bureau).filter(township=world.township).count()
    village = open_book(get(api, world.cadre, village=world.village.pk))
    assert "清溪镇石门村" in village["适龄儿童少年台账"]["A1"].value
    assert {row["村/组"].value for row in table(village["适龄儿童少年台账"])} == {"石门村"}
    school2 = ledger(api, world.bureau, school=world.school2.pk)
    assert set(values(school2, "姓名")) == {c.name for c in world.students_c}
    # Out of scope: 404; not a number: 400.
    assert get(api, world.cadre, township=world.other_township.pk).status_code == 404
    assert get(api, world.cadre, village=world.other_village.pk).status_code == 404
    assert get(api, world.bureau, township=world.township.pk, village=world.other_village.pk).status_code == 404
    assert get(api, world.principal, school=world.school2.pk).status_code == 404
    assert get(api, world.bureau, township="abc").status_code == 400
    other = f.TownshipFactory(name="外县镇", county=f.CountyFactory(name="外县", code="431227"))
    assert get(api, world.bureau, township=other.pk).status_code == 404


def stored_run(county, by, status=ScreeningRun.Status.DONE) -> ScreeningRun:
    return ScreeningRun.objects.create(
        county=county,
        title="另一次户籍比对",
        cutoff_on=dt.date(2026, 8, 31),
        file="screening/x.csv",
        file_name="x.csv",
        file_size=1,
        file_sha256="0" * 64,
        status=status,
        imported_by=by,
    )


def test_a_run_out_of_scope_is_not_found_and_an_older_run_can_be_chosen(world, screened, api, run_import):
    foreign_bureau = f.UserFactory(username="foreign")
    other_county = f.CountyFactory(name="外县", code="431227")
    f.PostFactory(user=foreign_bureau, role="bureau", county=other_county)
    foreign = stored_run(other_county, foreign_bureau)
    for user in (world.bureau, world.cadre, world.principal):
        response = get(api, user, run=foreign.pk)
        assert response.status_code == 404, user
    assert get(api, foreign_bureau, run=foreign.pk).status_code == 200  # its own county's (an empty one)
    assert get(api, world.bureau, run=999999).status_code == 404
    assert get(api, world.bureau, run="x").status_code == 400
    rejected = stored_run(world.county, world.bureau, ScreeningRun.Status.REJECTED)
    assert get(api, world.bureau, run=rejected.pk).status_code == 409
    assert len(ledger(api, world.bureau)) == 17  # the latest finished run, not the rejected one
    # A newer register of one child: the default is the newest, run= still gives the older one.
    newer = run_import(world.bureau, files.csv_file([files.person("新名单", dt.date(2015, 3, 3), sequence=31)]))
    assert set(values(ledger(api, world.bureau), "姓名")) == names_in_scope(world.bureau, newer)
    assert len(ledger(api, world.bureau, run=screened.pk)) == 17


def test_no_register_yet_is_not_found_in_chinese(world, term, today, api, client):
    response = get(api, world.bureau)
    assert response.status_code == 404
    assert response.json()["detail"] == "尚未导入户籍名单"
    client.force_login(world.bureau)
    page = client.get("/ledgers/").content.decode()
    assert "尚未导入户籍名单" in page
    assert "/api/v1/ledgers/screening.xlsx" not in page


# --- the summary sheet --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["bureau", "cadre", "principal"])
def test_township_summary_equals_the_outcome_counts(world, screened, api, role):
    user = getattr(world, role)
    wb = open_book(get(api, user))
    ws = wb["乡镇汇总"]
    assert [cell.value for cell in ws[3]] == SUMMARY_HEADERS
    assert ws.freeze_panes == "A4"
    _first_col, _first_row, _last_col, last_row = range_boundaries(ws.auto_filter.ref)
    rows = table(ws)[: last_row - 3]  # the filtered table, one row a township (合计 and notes below it)
    assert rows
    children = screening.children_visible_to(user).filter(run=screened)
    towns = dict(children.order_by().values_list("township__name", "township_id").distinct())
    by_town = {row["乡镇(街道)"].value: [row[h].value for h in SUMMARY_HEADERS[1:]] for row in rows}
    assert by_town == {
        name: [screening.outcome_counts(children.filter(township_id=pk))[key] for key in SUMMARY_KEYS]
        for name, pk in towns.items()
    }
    total_row = next(r for r in ws.iter_rows(min_row=4 + len(rows)) if r[0].value == "合计")
    totals = screening.outcome_counts(children)
    assert [cell.value for cell in total_row[1:10]] == [totals[key] for key in SUMMARY_KEYS]
    assert totals["total"] == len(table(wb["适龄儿童少年台账"]))
    if role == "bureau":
        assert set(by_town) == {"清溪镇", "白沙乡"}
        assert totals["suggested"] == 1
        assert totals["out_of_school"] == 1
        assert totals["unresolved"] == 4


# --- escaping, the log, the page ----------------------------------------------------------------


def test_a_formula_in_the_register_is_written_as_text(world, screened, api):
    assert ScreenedChild.objects.filter(run=screened, name=EVIL).exists()  # the register took the name as it was
    wb = open_book(get(api, world.bureau))
    cells = [row["姓名"] for row in table(wb["适龄儿童少年台账"]) if "HYPERLINK" in (row["姓名"].value or "")]
    assert len(cells) == 1
    assert cells[0].value == "'" + EVIL
    assert cells[0].data_type == "s"


def test_the_download_is_logged(world, screened, api):
    get(api, world.cadre, township=world.township.pk)
    log = DownloadLog.objects.get()
    assert (log.user, log.what, log.county_id) == (world.cadre, "ledger_screening", world.county.pk)
    assert log.row_count == screening.children_visible_to(world.cadre).filter(run=screened).count()
    assert log.params == {"run": screened.pk, "township": world.township.pk}
    assert "适龄儿童少年台账" in log.label


def test_the_rows_take_a_fixed_number_of_queries(world, screened, run_import):
    def queries(run) -> int:
        ctx = ledgers.context_for_user(world.bureau, options={"run": run.pk})
        with CaptureQueriesContext(connection) as captured:
            ledgers.LEDGERS["screening"].write(ctx, io.BytesIO())
        return len(captured)

    small = queries(screened)
    rows = [files.person(f"多{n}", dt.date(2014, 1, 1) + dt.timedelta(days=n), sequence=100 + n) for n in range(40)]
    rows += [
        files.person(f"柳{n}", dt.date(2013, 1, 1) + dt.timedelta(days=n), village="柳树村", sequence=200 + n)
        for n in range(40)
    ]
    bigger = run_import(world.bureau, files.csv_file(rows))
    assert ScreenedChild.objects.filter(run=bigger).count() > 80
    assert queries(bigger) == small


def test_ledgers_page_lists_it_and_generates_it(world, screened, client, django_capture_on_commit_callbacks):
    client.force_login(world.bureau)
    page = client.get("/ledgers/").content.decode()
    assert "适龄儿童少年台账" in page
    assert "/api/v1/ledgers/screening.xlsx" in page
    assert 'data-ledger="screening"' in page
    rows = screening.children_visible_to(world.bureau).filter(run=screened).count()
    card = page[page.index('data-ledger="screening"') :]
    assert f'<span class="ledger-rows">{rows}</span>' in card[:600]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/ledgers/generate/", {"ledger": "screening"})
    run = ReportRun.objects.get(kind="ledger_screening")
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{run.pk}/"
    run.refresh_from_db()
    assert (run.status, run.row_count, run.data["screening_run"]) == ("done", rows, screened.pk)
    run_page = client.get(response["Location"])
    assert run_page.status_code == 200
    assert "适龄儿童少年台账" in run_page.content.decode()
    assert client.get(reverse("report-file", args=[run.pk])).status_code == 200
    assert DownloadLog.objects.get().run == run
    client.force_login(world.cadre)
    page = client.get("/ledgers/").content.decode()
    cadre_rows = screening.children_visible_to(world.cadre).filter(run=screened).count()
    card = page[page.index('data-ledger="screening"') :]
    assert f'<span class="ledger-rows">{cadre_rows}</span>' in card[:600]
    assert "生成全县台账" not in page


# --- the big county-wide export -----------------------------------------------------------------


def test_a_big_county_export_becomes_a_background_run_whose_file_reads_back(
    world, screened, api, settings, django_capture_on_commit_callbacks
):
    settings.LEDGER_DIRECT_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True):
        response = get(api, world.bureau)
    assert response.status_code == 202, response.content[:300]
    body = response.json()
    run = ReportRun.objects.get(pk=body["id"])
    assert (run.kind, run.scope_type, run.scope_id) == ("ledger_screening", "county", world.county.pk)
    assert run.status == ReportRun.Status.DONE
    assert body["kind_display"] == "适龄儿童少年台账"
    assert not DownloadLog.objects.exists()  # nothing downloaded yet
    file = api.as_user(world.bureau).get(reverse("api-report-file", args=[run.pk]))
    assert file.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(file.streaming_content) if file.streaming else file.content))
    rows = table(wb["适龄儿童少年台账"])
    assert len(rows) == run.row_count == 17
    a0 = world.students_a[0]
    assert by_name(rows)[a0.name]["身份证号"].value == a0.id_number  # the requester (bureau) sees numbers in full
    assert DownloadLog.objects.get().run == run
    # Narrowed exports stay in the request, however small the limit.
    assert get(api, world.bureau, township=world.township.pk).status_code == 200
    assert get(api, world.cadre).status_code == 200


def test_a_background_run_of_a_county_without_a_register_is_an_empty_ledger_saying_so(world, term, today):
    run = f.ReportRunFactory(
        kind="ledger_screening", period="", scope=world.county, scope_name="青山县", requested_by=world.bureau
    )
    built = reporting_services.BUILDERS["ledger_screening"](run, lambda _pct: None)
    wb = load_workbook(io.BytesIO(built.content))
    assert built.row_count == 0
    assert "尚未导入户籍名单" in wb["适龄儿童少年台账"]["A1"].value
