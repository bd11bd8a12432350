"""Roster import: one .xlsx of a school's students, all rows or none.

Every row is checked before anything is written, and every problem is reported at once as
``{"row", "field", "message"}`` (Excel row number, Chinese column header, Chinese message), so a
teacher can fix the whole sheet in one pass. Existing students are matched by 全国学籍号 and
updated, never duplicated. Writes go through simple_history's bulk helpers so the audit trail
names the importing user. The number of queries does not grow with the number of rows.
"""

import dataclasses
import datetime as dt
import io
import re
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import Expression
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from students import idnumber, tabular
from students.errors import ImportRejected
from students.models import Classroom, Guardian, School, Student, Village, normalize_classroom_name
from students.scoping import manageable_classrooms, scope_for
from students.tabular import PHONE, RowErrors, VillageLookup, ZipLimits, check_zip, header_key, parse_date, person_name

CLASSROOM = "班级"
NAME = "姓名"
GENDER = "性别"
BIRTH_DATE = "出生日期"
STUDENT_NO = "全国学籍号"
ID_NUMBER = "身份证号"
ETHNICITY = "民族"
VILLAGE = "户籍村(社区)"
ADDRESS = "现住址"
BOARDING = "寄宿"
LEFT_BEHIND = "留守儿童"
GUARDIAN_NAME = "监护人姓名"
GUARDIAN_RELATION = "与学生关系"
GUARDIAN_PHONE = "监护人电话"
GUARDIAN_AWAY = "监护人是否外出务工"

COLUMNS = [
    CLASSROOM,
    NAME,
    GENDER,
    BIRTH_DATE,
    STUDENT_NO,
    ID_NUMBER,
    ETHNICITY,
    VILLAGE,
    ADDRESS,
    BOARDING,
    LEFT_BEHIND,
    GUARDIAN_NAME,
    GUARDIAN_RELATION,
    GUARDIAN_PHONE,
    GUARDIAN_AWAY,
]
REQUIRED = (CLASSROOM, NAME, GENDER, BIRTH_DATE, STUDENT_NO)
TEXT_COLUMNS = (STUDENT_NO, ID_NUMBER, GUARDIAN_PHONE)  # formatted as text "@" in the template
YES_NO_COLUMNS = (BOARDING, LEFT_BEHIND, GUARDIAN_AWAY)

FILE = "文件"  # the field of file-level problems (row 0)
# What a roster of MAX_ROWS students can take unpacked: its sheet is ~15 MB at most, its shared
# strings (the texts) a few MB (students.tabular.check_zip).
ROSTER_ZIP = ZipLimits(unpacked=60 * 1024 * 1024, part=40 * 1024 * 1024, shared_strings=16 * 1024 * 1024)
MAX_ROWS = 10_000
# An UPDATE of a batch holds one CASE branch per row and field, and the database tests the branches
# for every row of the batch: its cost grows with rows × batch size, so batches stay small.
UPDATE_BATCH = 100
CHANGE_REASON = "花名册导入"
SHEET_TITLE = "学生花名册"
HELP_TITLE = "填写说明"

# Max lengths follow the model fields, so a long value is a row error, not a database error.
MAX_LENGTHS = {
    NAME: 50,
    STUDENT_NO: 32,
    ETHNICITY: 20,
    ADDRESS: 200,
    GUARDIAN_NAME: 50,
    GUARDIAN_RELATION: 20,
    GUARDIAN_PHONE: 30,
}
GENDERS = {"男": Student.Gender.MALE, "女": Student.Gender.FEMALE}
YES = {"是": True, "否": False}

_STUDENT_NO = re.compile(r"^[A-Z0-9]+$")

HELP_ROWS = [
    (CLASSROOM, "必填", "本校已有的班级名称,如 七年级(1)班;括号全角、半角或省略均可(七年级1班)。", "七年级(1)班"),
    (NAME, "必填", "学生姓名,最多50字。", "张小明"),
    (GENDER, "必填", "填“男”或“女”,须与身份证号一致。", "男"),
    (BIRTH_DATE, "必填", "日期,如 2013-05-17、2013/5/17 或 20130517;不能晚于今天,须与身份证号一致。", "2013-05-17"),
    (
        STUDENT_NO,
        "必填",
        "全国学籍号,只含字母和数字;同一文件内不能重复。已存在的学籍号将更新该学生信息。",
        "G431226201305170011",
    ),
    (
        ID_NUMBER,
        "选填",
        "18位居民身份证号,最后一位可为X;填写时会核对校验位。请勿让Excel把它变成数字。",
        "431226201305170011",
    ),
    (ETHNICITY, "选填", "留空时新学生默认为“汉族”。", "汉族"),
    (
        VILLAGE,
        "选填",
        "户籍所在村(社区),须是本县已有的村;村名在县内重名时请写成“乡镇+村”,如 清溪镇石门村。",
        "清溪镇石门村",
    ),
    (ADDRESS, "选填", "现住址,最多200字。", "清溪镇石门村3组"),
    (BOARDING, "选填", "填“是”或“否”,留空新学生按“否”。", "否"),
    (LEFT_BEHIND, "选填", "填“是”或“否”,留空新学生按“否”。", "是"),
    (GUARDIAN_NAME, "选填", "一名监护人的姓名;已有同名监护人时更新其信息,否则新增。", "张建国"),
    (GUARDIAN_RELATION, "填写监护人时必填", "如 父亲、母亲、祖父、祖母、其他亲属。", "父亲"),
    (GUARDIAN_PHONE, "选填", "手机或座机号码,如 13800000000、0731-12345678。", "13800000000"),
    (GUARDIAN_AWAY, "选填", "监护人是否外出务工,填“是”或“否”。", "是"),
]
HELP_NOTES = [
    "1. 每行填写一名学生,从第2行开始;请勿修改、删除第1行的列名,可以调整列的顺序。",
    "2. 全国学籍号、身份证号、电话三列已设为文本格式,请直接输入或“选择性粘贴→数值”,不要让Excel变成科学计数法。",
    "3. 导入要么全部成功,要么一条也不写入:发现任何错误时会列出所有错误(行号、列名、问题),改正后重新上传即可。",
    "4. 重新导入同一学籍号的学生会更新其信息,不会重复建档;选填列留空表示不修改已有信息。",
    "5. 学籍号已属于其他学校的学生,须先办理转学,不能通过花名册导入转入。",
    "6. 文件须为 .xlsx 格式,不超过5MB,单次最多10000名学生。",
]


@dataclasses.dataclass
class ImportResult:
    created: int
    updated: int


@dataclasses.dataclass
class _Row:
    """One checked data row. ``None`` in an optional field means "left blank: keep / default"."""

    row: int
    classroom: Classroom
    name: str
    gender: str
    birth_date: dt.date
    student_no: str
    id_number: str | None
    ethnicity: str | None
    village: Village | None
    address: str | None
    boarding: bool | None
    left_behind: bool | None
    guardian_name: str
    guardian_relation: str
    guardian_phone: str | None
    guardian_away: bool | None


class _Errors(RowErrors):
    def __init__(self) -> None:
        super().__init__(COLUMNS)

    def reject(self) -> ImportRejected:
        return ImportRejected(f"导入失败:共{len(self)}处错误,未写入任何数据", details=self.sorted())


def _file_error(message: str) -> ImportRejected:
    errors = _Errors()
    errors.add(0, FILE, message)
    return errors.reject()


# ---------------------------------------------------------------------------------------------
# Template


def build_template() -> bytes:
    """The empty roster template: headers only on the first sheet, instructions on the second."""
    wb = Workbook()
    ws = wb.active
    if ws is None:  # a new workbook always has its first sheet active
        raise RuntimeError("openpyxl made a workbook without a sheet")
    ws.title = SHEET_TITLE
    bold = Font(bold=True)
    required_font = Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="DDEBF7")
    widths = {CLASSROOM: 14, NAME: 10, GENDER: 6, BIRTH_DATE: 12, STUDENT_NO: 24, ID_NUMBER: 22, VILLAGE: 18}
    widths |= {ADDRESS: 28, GUARDIAN_PHONE: 16, GUARDIAN_AWAY: 18, ETHNICITY: 8}
    for index, header in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index, value=header)
        cell.font = required_font if header in REQUIRED else bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = widths.get(header, max(10, len(header) * 2 + 2))
        if header in TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
        elif header == BIRTH_DATE:
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"

    def choice(column: str, options: str) -> None:
        letter = get_column_letter(COLUMNS.index(column) + 1)
        rule = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True, showErrorMessage=True)
        rule.error = f"请选择:{options.replace(',', '/')}"
        rule.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(rule)

    choice(GENDER, "男,女")
    for column in YES_NO_COLUMNS:
        choice(column, "是,否")

    help_ws = wb.create_sheet(HELP_TITLE)
    help_ws.append(["学生花名册填写说明(红色列名为必填项)"])
    help_ws["A1"].font = Font(bold=True, size=14)
    for note in HELP_NOTES:
        help_ws.append([note])
    help_ws.append([])
    help_ws.append(["列名", "是否必填", "填写要求", "示例"])
    header_row = help_ws.max_row
    for cell in help_ws[header_row]:
        cell.font = bold
        cell.fill = fill
    for column, required, rule_text, example in HELP_ROWS:
        help_ws.append([column, required, rule_text, example])
        for cell in help_ws[help_ws.max_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.number_format = "@"
    for letter, width in zip("ABCD", (20, 16, 70, 24), strict=True):
        help_ws.column_dimensions[letter].width = width

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Import


def import_roster(*, user, upload, school_id=None) -> ImportResult:
    """Import ``upload`` (an .xlsx roster) into ``school_id`` (or the user's only school).

    Raises ImportRejected listing every problem; on success writes every row in one transaction.
    """
    _check_upload(upload)
    school, classrooms = _target_school(user, school_id)
    rows = _read_rows(upload)
    header_row, positions = _find_header(rows)
    errors = _Errors()
    missing = [column for column in REQUIRED if column not in positions]
    if missing:
        errors.add(0, FILE, f"缺少必填列:{'、'.join(missing)};请使用系统提供的模板,不要修改第一行列名")
        raise errors.reject()

    data = [(number, values) for number, values in rows if number > header_row]
    if not data:
        raise _file_error("文件中没有学生数据,请从第2行起每行填写一名学生")
    if len(data) > MAX_ROWS:
        raise _file_error(f"单次最多导入{MAX_ROWS}名学生,请拆分文件后分批导入")

    villages = VillageLookup(school.county_id)
    classroom_by_name = {normalize_classroom_name(c.name): c for c in classrooms}
    checked: list[_Row] = []
    for number, values in data:
        cells = {column: values[i] if i < len(values) else None for column, i in positions.items()}
        row = _check_row(number, cells, classroom_by_name, villages, errors)
        if row is not None:
            checked.append(row)

    _check_duplicates_in_file(checked, errors)
    existing = _check_against_database(user, school, checked, classrooms, errors)
    if errors:
        raise errors.reject()
    return _write(user=user, school=school, rows=checked, existing=existing)


def _check_upload(upload) -> None:
    if upload is None:
        raise _file_error("请选择要上传的文件")
    name = (getattr(upload, "name", "") or "").lower()
    if not name.endswith(".xlsx"):
        raise _file_error("文件格式错误,请上传 .xlsx 格式的花名册")
    limit = settings.ROSTER_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise _file_error(f"文件超过{limit // (1024 * 1024)}MB,请删除无关内容或拆分后再上传")
    if upload.size == 0:
        raise _file_error("文件为空,文件中没有学生数据")


def _target_school(user, school_id) -> tuple[School, list[Classroom]]:
    """The school the rows go to and the classrooms of it this user may write."""
    manageable = manageable_classrooms(user)
    school_ids = set(manageable.order_by().values_list("school_id", flat=True).distinct())
    if school_id not in (None, ""):
        try:
            chosen = int(school_id)
        except (TypeError, ValueError):
            chosen = None
        if chosen not in school_ids:
            raise _file_error("无权导入该学校")
    elif not school_ids:
        raise _file_error("您没有可导入花名册的班级")
    elif len(school_ids) > 1:
        raise _file_error("请选择学校")
    else:
        (chosen,) = school_ids
    classrooms = list(manageable.filter(school_id=chosen).select_related("school"))
    return classrooms[0].school, classrooms


def _read_rows(upload) -> list[tuple[int, tuple]]:
    """The non-blank rows of the roster sheet as (Excel row number, cell values)."""
    upload.seek(0)
    content = upload.read()
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise _file_error("文件格式错误,请上传 .xlsx 格式的花名册")
    check_zip(content, ROSTER_ZIP, refuse=_file_error, what="花名册")
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken or foreign zip
        raise _file_error("文件格式错误,请上传 .xlsx 格式的花名册") from exc
    try:
        ws = wb[SHEET_TITLE] if SHEET_TITLE in wb.sheetnames else wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong <dimension>; read every row
        rows = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if any(tabular.text(value) for value in values):
                rows.append((number, tuple(values)))
                if len(rows) > MAX_ROWS + 10:  # the header and a few title rows, then too many students
                    break
        return rows
    except Exception as exc:
        raise _file_error("文件格式错误,请上传 .xlsx 格式的花名册") from exc
    finally:
        wb.close()


def _find_header(rows: list[tuple[int, tuple]]) -> tuple[int, dict[str, int]]:
    """The header row number and the position of each known column.

    Usually row 1; a title row or two above the headers is tolerated.
    """
    known = {header_key(column): column for column in COLUMNS}
    for number, values in rows:
        if number > 10:
            break
        positions: dict[str, int] = {}
        for index, value in enumerate(values):
            column = known.get(header_key(value))
            if column and column not in positions:
                positions[column] = index
        if len(positions) >= 3:
            return number, positions
    if not rows:
        raise _file_error("文件中没有学生数据,请从第2行起每行填写一名学生")
    return 1, {}


def _check_row(number: int, cells: dict, classroom_by_name, villages: VillageLookup, errors: _Errors) -> _Row | None:
    """Check one row; add every problem to ``errors``; return the row if it is clean."""
    before = len(errors.items)

    def fail(field: str, message: str) -> None:
        errors.add(number, field, message)

    def text(column: str) -> str:
        value = person_name(cells.get(column)) if column in (NAME, GUARDIAN_NAME) else tabular.text(cells.get(column))
        limit = MAX_LENGTHS.get(column)
        if limit and len(value) > limit:
            fail(column, f"不能超过{limit}个字")
        return value

    def required(column: str) -> str:
        value = text(column)
        if not value:
            fail(column, f"{column}不能为空")
        return value

    def yes_no(column: str) -> bool | None:
        value = text(column)
        if not value:
            return None
        if value not in YES:
            fail(column, f"应填“是”或“否”,而不是“{value}”")
            return None
        return YES[value]

    classroom = None
    classroom_text = required(CLASSROOM)
    if classroom_text:
        classroom = classroom_by_name.get(normalize_classroom_name(classroom_text))
        if classroom is None:
            fail(CLASSROOM, f"找不到班级“{classroom_text}”,或您无权导入该班级;请填写本校已有的班级名称,如 七年级(1)班")

    name = required(NAME)

    gender = None
    gender_text = required(GENDER)
    if gender_text:
        gender = GENDERS.get(gender_text)
        if gender is None:
            fail(GENDER, f"性别应填“男”或“女”,而不是“{gender_text}”")

    birth_date = None
    raw_birth = cells.get(BIRTH_DATE)
    if required(BIRTH_DATE):
        birth_date = parse_date(raw_birth)
        if birth_date is None:
            fail(BIRTH_DATE, f"无法识别日期“{tabular.text(raw_birth)}”,请填写如 2013-05-17 的日期")
        elif birth_date > timezone.localdate():
            fail(BIRTH_DATE, "出生日期不能晚于今天")
            birth_date = None
        elif birth_date.year < 1900:
            fail(BIRTH_DATE, "出生日期不正确")
            birth_date = None

    student_no = required(STUDENT_NO).replace(" ", "").upper()
    if student_no and not _STUDENT_NO.match(student_no):
        fail(STUDENT_NO, "全国学籍号只能包含字母和数字")

    id_number = None
    raw_id = cells.get(ID_NUMBER)
    id_text = text(ID_NUMBER)
    if id_text:
        try:
            id_number = idnumber.validate_id_number(id_text)
        except ValidationError as exc:
            message = exc.messages[0]
            if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
                message += "(该单元格是数字格式,Excel 只保留15位有效数字,请把该列设为文本后重新输入)"
            fail(ID_NUMBER, message)
        else:
            born = idnumber.birth_date_of(id_number)
            if birth_date and born != birth_date:
                fail(BIRTH_DATE, f"出生日期与身份证号中的出生日期({born:%Y-%m-%d})不一致")
            id_gender = Student.Gender.MALE if int(id_number[16]) % 2 else Student.Gender.FEMALE
            if gender and gender != id_gender:
                fail(GENDER, f"性别与身份证号不符(身份证号显示为{Student.Gender(id_gender).label})")

    ethnicity = text(ETHNICITY) or None

    village = None
    village_text = text(VILLAGE)
    if village_text:
        village, problem = villages.find(village_text)
        if problem:
            fail(VILLAGE, problem)

    address = text(ADDRESS) or None
    boarding = yes_no(BOARDING)
    left_behind = yes_no(LEFT_BEHIND)

    guardian_name = text(GUARDIAN_NAME)
    relation = text(GUARDIAN_RELATION)
    phone = text(GUARDIAN_PHONE)
    away = yes_no(GUARDIAN_AWAY)
    if guardian_name and not relation:
        fail(GUARDIAN_RELATION, "填写了监护人姓名,请同时填写与学生关系(如 父亲、母亲、祖父)")
    if not guardian_name and (relation or phone or away is not None):
        fail(GUARDIAN_NAME, "填写了监护人信息,请同时填写监护人姓名")
    if phone and not PHONE.match(phone):
        fail(GUARDIAN_PHONE, f"电话号码“{phone}”格式不正确,应为手机号或带区号的座机号")

    if len(errors.items) > before or classroom is None or gender is None or birth_date is None:
        return None  # (a missing classroom, gender or birth date was reported above)
    return _Row(
        row=number,
        classroom=classroom,
        name=name,
        gender=gender,
        birth_date=birth_date,
        student_no=student_no,
        id_number=id_number,
        ethnicity=ethnicity,
        village=village,
        address=address,
        boarding=boarding,
        left_behind=left_behind,
        guardian_name=guardian_name,
        guardian_relation=relation,
        guardian_phone=phone or None,
        guardian_away=away,
    )


def _check_duplicates_in_file(rows: list[_Row], errors: _Errors) -> None:
    first_by_no: dict[str, int] = {}
    first_by_id: dict[str, int] = {}
    for row in rows:
        if row.student_no in first_by_no:
            errors.add(row.row, STUDENT_NO, f"全国学籍号与第{first_by_no[row.student_no]}行重复")
        else:
            first_by_no[row.student_no] = row.row
        if row.id_number:
            if row.id_number in first_by_id:
                errors.add(row.row, ID_NUMBER, f"身份证号与第{first_by_id[row.id_number]}行重复")
            else:
                first_by_id[row.id_number] = row.row


def _check_against_database(
    user, school: School, rows: list[_Row], classrooms: list[Classroom], errors: _Errors
) -> dict[str, Student]:
    """Existing students by 学籍号 (that this user may update); problems go to ``errors``."""
    student_nos = {row.student_no for row in rows}
    id_numbers = {row.id_number for row in rows if row.id_number}
    existing = {s.student_no: s for s in Student.objects.filter(student_no__in=student_nos)} if rows else {}
    owners = list(Student.objects.filter(id_number__in=id_numbers)) if id_numbers else []
    id_owner = {owner.id_number: (owner.student_no, owner.school_id) for owner in owners}
    # A child screening found enrolled nowhere has a record with no 学籍号: the roster that gives them one
    # adopts that record (its case and history stay with it) once they are back in class.
    unnumbered = {owner.id_number: owner for owner in owners if not owner.student_no}
    scope = scope_for(user)
    whole_school = scope.manages_school(school)
    manageable_ids = {c.pk for c in classrooms}
    # Where a number is already used tells of a student outside the user's scope: only the bureau
    # hears where; everyone else hears that the number cannot be used here and whom to ask.
    county_level = scope.county_level
    for row in rows:
        student = existing.get(row.student_no)
        if student is not None:
            if student.school_id != school.pk:
                errors.add(
                    row.row,
                    STUDENT_NO,
                    "该学籍号已属于其他学校的学生,请先办理转学"
                    if county_level
                    else "该学籍号不能在此导入;如该学生应转入本校,请联系教育局办理转学",
                )
            elif not (student.classroom_id in manageable_ids or (student.classroom_id is None and whole_school)):
                # Only a class teacher gets here (the school's leaders manage every class of it).
                errors.add(row.row, STUDENT_NO, "该学籍号不能在此导入,请联系学校管理员")
        owner_no, owner_school = id_owner.get(row.id_number, (None, None)) if row.id_number else (None, None)
        if owner_no == "" and student is None:
            child = unnumbered[row.id_number or ""]
            if owner_school != school.pk and not county_level:
                errors.add(row.row, ID_NUMBER, "该身份证号属于排查发现的儿童,已由其他学校跟进,请联系教育局")
            elif child.status != Student.Status.ENROLLED:
                errors.add(
                    row.row,
                    ID_NUMBER,
                    "该身份证号属于排查发现的未入学儿童,请先在其辍学个案中登记复学(安置班级),再导入学籍号",
                )
            elif not (child.classroom_id in manageable_ids or whole_school):
                errors.add(row.row, ID_NUMBER, "该身份证号不能在此导入,请联系学校管理员")
            else:
                existing[row.student_no] = child
        elif owner_no is not None and owner_no != row.student_no:
            errors.add(
                row.row,
                ID_NUMBER,
                "该身份证号已登记在另一名学生(学籍号不同)名下,请核对"
                if county_level or (whole_school and owner_school == school.pk)
                else "该身份证号不能在此使用,请核对;如该学生应转入本校,请联系教育局办理转学",
            )
    return existing


# The Student fields an import may change (model field names); only those that changed are written.
_TRACKED_FIELDS = (
    "student_no",  # given once to a child screening found without one (see _check_against_database)
    "name",
    "name_pinyin",
    "name_initials",
    "gender",
    "birth_date",
    "id_number",
    "ethnicity",
    "school",
    "classroom",
    "village",
    "address",
    "boarding",
    "left_behind",
)
_COLUMN_ATTNAMES = {f.name: f.attname for f in Student._meta.concrete_fields}  # "school" → "school_id"
_TRACKED_ATTNAMES = {name: _COLUMN_ATTNAMES[name] for name in _TRACKED_FIELDS}


def _snapshot(student: Student) -> dict:
    return {name: getattr(student, attname) for name, attname in _TRACKED_ATTNAMES.items()}


def _apply(student: Student, row: _Row, school: School) -> None:
    """Copy the row onto the student; blank optional cells keep what the student already has."""
    student.student_no = row.student_no
    student.name = row.name
    student.gender = row.gender
    student.birth_date = row.birth_date
    student.school = school
    student.classroom = row.classroom
    if row.id_number is not None:
        student.id_number = row.id_number
    if row.ethnicity is not None:
        student.ethnicity = row.ethnicity
    if row.village is not None:
        student.village = row.village
    if row.address is not None:
        student.address = row.address
    if row.boarding is not None:
        student.boarding = row.boarding
    if row.left_behind is not None:
        student.left_behind = row.left_behind
    student.fill_derived()


def _write(*, user, school: School, rows: list[_Row], existing: dict[str, Student]) -> ImportResult:
    now = timezone.now()
    new_students: list[Student] = []
    changed: list[Student] = []
    changed_fields: set[str] = set()
    student_of_row: dict[int, Student] = {}
    for row in rows:
        student = existing.get(row.student_no)
        if student is None:
            student = Student(student_no=row.student_no, ethnicity="汉族", boarding=False, left_behind=False)
            _apply(student, row, school)
            new_students.append(student)
        else:
            before = _snapshot(student)
            _apply(student, row, school)
            after = _snapshot(student)
            differs = {name for name in _TRACKED_FIELDS if before[name] != after[name]}
            if differs:
                student.updated_at = now
                changed.append(student)
                changed_fields |= differs
        student_of_row[row.row] = student

    history_user = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            _save_students(history_user, new_students, changed, changed_fields, now)
            _write_guardians(rows, student_of_row, [s.pk for s in existing.values()])
    except IntegrityError as exc:  # someone wrote the same 学籍号 / 身份证号 between our check and our write
        raise _file_error("导入时其他人同时修改了学生数据(学籍号或身份证号重复),未写入任何数据,请重新导入") from exc
    return ImportResult(created=len(new_students), updated=len(rows) - len(new_students))


def _save_students(history_user, new_students, changed, changed_fields: set[str], now: dt.datetime) -> None:
    """Bulk writes with their history rows (the caller holds the transaction)."""
    if new_students:
        bulk_create_with_history(new_students, Student, default_user=history_user, default_change_reason=CHANGE_REASON)
    if changed:
        fields = [name for name in _TRACKED_FIELDS if name in changed_fields]
        _bulk_update(changed, fields, extra={"updated_at": now})
        # With no fields, bulk_update_with_history writes only the history rows ("~", who, why).
        bulk_update_with_history(
            changed, Student, fields=[], default_user=history_user, default_change_reason=CHANGE_REASON
        )


class _CaseOnPk(Expression):
    """``CASE pk WHEN %s THEN %s … END`` for one field over a batch of rows.

    Django's ``bulk_update`` builds and resolves a ``When(pk=…)`` expression per row and field,
    about a millisecond each: a 1,000-student roster where every field changed spent over ten
    seconds in Python. This renders the same SQL in linear time.
    """

    def __init__(self, field, pairs: list[tuple]) -> None:
        super().__init__(output_field=field)
        self.pairs = pairs

    def as_sql(self, compiler, connection):
        field = self.output_field
        opts = field.model._meta
        pk = f"{compiler.quote_name_unless_alias(opts.db_table)}.{connection.ops.quote_name(opts.pk.column)}"
        params: list = []
        for pk_value, value in self.pairs:
            params.extend((pk_value, field.get_db_prep_save(value, connection)))
        sql = f"CASE {pk}{' WHEN %s THEN %s' * len(self.pairs)} END"
        if connection.features.requires_casted_case_in_updates:  # PostgreSQL types the CASE as text
            sql = f"CAST({sql} AS {field.cast_db_type(connection)})"  # type: ignore[attr-defined]  # Django has Field.cast_db_type; the 5.2 stubs lack it
        return sql, params


def _bulk_update(objs: list, fields: list[str], extra: dict | None = None) -> None:
    """Write ``fields`` of ``objs`` (one model) in a few UPDATEs; ``extra`` sets one value on all."""
    model = type(objs[0])
    concrete = [model._meta.get_field(name) for name in fields]
    limit = connections[model._default_manager.db].features.max_query_params  # SQLite: 999, PostgreSQL: None
    per_row = 2 * len(concrete) + 1 + len(extra or {})
    size = UPDATE_BATCH if limit is None else max(1, min(UPDATE_BATCH, (limit - len(extra or {})) // per_row))
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        values = {f.attname: _CaseOnPk(f, [(obj.pk, getattr(obj, f.attname)) for obj in batch]) for f in concrete}
        model._default_manager.filter(pk__in=[obj.pk for obj in batch]).update(**values, **(extra or {}))


def _write_guardians(rows: list[_Row], student_of_row: dict[int, Student], existing_ids: list[int]) -> None:
    """Update the student's guardian of the same name, or add one."""
    current: dict[tuple[int, str], Guardian] = {}
    if existing_ids:
        for known in Guardian.objects.filter(student_id__in=existing_ids).order_by("id"):
            current.setdefault((known.student_id, known.name), known)
    to_create: list[Guardian] = []
    to_update: list[Guardian] = []
    fields: set[str] = set()
    for row in rows:
        if not row.guardian_name:
            continue
        student = student_of_row[row.row]
        guardian = current.get((student.pk, row.guardian_name))
        if guardian is None:
            to_create.append(
                Guardian(
                    student=student,
                    name=row.guardian_name,
                    relation=row.guardian_relation,
                    phone=row.guardian_phone or "",
                    works_away=bool(row.guardian_away),
                )
            )
            continue
        wanted = {"relation": row.guardian_relation, "phone": row.guardian_phone, "works_away": row.guardian_away}
        differs = {name for name, value in wanted.items() if value is not None and getattr(guardian, name) != value}
        for name in differs:
            setattr(guardian, name, wanted[name])
        if differs:
            to_update.append(guardian)
            fields |= differs
    if to_create:
        Guardian.objects.bulk_create(to_create)
    if to_update:
        _bulk_update(to_update, sorted(fields))


def importable_schools(user) -> list[School]:
    """Schools with at least one classroom whose roster this user may write."""
    school_ids = manageable_classrooms(user).order_by().values("school_id")
    return list(School.objects.filter(pk__in=school_ids).order_by("code"))
