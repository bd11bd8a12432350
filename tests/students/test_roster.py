"""Roster import: all rows or none, every problem listed, scoped to what the user may manage."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from students import idnumber
from students.models import Guardian, Student
from students.roster import services as roster
from tests import factories as f

IMPORT_URL = "/api/v1/students/import/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BORN = dt.date(2014, 3, 1)


def id_for(i: int, born: dt.date = BORN, female: bool = False) -> str:
    return idnumber.make_id_number("431227", born, i, female)


def student_row(i: int = 1, **overrides) -> dict:
    """A valid row for a boy in 七年级(1)班; ``overrides`` are keyed by Chinese header."""
    row = {
        "班级": "七年级(1)班",
        "姓名": f"测试{i}",
        "性别": "男",
        "出生日期": BORN.isoformat(),
        "全国学籍号": f"T{i:012d}",
        "身份证号": id_for(i),
        "民族": "汉族",
        "户籍村(社区)": "石门村",
        "现住址": "清溪镇石门村3组",
        "寄宿": "否",
        "留守儿童": "是",
        "监护人姓名": f"家长{i}",
        "与学生关系": "父亲",
        "监护人电话": "13800000000",
        "监护人是否外出务工": "是",
    }
    row.update(overrides)
    return row


def matching_id(i: int, number: str) -> dict:
    """A row whose birth date and gender agree with an existing ``number``."""
    born = idnumber.birth_date_of(number)
    return student_row(i, 身份证号=number, 出生日期=born.isoformat(), 性别="男" if int(number[16]) % 2 else "女")


def xlsx_bytes(rows: list[dict], headers: list[str] | None = None) -> bytes:
    headers = list(roster.COLUMNS) if headers is None else headers
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "花名册.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX)


def post(api, user, content: bytes | None = None, *, name: str = "花名册.xlsx", school=None):
    data = {}
    if content is not None:
        data["file"] = upload(content, name)
    if school is not None:
        data["school"] = school
    return api.as_user(user).post(IMPORT_URL, data, format="multipart")


def problems(response) -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in response.json()["errors"]}


def messages(response) -> str:
    return " ".join(e["message"] for e in response.json()["errors"])


# --- happy path ---------------------------------------------------------------------------------


def test_principal_imports_students_with_guardians(world, api):
    before = Student.objects.count()
    rows = [
        student_row(1),
        student_row(
            2, 班级="七年级(2)班", 性别="女", 身份证号=id_for(2, female=True), **{"户籍村(社区)": "白沙乡柳树村"}
        ),
        student_row(3, 身份证号="", 监护人姓名="", 与学生关系="", 监护人电话="", 监护人是否外出务工="", 民族=""),
    ]

    response = post(api, world.principal, xlsx_bytes(rows))

    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 3, "updated": 0}
    assert Student.objects.count() == before + 3
    first = Student.objects.get(student_no="T000000000001")
    assert (first.school, first.classroom, first.village) == (world.school, world.class_a, world.village)
    assert (first.gender, first.birth_date, first.id_number) == ("M", BORN, id_for(1))
    assert first.left_behind is True
    assert first.boarding is False
    assert first.name_pinyin == "ceshi1"
    guardian = first.guardians.get()
    assert (guardian.name, guardian.relation, guardian.phone, guardian.works_away) == (
        "家长1",
        "父亲",
        "13800000000",
        True,
    )
    second = Student.objects.get(student_no="T000000000002")
    assert (second.classroom, second.village, second.gender) == (world.class_b, world.other_village, "F")
    third = Student.objects.get(student_no="T000000000003")
    assert (third.id_number, third.ethnicity, third.guardians.count()) == ("", "汉族", 0)


def test_import_writes_history_naming_the_importer(world, api):
    post(api, world.principal, xlsx_bytes([student_row(1)]))

    record = Student.objects.get(student_no="T000000000001").history.get()
    assert record.history_type == "+"
    assert record.history_user == world.principal
    assert record.history_change_reason == roster.CHANGE_REASON


def test_reimport_updates_and_never_duplicates(world, api):
    rows = [student_row(i) for i in range(1, 4)]
    post(api, world.principal, xlsx_bytes(rows))
    students, guardians = Student.objects.count(), Guardian.objects.count()

    response = post(api, world.principal, xlsx_bytes(rows))

    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 3}
    assert (Student.objects.count(), Guardian.objects.count()) == (students, guardians)


def test_reimport_changes_fields_replaces_same_named_guardian_and_adds_new_one(world, api):
    post(api, world.principal, xlsx_bytes([student_row(1), student_row(2)]))
    changed = [
        student_row(1, 姓名="改名", 班级="七年级(2)班", 监护人电话="13900000000", 监护人是否外出务工="否"),
        student_row(2, 监护人姓名="祖母甲", 与学生关系="祖母"),
    ]

    response = post(api, world.principal, xlsx_bytes(changed))

    assert response.json() == {"created": 0, "updated": 2}
    first = Student.objects.get(student_no="T000000000001")
    assert (first.name, first.classroom) == ("改名", world.class_b)
    assert list(first.guardians.values_list("name", "phone", "works_away")) == [("家长1", "13900000000", False)]
    assert first.history.first().history_type == "~"
    assert first.history.first().history_user == world.principal
    second = Student.objects.get(student_no="T000000000002")
    assert sorted(second.guardians.values_list("name", flat=True)) == ["家长2", "祖母甲"]


def test_reimport_can_change_every_column(world, api):
    post(api, world.principal, xlsx_bytes([student_row(1), student_row(2)]))
    born = dt.date(2013, 9, 30)
    changes = {
        "班级": "七年级(2)班",
        "姓名": "新名字",
        "性别": "女",
        "出生日期": born,
        "身份证号": id_for(7, born, female=True),
        "民族": "土家族",
        "户籍村(社区)": "柳树村",
        "现住址": "白沙乡柳树村1组",
        "寄宿": "是",
        "留守儿童": "否",
        "与学生关系": "母亲",
        "监护人电话": "0731-12345678",
        "监护人是否外出务工": "否",
    }

    response = post(api, world.principal, xlsx_bytes([student_row(1, **changes), student_row(2)]))

    assert response.json() == {"created": 0, "updated": 2}
    student = Student.objects.get(student_no="T000000000001")
    assert (student.classroom, student.school, student.name, student.name_pinyin) == (
        world.class_b,
        world.school,
        "新名字",
        "xinmingzi",
    )
    assert (student.gender, student.birth_date, student.id_number) == ("F", born, id_for(7, born, female=True))
    assert (student.ethnicity, student.village, student.address) == ("土家族", world.other_village, "白沙乡柳树村1组")
    assert (student.boarding, student.left_behind) == (True, False)
    assert list(student.guardians.values_list("relation", "phone", "works_away")) == [("母亲", "0731-12345678", False)]
    untouched = Student.objects.get(student_no="T000000000002")
    assert (untouched.name, untouched.classroom, untouched.history.count()) == ("测试2", world.class_a, 1)
    assert student.history.count() == 2


def test_blank_optional_cells_keep_existing_values(world, api):
    post(api, world.principal, xlsx_bytes([student_row(1)]))

    blanks = {"身份证号": "", "户籍村(社区)": "", "现住址": "", "留守儿童": "", "民族": ""}
    post(api, world.principal, xlsx_bytes([student_row(1, **blanks)]))

    student = Student.objects.get(student_no="T000000000001")
    assert (student.id_number, student.village, student.address) == (id_for(1), world.village, "清溪镇石门村3组")
    assert student.left_behind is True


def test_cells_in_other_forms_are_understood(world, api):
    rows = [
        # numbers instead of text, a real date cell, full-width brackets and spaces in the name
        student_row(1, 全国学籍号=431227201403011, 出生日期=dt.datetime(2014, 3, 1)),
        student_row(2, 出生日期="2014/3/1", 班级="七年级(1)班", 姓名="  王　小  "),
        student_row(3, 出生日期=20140301, 班级="七年级1班", 监护人电话=13800000001),
        student_row(4, 出生日期="2014年3月1日", **{"户籍村(社区)": "清溪镇 石门村"}),
        student_row(5, 出生日期=41699),  # an Excel serial number (2014-03-01) in a General cell
    ]

    response = post(api, world.principal, xlsx_bytes(rows))

    assert response.status_code == 200, response.json()
    numbered = Student.objects.get(student_no="431227201403011")
    assert numbered.id_number == id_for(1)
    assert Student.objects.get(student_no="T000000000002").name == "王小"
    assert Student.objects.filter(student_no__startswith="T", birth_date=BORN).count() == 4
    assert Guardian.objects.get(student__student_no="T000000000003").phone == "13800000001"
    assert Student.objects.get(student_no="T000000000004").village == world.village


def test_id_number_stored_as_number_is_refused_with_a_hint(world, api):
    # Excel (and openpyxl) keep 15 significant digits of a number: an 18-digit ID cell is already damaged.
    response = post(api, world.principal, xlsx_bytes([student_row(1, 身份证号=int(id_for(1)))]))

    assert response.status_code == 400
    assert problems(response) == {(2, "身份证号")}
    assert "文本" in messages(response)


def test_title_rows_above_the_header_are_tolerated(world, api):
    wb = load_workbook(io.BytesIO(xlsx_bytes([student_row(1), student_row(2, 性别="?")])))
    wb.active.insert_rows(1, amount=2)
    wb.active["A1"] = "清溪镇中学2026年秋季学生花名册"
    out = io.BytesIO()
    wb.save(out)

    response = post(api, world.principal, out.getvalue())

    assert problems(response) == {(5, "性别")}  # the real Excel row number


def test_headers_may_be_reordered_and_extra_columns_are_ignored(world, api):
    headers = ["备注", *reversed(roster.COLUMNS)]
    response = post(api, world.principal, xlsx_bytes([student_row(1, 备注="随便写")], headers=headers))

    assert response.status_code == 200, response.json()
    assert Student.objects.filter(student_no="T000000000001").exists()


# --- rejections: 400, everything listed, nothing written ----------------------------------------


def _with(**overrides):
    return lambda world: [student_row(1), student_row(2, **overrides)]


REJECTIONS = {
    "missing name": (_with(姓名=""), 3, "姓名", "不能为空"),
    "missing classroom": (_with(班级=None), 3, "班级", "不能为空"),
    "missing student no": (_with(全国学籍号=""), 3, "全国学籍号", "不能为空"),
    "bad id checksum": (
        _with(身份证号=id_for(2)[:-1] + ("0" if id_for(2)[-1] != "0" else "1")),
        3,
        "身份证号",
        "校验位",
    ),
    "bad id length": (_with(身份证号="43122720140301"), 3, "身份证号", "18位"),
    "id birth date differs": (_with(出生日期="2014-03-02"), 3, "出生日期", "不一致"),
    "gender differs from id": (_with(性别="女"), 3, "性别", "身份证号"),
    "bad gender": (_with(性别="男生"), 3, "性别", "男"),
    "bad date": (_with(出生日期="2014-13-45", 身份证号=""), 3, "出生日期", "无法识别"),
    "date words": (_with(出生日期="不详", 身份证号=""), 3, "出生日期", "无法识别"),
    "future date": (
        _with(出生日期=(dt.date.today() + dt.timedelta(days=3)).isoformat(), 身份证号=""),
        3,
        "出生日期",
        "晚于今天",
    ),
    "bad yes/no": (_with(寄宿="住校"), 3, "寄宿", "是"),
    "guardian without relation": (_with(与学生关系=""), 3, "与学生关系", "关系"),
    "bad phone": (_with(监护人电话="打不通"), 3, "监护人电话", "格式"),
    "unknown classroom": (_with(班级="九年级(9)班"), 3, "班级", "找不到班级"),
    "unknown village": (_with(**{"户籍村(社区)": "不存在村"}), 3, "户籍村(社区)", "没有"),
    "duplicate student no in file": (_with(全国学籍号="T000000000001"), 3, "全国学籍号", "第2行"),
    "duplicate id in file": (_with(身份证号=id_for(1)), 3, "身份证号", "第2行"),
    "id used by another student": (lambda w: [matching_id(1, w.students_a[0].id_number)], 2, "身份证号", "另一名学生"),
    "student of another school": (
        lambda w: [student_row(1, 全国学籍号=w.students_c[0].student_no, 身份证号="")],
        2,
        "全国学籍号",
        # Not where the number is used: that student is outside the principal's scope (issue 12).
        "该学籍号不能在此导入;如该学生应转入本校,请联系教育局办理转学",
    ),
}


@pytest.mark.parametrize("case", REJECTIONS.values(), ids=REJECTIONS.keys())
def test_bad_row_rejects_the_whole_file(world, api, case):
    build, row, field, message = case
    before = Student.objects.count(), Guardian.objects.count()

    response = post(api, world.principal, xlsx_bytes(build(world)))

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "导入失败:共1处错误,未写入任何数据", body
    assert problems(response) == {(row, field)}
    assert message in messages(response)
    assert (Student.objects.count(), Guardian.objects.count()) == before


def test_id_number_error_uses_the_validator_message(world, api):
    bad = "43122720140301001X"
    with pytest.raises(ValidationError) as expected:
        idnumber.validate_id_number(bad)

    response = post(api, world.principal, xlsx_bytes([student_row(1, 身份证号=bad)]))

    assert response.json()["errors"][0]["message"] == expected.value.messages[0]


def test_every_problem_is_listed_at_once(world, api):
    rows = [student_row(i) for i in range(1, 11)]
    rows[2]["性别"] = "?"
    rows[5]["班级"] = "八年级(3)班"
    rows[5]["出生日期"] = "明天"
    rows[9]["全国学籍号"] = rows[0]["全国学籍号"]
    before = Student.objects.count()

    response = post(api, world.principal, xlsx_bytes(rows))

    assert response.status_code == 400
    assert response.json()["detail"] == "导入失败:共4处错误,未写入任何数据"
    assert problems(response) == {(4, "性别"), (7, "班级"), (7, "出生日期"), (11, "全国学籍号")}
    assert "第2行" in messages(response)
    assert Student.objects.count() == before


def test_one_bad_row_among_many_good_writes_nothing(world, api):
    rows = [student_row(i) for i in range(1, 51)]
    rows[30]["身份证号"] = "123"
    before = Student.objects.count(), Guardian.objects.count()

    response = post(api, world.principal, xlsx_bytes(rows))

    assert response.status_code == 400
    assert problems(response) == {(32, "身份证号")}
    assert (Student.objects.count(), Guardian.objects.count()) == before


def test_ambiguous_village_name_must_name_the_township(world, api):
    f.VillageFactory(township=world.other_township, name="石门村")

    response = post(api, world.principal, xlsx_bytes([student_row(1)]))

    assert response.status_code == 400
    assert problems(response) == {(2, "户籍村(社区)")}
    assert "乡镇+村" in messages(response)
    named = student_row(1, **{"户籍村(社区)": "清溪镇石门村"})
    assert post(api, world.principal, xlsx_bytes([named])).status_code == 200


def test_write_conflict_rolls_back_everything(world, api, monkeypatch):
    """If another writer takes a 学籍号 between the check and the write, nothing at all is written."""
    monkeypatch.setattr(roster, "_check_against_database", lambda *args: {})
    taken = world.students_b[0].student_no
    before = Student.objects.count(), Guardian.objects.count()

    response = post(api, world.principal, xlsx_bytes([student_row(1), student_row(2, 全国学籍号=taken, 身份证号="")]))

    assert response.status_code == 400
    assert "重新导入" in file_problem(response)
    assert (Student.objects.count(), Guardian.objects.count()) == before


def file_problem(response) -> str:
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(0, "文件")]
    return errors[0]["message"]


def test_no_file(world, api):
    response = post(api, world.principal)

    assert response.status_code == 400
    assert file_problem(response) == "请选择要上传的文件"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"name,gender\n", "roster.csv"),
        (b"\xd0\xcf\x11\xe0 old excel", "roster.xls"),
        (b"not a zip at all", "roster.xlsx"),
        (b"PK\x05\x06" + b"\0" * 18, "roster.xlsx"),  # an empty zip archive
    ],
    ids=["csv", "xls", "garbage-named-xlsx", "empty-zip"],
)
def test_wrong_file_type(world, api, content, name):
    before = Student.objects.count()

    response = post(api, world.principal, content, name=name)

    assert response.status_code == 400
    assert file_problem(response) == "文件格式错误,请上传 .xlsx 格式的花名册"
    assert Student.objects.count() == before


def test_file_too_big(world, api, settings):
    content = xlsx_bytes([student_row(1)])
    settings.ROSTER_IMPORT_MAX_BYTES = len(content) - 1

    response = post(api, world.principal, content)

    assert response.status_code == 400
    assert file_problem(response).startswith("文件超过")
    assert not Student.objects.filter(student_no="T000000000001").exists()


def test_file_size_limit_message_says_5mb(world, api):
    content = b"PK" + b"\0" * (5 * 1024 * 1024)

    response = post(api, world.principal, content)

    assert file_problem(response).startswith("文件超过5MB")


def test_empty_file(world, api):
    response = post(api, world.principal, b"")

    assert response.status_code == 400
    assert "没有学生数据" in file_problem(response) or "为空" in file_problem(response)


def test_header_only_file_has_no_data(world, api):
    response = post(api, world.principal, xlsx_bytes([]))

    assert response.status_code == 400
    assert "文件中没有学生数据" in file_problem(response)


def test_blank_workbook_has_no_data(world, api):
    response = post(api, world.principal, xlsx_bytes([], headers=[]))

    assert response.status_code == 400
    assert "文件中没有学生数据" in file_problem(response)


def test_too_many_rows(world, api, monkeypatch):
    monkeypatch.setattr(roster, "MAX_ROWS", 3)

    response = post(api, world.principal, xlsx_bytes([student_row(i) for i in range(1, 6)]))

    assert response.status_code == 400
    assert file_problem(response).startswith("单次最多导入3名学生")


def test_missing_required_header(world, api):
    headers = [h for h in roster.COLUMNS if h not in ("性别", "全国学籍号")]
    before = Student.objects.count()

    response = post(api, world.principal, xlsx_bytes([student_row(1)], headers=headers))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(0, "文件")]
    assert "性别" in errors[0]["message"]
    assert "全国学籍号" in errors[0]["message"]
    assert Student.objects.count() == before


# --- scoping -----------------------------------------------------------------------------------


def test_teacher_imports_into_own_class(world, api):
    response = post(api, world.teacher, xlsx_bytes([student_row(1)]))

    assert response.status_code == 200
    assert Student.objects.get(student_no="T000000000001").classroom == world.class_a


def test_teacher_cannot_import_into_colleagues_class(world, api):
    before = Student.objects.count()

    response = post(api, world.teacher, xlsx_bytes([student_row(1), student_row(2, 班级="七年级(2)班")]))

    assert response.status_code == 400
    assert problems(response) == {(3, "班级")}
    assert "找不到班级" in messages(response)
    assert Student.objects.count() == before


def test_teacher_cannot_take_over_colleagues_student(world, api):
    taken = world.students_b[0]
    row = student_row(1, 全国学籍号=taken.student_no, 身份证号="", 出生日期=taken.birth_date.isoformat())

    response = post(api, world.teacher, xlsx_bytes([row]))

    assert response.status_code == 400
    assert problems(response) == {(2, "全国学籍号")}
    taken.refresh_from_db()
    assert taken.classroom == world.class_b


def test_principal2_cannot_import_into_school1(world, api):
    before = Student.objects.count()

    chosen = post(api, world.principal2, xlsx_bytes([student_row(1)]), school=world.school.pk)
    by_name = post(api, world.principal2, xlsx_bytes([student_row(1, 班级="七年级(2)班")]))

    assert chosen.status_code == 400
    assert file_problem(chosen) == "无权导入该学校"
    assert by_name.status_code == 400
    assert problems(by_name) == {(2, "班级")}
    assert Student.objects.count() == before


def test_principal2_imports_into_own_school(world, api):
    response = post(api, world.principal2, xlsx_bytes([student_row(1)]))

    assert response.status_code == 200
    assert Student.objects.get(student_no="T000000000001").classroom == world.class_c


@pytest.mark.parametrize("who", ["outsider", "cadre"])
def test_user_without_classes_cannot_import(world, api, who):
    before = Student.objects.count()

    response = post(api, getattr(world, who), xlsx_bytes([student_row(1)]))

    assert response.status_code == 400
    assert file_problem(response) == "您没有可导入花名册的班级"
    assert Student.objects.count() == before


def test_bureau_must_choose_a_school(world, api):
    content = xlsx_bytes([student_row(1)])

    unchosen = post(api, world.bureau, content)
    chosen = post(api, world.bureau, content, school=world.school2.pk)

    assert file_problem(unchosen) == "请选择学校"
    assert chosen.status_code == 200
    assert Student.objects.get(student_no="T000000000001").classroom == world.class_c


def test_bureau_cannot_move_a_student_between_schools_by_import(world, api):
    moved = world.students_a[0]
    row = student_row(1, 全国学籍号=moved.student_no, 身份证号="", 班级="七年级(1)班")

    response = post(api, world.bureau, xlsx_bytes([row]), school=world.school2.pk)

    assert response.status_code == 400
    assert "请先办理转学" in messages(response)


def test_anonymous_cannot_import(world, api):
    response = api.post(IMPORT_URL, {"file": upload(xlsx_bytes([student_row(1)]))}, format="multipart")

    assert response.status_code in (401, 403)
    assert not Student.objects.filter(student_no="T000000000001").exists()


# --- template ----------------------------------------------------------------------------------


def test_template_downloads_with_chinese_headers(world, client):
    client.force_login(world.principal)

    response = client.get(reverse("roster-template"))

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert (
        "filename*=UTF-8''%E5%AD%A6%E7%94%9F%E8%8A%B1%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx"
        in (response["Content-Disposition"])
    )
    wb = load_workbook(io.BytesIO(response.content))
    data, help_sheet = wb.worksheets
    assert [c.value for c in data[1]] == roster.COLUMNS
    assert data.max_row == 1
    assert data.freeze_panes == "A2"
    assert data["A1"].font.b
    assert data.column_dimensions["E"].number_format == "@"
    assert data.column_dimensions["F"].number_format == "@"
    assert help_sheet.title == "填写说明"
    described = {row[0] for row in help_sheet.iter_rows(values_only=True)}
    assert set(roster.COLUMNS) <= described


def test_template_round_trips(world, api):
    untouched = post(api, world.principal, roster.build_template())
    assert untouched.status_code == 400
    assert file_problem(untouched) == "文件中没有学生数据,请从第2行起每行填写一名学生"

    wb = load_workbook(io.BytesIO(roster.build_template()))
    ws = wb.worksheets[0]
    ws.append([student_row(1)[h] for h in roster.COLUMNS])
    out = io.BytesIO()
    wb.save(out)

    filled = post(api, world.principal, out.getvalue())

    assert filled.status_code == 200, filled.json()
    assert filled.json() == {"created": 1, "updated": 0}


def test_template_is_404_for_outsider(world, client):
    client.force_login(world.outsider)

    assert client.get(reverse("roster-template")).status_code == 404


# --- page ----------------------------------------------------------------------------------------


def test_page_shows_form_for_principal(world, client):
    client.force_login(world.principal)

    response = client.get(reverse("roster-import"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "导入学生花名册" in page
    assert reverse("roster-template") in page
    assert world.school.name in page


def test_page_offers_school_choice_to_bureau(world, client):
    client.force_login(world.bureau)

    page = client.get(reverse("roster-import")).content.decode()

    assert 'name="school"' in page
    assert world.school.name in page
    assert world.school2.name in page


@pytest.mark.parametrize("who", ["outsider", "cadre"])
def test_page_is_404_without_manageable_classes(world, client, who):
    client.force_login(getattr(world, who))

    assert client.get(reverse("roster-import")).status_code == 404


def test_page_requires_login(world, client):
    response = client.get(reverse("roster-import"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_page_import_success_then_message(world, client):
    client.force_login(world.principal)

    response = client.post(
        reverse("roster-import"), {"file": upload(xlsx_bytes([student_row(1), student_row(2)]))}, follow=True
    )

    assert response.status_code == 200
    assert "导入成功:新增2人,更新0人" in response.content.decode()
    assert Student.objects.filter(student_no__in=["T000000000001", "T000000000002"]).count() == 2
    assert "导入成功" not in client.get(reverse("roster-import")).content.decode()


def test_page_lists_all_errors(world, client):
    client.force_login(world.principal)
    before = Student.objects.count()

    response = client.post(
        reverse("roster-import"),
        {"file": upload(xlsx_bytes([student_row(1, 性别="X"), student_row(2, 班级="九年级(9)班")]))},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "导入失败:共2处错误,未写入任何数据" in page
    assert "第2行" in page
    assert "第3行" in page
    assert "找不到班级" in page
    assert Student.objects.count() == before


# --- volume --------------------------------------------------------------------------------------


def big_file(count: int, start: int = 1) -> bytes:
    rows = []
    for i in range(start, start + count):
        female = i % 2 == 0
        born = BORN + dt.timedelta(days=i % 300)
        rows.append(
            student_row(
                i,
                班级="七年级(1)班" if i % 2 else "七年级(2)班",
                性别="女" if female else "男",
                出生日期=born,
                身份证号=id_for(i, born, female),
            )
        )
    return xlsx_bytes(rows)


def test_thousand_rows_in_bounded_queries(world, api, django_assert_max_num_queries):
    # No per-row queries. The bound holds for PostgreSQL (one INSERT per table) and for SQLite,
    # where Django splits bulk writes into batches of at most 999 parameters.
    content = big_file(1000)
    with django_assert_max_num_queries(80):
        response = post(api, world.principal, content)
    assert response.json() == {"created": 1000, "updated": 0}

    wb = load_workbook(io.BytesIO(content))
    for cells in wb.active.iter_rows(min_row=2):  # promote everyone into the other class
        cells[0].value = "七年级(2)班" if cells[0].value == "七年级(1)班" else "七年级(1)班"
    moved = io.BytesIO()
    wb.save(moved)
    with django_assert_max_num_queries(80):
        response = post(api, world.principal, moved.getvalue())

    assert response.json() == {"created": 0, "updated": 1000}
    assert Student.objects.filter(student_no__startswith="T").count() == 1000
    assert Student.objects.get(student_no="T000000000001").classroom == world.class_b
    assert Guardian.objects.filter(student__student_no__startswith="T").count() == 1000


def test_only_the_bureau_hears_where_a_number_is_already_used(world, api):
    """Issue 12, item 4: a principal is not told that a 学籍号 or 身份证号 belongs to another school's student."""
    rows = [student_row(1, 全国学籍号=world.students_c[0].student_no, 身份证号="")]
    principal = post(api, world.principal, xlsx_bytes(rows)).content.decode()
    assert "其他学校" not in principal
    assert "教育局" in principal
    same_id = [matching_id(1, world.students_c[0].id_number)]
    answer = post(api, world.principal, xlsx_bytes(same_id)).content.decode()
    assert "另一名学生" not in answer
    assert "不能在此使用" in answer
    bureau = post(api, world.bureau, xlsx_bytes(rows), school=world.school.pk).content.decode()
    assert "该学籍号已属于其他学校的学生" in bureau


# --- a child screening found without a 学籍号 ------------------------------------------------------


def _found_by_screening(world, status=Student.Status.NOT_ENROLLED, classroom=None):
    number = id_for(77)
    return f.StudentFactory(
        classroom=classroom,
        school=world.school,
        student_no="",
        id_number=number,
        birth_date=idnumber.birth_date_of(number),
        status=status,
        village=world.village,
    )


def test_a_child_still_out_of_school_is_not_enrolled_by_the_roster(world, api):
    child = _found_by_screening(world)
    response = post(api, world.principal, xlsx_bytes([matching_id(5, child.id_number)]))
    assert response.status_code == 400
    assert "先在其辍学个案中登记复学" in messages(response)
    child.refresh_from_db()
    assert child.student_no == ""


def test_a_returned_child_gets_their_student_number_from_the_roster(world, api):
    child = _found_by_screening(world, status=Student.Status.ENROLLED, classroom=world.class_a)
    response = post(api, world.principal, xlsx_bytes([matching_id(5, child.id_number)]))
    assert response.status_code == 200, response.json()
    child.refresh_from_db()
    assert child.student_no == "T000000000005"
    assert Student.objects.filter(id_number=child.id_number).count() == 1
    assert child.history.first().history_change_reason == roster.CHANGE_REASON


def test_another_school_cannot_take_a_child_screening_gave_to_a_school(world, api):
    child = _found_by_screening(world, status=Student.Status.ENROLLED, classroom=world.class_a)
    row = matching_id(5, child.id_number) | {"班级": "七年级(1)班"}
    response = post(api, world.principal2, xlsx_bytes([row]))
    assert response.status_code == 400
    assert "已由其他学校跟进" in messages(response)
