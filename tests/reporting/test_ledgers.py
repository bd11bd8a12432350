"""Excel ledgers: read every produced file back with openpyxl; scope, masking, escaping, logging, jobs."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from casework import selectors as case_selectors
from casework import services
from casework.models import DropoutCase
from reporting import ledgers, xlsx
from reporting import services as reporting_services
from reporting.admin import DownloadLogAdmin, ReportRunAdmin
from reporting.models import DownloadLog, ReportRun
from students import idnumber
from students.models import Student
from tests import factories as f
from tests.helpers import at, build_case

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DAY = dt.date(2026, 11, 23)  # build_case's day: reported, verified and planned then
EVIL_NAME = '=HYPERLINK("x")'

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
SIGNATORIES = ["村支书", "中心校校长", "中学校长", "乡镇分管领导", "乡镇长", "教育局包片领导"]


# --- fixtures and helpers ---------------------------------------------------------------------


def school2_case(world, student, state: str) -> DropoutCase:
    """build_case works through school 1's principal; school 2's cases go through principal2."""
    with at(DAY):
        case = services.open_case(
            user=world.principal2,
            student_id=student.pk,
            form=services.ReportForm(reason="poverty", last_attended_on=DAY - dt.timedelta(days=5)),
        )
        services.submit_report(user=world.principal2, case_id=case.pk)
        if state == "confirmed":
            services.verify_case(user=world.bureau, case_id=case.pk)
        elif state == "dismissed":
            services.dismiss_case(user=world.bureau, case_id=case.pk, reason="transferred")
    case.refresh_from_db()
    return case


@pytest.fixture
def cases(world, term, today, settings, tmp_path):
    """One case in each state, over two schools; one student with a formula for a name."""
    settings.MEDIA_ROOT = tmp_path
    a, b, c = world.students_a, world.students_b, world.students_c
    Student.objects.filter(pk=a[0].pk).update(name=EVIL_NAME)
    f.GuardianFactory(student=a[1], name="李建国", relation="父亲", phone="13912345678")
    made = {
        "escalated": build_case(world, a[1], "escalated"),
        "evil": build_case(world, a[0], "returning"),
        "suspected": build_case(world, a[2], "reported"),
        "confirmed": build_case(world, b[0], "confirmed"),
        "returned": build_case(world, b[1], "returned"),
        "closed": build_case(world, b[2], "closed"),
        "other_school": school2_case(world, c[0], "confirmed"),
        "dismissed": school2_case(world, c[1], "dismissed"),
    }
    DropoutCase.objects.filter(pk=made["closed"].pk).update(closed_on=DAY, close_basis="复学后实际到校20个上学日")
    for case in made.values():
        case.refresh_from_db()
    return made


def get(api, user, name, **params):
    return api.as_user(user).get(f"/api/v1/ledgers/{name}.xlsx", params)


def open_book(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(response.content))


def table(ws) -> list[dict]:
    """Rows below the header as {header: cell}."""
    headers = [cell.value for cell in ws[3]]
    return [dict(zip(headers, row, strict=False)) for row in ws.iter_rows(min_row=4) if row[0].value is not None]


def by_student_no(rows, column="全国学籍号") -> dict:
    return {row[column].value: row for row in rows}


def assert_text(cell, value=None):
    assert isinstance(cell.value, str)
    assert cell.number_format == "@"
    if value is not None:
        assert cell.value == value


def assert_date(cell, value):
    assert isinstance(cell.value, dt.datetime | dt.date)
    assert cell.is_date
    assert cell.number_format == "yyyy-mm-dd"
    got = cell.value.date() if isinstance(cell.value, dt.datetime) else cell.value
    assert got == value


def assert_sheet_frame(ws, headers, rows):
    assert [cell.value for cell in ws[3]] == headers
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == f"A3:{ws.cell(row=3, column=len(headers)).column_letter}{3 + rows}"
    assert ws["A1"].font.b
    assert ws["A2"].value.startswith("数据截至 2026-11-25 ")


# --- 辍学学生台账 -------------------------------------------------------------------------------


def test_dropout_ledger_for_the_bureau(world, cases, api):
    wb = open_book(get(api, world.bureau, "dropouts"))
    assert wb.sheetnames == ["辍学学生台账", "已销号"]
    ws = wb["辍学学生台账"]
    rows = table(ws)
    assert_sheet_frame(ws, DROPOUT_HEADERS, len(rows))
    assert "青山县" in ws["A1"].value
    assert "辍学学生台账" in ws["A1"].value
    on_ledger = {"escalated", "evil", "confirmed", "returned", "other_school"}
    assert set(by_student_no(rows)) == {cases[k].student.student_no for k in on_ledger}
    assert [row["序号"].value for row in rows] == list(range(1, len(rows) + 1))

    student = world.students_a[1]
    row = by_student_no(rows)[student.student_no]
    expected = {
        "县(区)": "青山县",
        "乡镇(街道)": "清溪镇",
        "村(社区)": "石门村",
        "学校": "清溪镇中学",
        "学段": "初中",
        "年级": "七年级",
        "班级": "七年级(1)班",
        "姓名": student.name,
        "民族": "汉族",
        "年龄": 13,
        "监护人姓名": "李建国",
        "与学生关系": "父亲",
        "联系电话": "13912345678",
        "辍学原因(类别)": "学习困难/厌学",
        "劝返方式": "家访谈心",
        "劝返次数": 3,
        "帮扶措施": "家访、心理辅导",
        "劝返结果": "无法联系",
        "是否发限期返校通知书": "否",
        "是否返校": "否",
        "当前状态": "联合劝返",
    }
    assert {key: row[key].value for key in expected} == expected
    assert_text(row["身份证件号码"], student.id_number)
    assert_text(row["全国学籍号"], student.student_no)
    assert_date(row["出生日期"], dt.date(2013, 5, 17))
    assert_date(row["疑似辍学发现日期"], DAY)
    assert_date(row["认定辍学日期"], DAY)
    assert_date(row["辍学时间"], cases["escalated"].dropped_out_on)
    assert_date(row["劝返时间"], dt.date(2026, 12, 31))
    assert_date(row["最近劝返日期"], DAY)
    owners = row["劝返责任人"].value
    assert owners.startswith("学校:principal、teacher")
    assert "乡镇:cadre" in owners

    returned = by_student_no(rows)[world.students_b[1].student_no]
    assert returned["是否返校"].value == "是"
    assert returned["安置方式"].value == "原班就读"
    assert_date(returned["复学日期"], DAY)

    closed = table(wb["已销号"])
    assert [r["全国学籍号"].value for r in closed] == [world.students_b[2].student_no]
    assert_date(closed[0]["销号日期"], DAY)
    assert closed[0]["销号依据"].value == "复学后实际到校20个上学日"
    assert_sheet_frame(wb["已销号"], DROPOUT_HEADERS, 1)


def test_a_formula_in_a_name_is_written_as_text(world, cases, api):
    wb = open_book(get(api, world.bureau, "dropouts"))
    row = by_student_no(table(wb.active))[world.students_a[0].student_no]
    cell = row["姓名"]
    assert cell.data_type == "s"
    assert cell.value == "'" + EVIL_NAME
    for name in ("suspected", "returns"):
        raw = get(api, world.bureau, name).content
        assert b"<f>" not in raw  # no formula anywhere in the file
        names = {cell.value for ws in load_workbook(io.BytesIO(raw)) for row in ws.iter_rows() for cell in row}
        assert "'" + EVIL_NAME in names
        assert EVIL_NAME not in names


def test_cell_text_defuses_every_formula_prefix():
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert xlsx.cell_text(value) == "'" + value
    assert xlsx.cell_text("张伟") == "张伟"
    assert xlsx.cell_text("") is None
    assert xlsx.cell_text("a\x00b\x1fc") == "abc"


# --- 疑似辍学学生台账 ---------------------------------------------------------------------------


def test_suspected_ledger_lists_pending_and_verified_cases_with_conclusions(world, cases, api):
    wb = open_book(get(api, world.bureau, "suspected"))
    ws = wb.active
    rows = table(ws)
    assert_sheet_frame(ws, SUSPECTED_HEADERS, len(rows))
    rows = by_student_no(rows, "学籍号")
    assert len(rows) == len(cases)  # every case was reported this school year

    pending = rows[world.students_a[2].student_no]
    assert pending["核实结论"].value == "待核实"
    assert pending["核实日期"].value is None
    assert pending["学校"].value == "清溪镇中学"
    assert pending["年级班级"].value == "七年级(1)班"
    assert pending["来源"].value == "学校报告"
    assert pending["疑似原因"].value == "学习困难/厌学"
    assert pending["班主任"].value == "teacher"
    assert pending["联系/家访记录"].value == 0
    assert "已上报教育局" in pending["备注"].value
    assert_text(pending["身份证号"], world.students_a[2].id_number)
    assert_text(pending["学籍号"], world.students_a[2].student_no)
    assert_date(pending["首次缺勤日期"], DAY - dt.timedelta(days=4))  # the day after the last attended

    dismissed = rows[world.students_c[1].student_no]
    assert dismissed["核实结论"].value == "转学在读"
    assert_date(dismissed["核实日期"], DAY)
    assert dismissed["转入辍学台账日期"].value is None
    assert "转学在读" in dismissed["备注"].value

    confirmed = rows[world.students_a[1].student_no]
    assert confirmed["核实结论"].value == "辍学"
    assert_date(confirmed["转入辍学台账日期"], DAY)
    assert confirmed["联系/家访记录"].value == 3


# --- 劝返清单 -----------------------------------------------------------------------------------


def test_returns_list_has_counts_rosters_and_signatures(world, cases, api):
    wb = open_book(get(api, world.bureau, "returns"))
    assert wb.sheetnames == ["汇总", "辍学学生名单", "已返校名单", "未返校名单"]
    summary = wb["汇总"]
    assert [cell.value for cell in summary[3]] == ["乡镇(街道)", "辍学", "已返校", "未返校", None, None]
    counts = {row[0].value: [c.value for c in row[1:4]] for row in summary.iter_rows(min_row=4) if row[0].value}
    # 清溪镇: the three class A students; 白沙乡 (柳树村): class B and the school 2 student.
    assert counts["清溪镇"] == [2, 0, 2]
    assert counts["白沙乡"] == [4, 2, 2]
    assert counts["合计"] == [6, 2, 4]
    assert summary.freeze_panes == "A4"
    assert summary.auto_filter.ref == "A3:D5"
    cells = [cell.value for row in summary.iter_rows() for cell in row]
    for name in SIGNATORIES:
        assert name in cells

    expected = {
        "辍学学生名单": {"escalated", "evil", "confirmed", "returned", "closed", "other_school"},
        "已返校名单": {"returned", "closed"},
        "未返校名单": {"escalated", "evil", "confirmed", "other_school"},
    }
    for sheet, keys in expected.items():
        ws = wb[sheet]
        rows = table(ws)
        assert_sheet_frame(ws, RETURNS_HEADERS, len(rows))
        assert set(by_student_no(rows, "学籍号")) == {cases[k].student.student_no for k in keys}
        for row in rows:
            assert_text(row["身份证号"])
            assert_text(row["学籍号"])
            assert_date(row["认定辍学日期"], DAY)
    row = by_student_no(table(wb["已返校名单"]), "学籍号")[world.students_b[1].student_no]
    assert row["安置方式"].value == "原班就读"
    assert row["当前状态"].value == "已复学"


# --- scope and masking ------------------------------------------------------------------------


def id_cells(wb) -> list:
    cells = []
    for ws in wb:
        headers = [cell.value for cell in ws[3]]
        for column in ("身份证件号码", "身份证号"):
            if column in headers:
                index = headers.index(column)
                cells += [row[index] for row in ws.iter_rows(min_row=4) if row[0].value is not None]
    return cells


@pytest.mark.parametrize("name", ["dropouts", "suspected", "returns"])
def test_teacher_sees_masked_id_numbers_and_principal_full_ones(world, cases, api, name):
    teacher_cells = id_cells(open_book(get(api, world.teacher, name)))
    assert teacher_cells
    for cell in teacher_cells:
        assert_text(cell)
        assert cell.value.startswith("**************")
        assert len(cell.value) == 18
    full = {s.id_number for s in Student.objects.all()}
    for cell in id_cells(open_book(get(api, world.principal, name))):
        assert cell.value in full


@pytest.mark.parametrize("name", ["dropouts", "suspected", "returns"])
def test_principal2_sees_none_of_school_1(world, cases, api, name):
    wb = open_book(get(api, world.principal2, name))
    school1 = set(Student.objects.filter(school=world.school).values_list("student_no", flat=True))
    seen = {cell.value for ws in wb for row in ws.iter_rows(min_row=4) for cell in row if isinstance(cell.value, str)}
    assert not seen & school1
    assert world.students_c[0].student_no in seen
    assert "清溪镇中学" not in seen


def test_teacher_export_holds_only_their_class_and_the_cases_they_own(world, cases, api):
    rows = table(open_book(get(api, world.teacher, "suspected")).active)
    numbers = case_selectors.cases_visible_to(world.teacher).values_list("student__student_no", flat=True)
    visible = {idnumber.mask(n) for n in numbers}  # a teacher's file holds the 学籍号 masked (issue 12, item 1)
    assert rows
    assert {row["学籍号"].value for row in rows} <= visible
    assert idnumber.mask(world.students_c[1].student_no) not in {row["学籍号"].value for row in rows}
    assert not {row["学籍号"].value for row in rows} & set(numbers)


@pytest.mark.parametrize("name", ["dropouts", "suspected", "returns"])
def test_outsider_and_foreign_school_get_404(world, cases, api, name):
    assert get(api, world.outsider, name).status_code == 404
    assert get(api, world.principal2, name, school=world.school.pk).status_code == 404
    assert get(api, world.teacher, name, classroom=world.class_b.pk).status_code == 404
    assert get(api, world.bureau, name, school="abc").status_code == 400
    assert not DownloadLog.objects.exists()


def test_screening_before_any_register_and_an_unknown_ledger_are_not_found(world, api):
    """The 适龄儿童少年台账 itself is tested in test_ledger_screening.py."""
    response = get(api, world.bureau, "screening")
    assert response.status_code == 404
    assert response.json()["detail"] == "尚未导入户籍名单"
    assert get(api, world.bureau, "nonsense").status_code == 404
    assert not DownloadLog.objects.exists()


def test_school_and_class_filters(world, cases, api):
    rows = table(open_book(get(api, world.bureau, "dropouts", school=world.school2.pk)).active)
    assert [row["全国学籍号"].value for row in rows] == [world.students_c[0].student_no]
    wb = open_book(get(api, world.principal, "dropouts", classroom=world.class_b.pk))
    assert {row["全国学籍号"].value for row in table(wb.active)} == {
        world.students_b[0].student_no,
        world.students_b[1].student_no,
    }
    assert "七年级(2)班" in wb.active["A1"].value


# --- download log -----------------------------------------------------------------------------


def test_every_download_is_logged_and_the_bureau_sees_its_county(world, cases, api):
    get(api, world.principal, "dropouts")
    get(api, world.principal2, "returns", school=world.school2.pk)
    get(api, world.teacher, "suspected")
    principal_log = DownloadLog.objects.get(user=world.principal)
    assert principal_log.what == "ledger_dropouts"
    assert principal_log.row_count == 5  # four on the ledger, one struck off this year
    assert principal_log.school_id == world.school.pk
    assert principal_log.county_id == world.county.pk
    assert principal_log.ip_address == "127.0.0.1"
    assert "辍学学生台账" in principal_log.label
    other = DownloadLog.objects.get(user=world.principal2)
    assert (other.row_count, other.school_id, other.params) == (1, world.school2.pk, {"school": world.school2.pk})
    assert DownloadLog.objects.get(user=world.teacher).school_id == world.school.pk

    listed = api.as_user(world.bureau).get("/api/v1/downloads/").json()
    assert listed["count"] == 3
    assert {row["username"] for row in listed["results"]} == {"principal", "principal2", "teacher"}
    assert {row["row_count"] for row in listed["results"]} >= {5, 1}
    mine = api.as_user(world.principal2).get("/api/v1/downloads/").json()
    assert [row["username"] for row in mine["results"]] == ["principal2"]
    assert api.as_user(world.principal).get("/api/v1/downloads/").json()["count"] == 1
    assert api.as_user(world.outsider).get("/api/v1/downloads/").json()["count"] == 0

    api.as_user(world.bureau)
    assert api.get("/api/v1/downloads/", {"user": world.teacher.pk}).json()["count"] == 1
    assert api.get("/api/v1/downloads/", {"what": "ledger_returns"}).json()["count"] == 1
    assert api.get("/api/v1/downloads/", {"date": "2026-11-25"}).json()["count"] == 3
    assert api.get("/api/v1/downloads/", {"date": "2026-11-24"}).json()["count"] == 0


def test_download_log_page_for_the_bureau(world, cases, client, api):
    get(api, world.principal, "dropouts")
    get(api, world.principal2, "dropouts")
    client.force_login(world.bureau)
    page = client.get("/downloads/").content.decode()
    assert page.count("辍学学生台账(") == 2
    client.force_login(world.principal2)
    page = client.get("/downloads/").content.decode()
    assert "清溪镇中学" not in page
    assert page.count("辍学学生台账(") == 1
    client.force_login(world.outsider)
    assert client.get("/downloads/").status_code == 404


def test_log_download_for_a_finished_run(world, rf):
    run = f.ReportRunFactory(kind="ledger_dropouts", period="", scope_type="school", scope=world.school)
    request = rf.get("/", REMOTE_ADDR="10.0.0.7")
    log = reporting_services.log_download(
        world.principal, what=run.kind, label=str(run), row_count=12, run=run, request=request
    )
    assert (log.school_id, log.county_id, log.ip_address, log.run_id) == (
        world.school.pk,
        world.county.pk,
        "10.0.0.7",
        run.pk,
    )
    assert log.params == {"run": run.pk}


# --- county-wide jobs -------------------------------------------------------------------------


def test_big_county_wide_export_runs_as_a_job(world, cases, api, settings, django_capture_on_commit_callbacks):
    settings.LEDGER_DIRECT_MAX_ROWS = 3
    with django_capture_on_commit_callbacks(execute=True):
        response = get(api, world.bureau, "dropouts")
    assert response.status_code == 202
    body = response.json()
    assert body["kind"] == "ledger_dropouts"
    assert body["scope_type"] == "county"
    assert body["url"] == f"/reports/{body['id']}/"
    assert response["Location"] == body["url"]
    run = ReportRun.objects.get(pk=body["id"])
    assert run.status == "done"
    assert run.row_count == 6
    wb = load_workbook(io.BytesIO(run.file.read()))
    assert len(table(wb["辍学学生台账"])) == 5
    assert all(cell.value in {s.id_number for s in Student.objects.all()} for cell in id_cells(wb))
    assert not DownloadLog.objects.exists()  # logged when the file is fetched, not when it is built
    # A school's ledger is still answered at once; so is a principal's.
    assert get(api, world.bureau, "dropouts", school=world.school.pk).status_code == 200
    assert get(api, world.principal, "dropouts").status_code == 200


@pytest.mark.parametrize("kind", ["ledger_dropouts", "ledger_suspected", "ledger_returns"])
def test_county_run_builds_a_file_that_opens(world, cases, kind):
    run, created = reporting_services.request_run(user=world.bureau, kind=kind, scope_type="county")
    assert created
    run = reporting_services.execute_run(run.pk)
    assert run.status == "done"
    wb = load_workbook(io.BytesIO(run.file.read()))
    assert wb.active.freeze_panes == "A4"
    assert run.row_count > 0
    assert run.data["rows"] == run.row_count
    assert run.file.name.endswith(".xlsx")


def test_runs_without_a_requester_or_for_a_class_are_masked(world, cases):
    county, _ = reporting_services.request_system_run(
        kind="ledger_dropouts", period="", scope_type="county", scope_id=world.county.pk, name="青山县"
    )
    classroom, _ = reporting_services.request_run(
        user=world.bureau, kind="ledger_suspected", scope_type="classroom", scope_id=world.class_a.pk
    )
    for run in (county, classroom):
        wb = load_workbook(io.BytesIO(reporting_services.execute_run(run.pk).file.read()))
        cells = id_cells(wb)
        assert cells
        assert all(cell.value.startswith("*") for cell in cells)


def test_asking_again_joins_a_running_job_and_later_builds_a_fresh_one(world, cases):
    first, created = reporting_services.request_county_ledger(world.bureau, "ledger_returns")
    assert created
    again, created = reporting_services.request_county_ledger(world.bureau, "ledger_returns")
    assert (again.pk, created) == (first.pk, False)
    reporting_services.execute_run(first.pk)
    fresh, created = reporting_services.request_county_ledger(world.bureau, "ledger_returns")
    assert created
    assert fresh.generation == 2


# --- pages ------------------------------------------------------------------------------------


def test_ledgers_page_for_the_bureau_and_generate(world, cases, client, settings, django_capture_on_commit_callbacks):
    client.force_login(world.bureau)
    page = client.get("/ledgers/").content.decode()
    for title in ("辍学学生台账", "疑似辍学学生台账", "劝返清单", "生成全县台账", "白沙乡中学"):
        assert title in page
    assert "/api/v1/ledgers/dropouts.xlsx" in page
    filtered = client.get("/ledgers/", {"school": world.school2.pk}).content.decode()
    assert f"/api/v1/ledgers/returns.xlsx?school={world.school2.pk}" in filtered
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/ledgers/generate/", {"ledger": "suspected"})
    run = ReportRun.objects.get(kind="ledger_suspected")
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{run.pk}/"
    assert client.post("/ledgers/generate/", {"ledger": "nonsense"}).status_code == 404


def test_ledgers_page_for_teacher_outsider_and_foreign_school(world, cases, client):
    client.force_login(world.teacher)
    page = client.get("/ledgers/").content.decode()
    assert "生成全县台账" not in page
    assert "只显示后4位" in page
    assert client.post("/ledgers/generate/", {"ledger": "dropouts"}).status_code == 404
    assert not ReportRun.objects.exists()
    client.force_login(world.principal2)
    assert client.get("/ledgers/", {"school": world.school.pk}).status_code == 404
    client.force_login(world.outsider)
    assert client.get("/ledgers/").status_code == 404


def test_row_counts_in_scope(world, cases):
    bureau = ledgers.row_counts(ledgers.context_for_user(world.bureau))
    assert (bureau["on_ledger"], bureau["closed"], bureau["suspected"], bureau["returned"]) == (5, 1, 8, 2)
    principal2 = ledgers.row_counts(ledgers.context_for_user(world.principal2))
    assert (principal2["dropouts"], principal2["suspected"]) == (1, 2)


# --- admin ------------------------------------------------------------------------------------


def test_admin_is_read_only_and_scoped(world, cases, rf, api):
    from django.contrib.admin.sites import site

    get(api, world.principal, "dropouts")
    get(api, world.principal2, "dropouts")
    for user, expected in ((world.bureau, 2), (world.principal2, 1)):
        request = rf.get("/admin/")
        request.user = user
        admin = DownloadLogAdmin(DownloadLog, site)
        assert admin.get_queryset(request).count() == expected
        assert not admin.has_change_permission(request)
        assert not admin.has_add_permission(request)
        assert not admin.has_delete_permission(request)
    run, _ = reporting_services.request_run(user=world.principal, kind="ledger_dropouts", scope_type="school")
    request = rf.get("/admin/")
    request.user = world.principal2
    assert ReportRunAdmin(ReportRun, site).get_queryset(request).count() == 0
    request.user = world.bureau
    assert list(ReportRunAdmin(ReportRun, site).get_queryset(request)) == [run]


# --- queries ----------------------------------------------------------------------------------


def _queries(user, writer) -> int:
    with CaptureQueriesContext(connection) as captured:
        writer(user, out=io.BytesIO())
    return len(captured)


def test_ledger_queries_do_not_grow_with_rows(world, term, today, settings, tmp_path):
    writers = (ledgers.write_dropouts, ledgers.write_suspected, ledgers.write_returns)
    states = ["returning", "reported", "returned"]
    for index, student in enumerate(world.students_a):
        build_case(world, student, states[index])
    small = {w.__name__: _queries(world.bureau, w) for w in writers}
    for index in range(12):
        student = f.StudentFactory(classroom=world.class_a, village=world.village)
        f.GuardianFactory(student=student)
        build_case(world, student, ["returning", "reported", "returned", "escalated"][index % 4])
    assert DropoutCase.objects.count() == 15
    large = {w.__name__: _queries(world.bureau, w) for w in writers}
    assert large == small
    out = io.BytesIO()
    assert ledgers.write_dropouts(world.bureau, out=out) == 11  # the four still suspected are not on it
    assert len(table(load_workbook(io.BytesIO(out.getvalue())).active)) == 11


# The cadre: the two dropouts among the township's residents (class A). Class B's plans name cadre2,
# the cadre of their own township (a plan may name only the student's township's cadre, issue 12).
@pytest.mark.parametrize(("who", "dropouts"), [("principal", 5), ("cadre", 2), ("principal2", 1)])
def test_ledgers_page_counts_what_each_role_may_export(world, cases, client, who, dropouts):
    client.force_login(getattr(world, who))
    response = client.get("/ledgers/")
    assert response.status_code == 200
    cards = {card["slug"]: card for card in response.context["cards"]}
    assert cards["dropouts"]["rows"] == dropouts
    assert cards["screening"]["missing"] == "尚未导入户籍名单"  # no register imported in this world
    assert all(card["direct"] for card in cards.values() if not card["missing"])
    assert "生成全县台账" not in response.content.decode()
