"""The household register (户籍名单) as offices send it: .xlsx, or .csv saved by Excel in UTF-8 (with or
without BOM) or GBK / GB18030, detected from the bytes. Every row is checked before anything is
written and every problem is reported with its row and column, in Chinese.
"""

import csv
import dataclasses
import datetime as dt
import io
import operator
import re
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from students import idnumber, tabular
from students.errors import ImportRejected
from students.models import Student, Village
from students.tabular import RowErrors, VillageLookup, ZipLimits

HEAD = "户主姓名"
RELATION = "与户主关系"
NAME = "姓名"
GENDER = "性别"
ID_NUMBER = "身份证号"
BIRTH_DATE = "出生日期"
TOWNSHIP = "乡镇(街道)"
VILLAGE = "村(社区)"
GROUP = "组"
HUKOU = "户籍地址"
CURRENT = "现居地"
GUARDIAN = "监护人"
PHONE = "电话"
COLUMNS = [
    HEAD,
    RELATION,
    NAME,
    GENDER,
    ID_NUMBER,
    BIRTH_DATE,
    TOWNSHIP,
    VILLAGE,
    GROUP,
    HUKOU,
    CURRENT,
    GUARDIAN,
    PHONE,
]
REQUIRED = (NAME, GENDER, ID_NUMBER, VILLAGE)
TEXT_COLUMNS = (ID_NUMBER, PHONE)
# Other headers the offices' own sheets use for the same columns.
ALIASES = {
    "户主": HEAD,
    "户主关系": RELATION,
    "与户主的关系": RELATION,
    "公民身份号码": ID_NUMBER,
    "身份证件号码": ID_NUMBER,
    "身份证号码": ID_NUMBER,
    "乡镇": TOWNSHIP,
    "乡镇街道": TOWNSHIP,
    "村(组)": VILLAGE,
    "村组": VILLAGE,
    "村/组": VILLAGE,
    "村": VILLAGE,
    "村社区": VILLAGE,
    "村民小组": GROUP,
    "户籍地": HUKOU,
    "户籍所在地": HUKOU,
    "现住址": CURRENT,
    "现居住地": CURRENT,
    "监护人姓名": GUARDIAN,
    "联系电话": PHONE,
    "监护人电话": PHONE,
}
FILE = "文件"
MAX_ROWS = 200_000
MAX_LENGTHS = {HEAD: 50, RELATION: 20, NAME: 50, GROUP: 20, HUKOU: 200, CURRENT: 200, GUARDIAN: 50, PHONE: 30}
GENDERS = {"男": Student.Gender.MALE, "女": Student.Gender.FEMALE}
# A register of MAX_ROWS people unpacks to about 120 MB of sheet XML; a few times that is a bomb.
REGISTER_ZIP = ZipLimits(unpacked=400 * 1024 * 1024, part=300 * 1024 * 1024, shared_strings=120 * 1024 * 1024)
_GROUP_SUFFIX = re.compile(r"^(.+?[村居社区])((?:\d+|[一二三四五六七八九十]+)组)$")
SHEET_TITLE = "户籍名单"

HELP_NOTES = [
    "1. 每行填写一名户籍人员(可以是整户名单,系统按出生日期挑出适龄儿童少年),从第2行开始;第一行列名请勿修改。",
    "2. 必填列:姓名、性别、身份证号、村(社区);出生日期可不填(按身份证号),填写时须与身份证号一致。",
    "3. 村(社区)须是本县已有的村;县内村名重名时请填写“乡镇(街道)”列,或写成“乡镇+村”。“石门村3组”会自动拆出组。",
    "4. 身份证号、电话两列请设为文本格式,不要让 Excel 变成科学计数法。同一文件内身份证号不能重复。",
    "5. 导入要么全部成功,要么一条也不写入:发现错误时列出所有错误(行号、列名、问题),改正后重新上传。",
    "6. 也可上传 Excel 另存的 CSV(UTF-8 或 GBK 编码均可);文件不超过30MB,单次最多20万行。",
]


@dataclasses.dataclass(slots=True)
class Person:
    """One checked register row."""

    row: int
    household_head: str
    relation: str
    name: str
    gender: str
    id_number: str
    birth_date: dt.date
    village: Village
    group: str
    hukou_address: str
    current_address: str
    guardian_name: str
    guardian_phone: str


class Errors(RowErrors):
    def __init__(self) -> None:
        super().__init__(COLUMNS)

    def reject(self) -> ImportRejected:
        return ImportRejected(f"导入失败:共{len(self)}处错误,未写入任何数据", details=self.sorted())


def file_error(message: str) -> ImportRejected:
    errors = Errors()
    errors.add(0, FILE, message)
    return errors.reject()


# --- the template ------------------------------------------------------------------------------


def build_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    if ws is None:  # a new workbook always has its first sheet active
        raise RuntimeError("openpyxl made a workbook without a sheet")
    ws.title = SHEET_TITLE
    bold, required_font = Font(bold=True), Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="DDEBF7")
    widths = {ID_NUMBER: 22, BIRTH_DATE: 12, VILLAGE: 14, TOWNSHIP: 12, HUKOU: 28, CURRENT: 28, PHONE: 16}
    for index, header in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index, value=header)
        cell.font = required_font if header in REQUIRED else bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = widths.get(header, 11)
        if header in TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
        elif header == BIRTH_DATE:
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["户籍名单填写说明(红色列名为必填项)"])
    help_ws["A1"].font = Font(bold=True, size=14)
    for note in HELP_NOTES:
        help_ws.append([note])
    help_ws.column_dimensions["A"].width = 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading -----------------------------------------------------------------------------------


def check_upload(upload) -> tuple[str, bytes]:
    """The file's format ('xlsx' or 'csv') and bytes; refuses what cannot be a register before any row is read."""
    if upload is None:
        raise file_error("请选择要上传的户籍名单文件")
    name = (getattr(upload, "name", "") or "").lower()
    if not name.endswith((".xlsx", ".csv")):
        raise file_error("文件格式错误,请上传 .xlsx 或 .csv 格式的户籍名单")
    limit = settings.SCREENING_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise file_error(f"文件超过{limit // (1024 * 1024)}MB,请删除无关内容或按乡镇拆分后再上传")
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise file_error(f"文件超过{limit // (1024 * 1024)}MB,请删除无关内容或按乡镇拆分后再上传")
    if not content:
        raise file_error("文件为空,文件中没有户籍人员")
    if name.endswith(".xlsx"):
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise file_error("文件格式错误:扩展名为 .xlsx 但不是 Excel 文件,请用 Excel 另存为 .xlsx 后上传")
        tabular.check_zip(content, REGISTER_ZIP, refuse=file_error, what="户籍名单")
        return "xlsx", content
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise file_error("不支持 UTF-16 编码的文件,请在 Excel 中另存为“CSV UTF-8(逗号分隔)”或 .xlsx")
    return "csv", content


def decode_csv(content: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-8 with or without BOM, else GB18030 (a superset of GBK)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise file_error("不支持 UTF-16 编码的文件,请在 Excel 中另存为“CSV UTF-8(逗号分隔)”或 .xlsx")
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise file_error("无法识别文件编码,请在 Excel 中另存为 .xlsx 或“CSV UTF-8(逗号分隔)”") from None


_SI, _T = f"{{{SHEET_MAIN_NS}}}si", f"{{{SHEET_MAIN_NS}}}t"


def _string_table(source) -> list[str]:
    """openpyxl.reader.strings.read_string_table, straight for a plain text (``<si><t>…</t></si>``): the
    same strings, without a Text object for each of a register's 200,000 different names and numbers
    (a third of the reading time); rich text and phonetic runs go the general way."""
    strings = []
    for _, node in iterparse(source):
        if node.tag == _SI:
            if len(node) == 1 and not node.attrib and node[0].tag == _T:
                text = node[0].text or ""
            else:
                text = Text.from_tree(node).content  # type: ignore[union-attr]  # a Text, as in openpyxl
            strings.append(text.replace("x005F_", ""))
            node.clear()
    return strings


class _Reader(ExcelReader):
    """load_workbook's reader, with the faster shared-strings table."""

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is None or self.rich_text:
            super().read_strings()
            return
        with self.archive.open(part.PartName[1:]) as source:
            self.shared_strings = _string_table(source)


def _load_workbook(content: bytes):
    """load_workbook(BytesIO(content), read_only=True, data_only=True)."""
    reader = _Reader(io.BytesIO(content), read_only=True, data_only=True)
    reader.read()
    return reader.wb


def read_rows(kind: str, content: bytes) -> tuple[list[tuple[int, tuple]], str]:
    """The non-blank rows (file row number, cell values) and a label of the format read."""
    if kind == "csv":
        decoded, encoding = decode_csv(content)
        try:
            sample = decoded[:4096]
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
            reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter)
            rows = _non_blank(enumerate(reader, start=1))
        except csv.Error as exc:
            raise file_error(f"CSV 文件格式错误:{exc}") from exc
        return rows, f"CSV {encoding}"
    try:
        wb = _load_workbook(content)
    except Exception as exc:  # openpyxl raises many kinds on a broken or foreign zip
        raise file_error("文件格式错误,请上传 .xlsx 格式的户籍名单") from exc
    try:
        ws = wb[SHEET_TITLE] if SHEET_TITLE in wb.sheetnames else wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong <dimension>; read every row
        return _non_blank(enumerate(ws.iter_rows(values_only=True), start=1)), "Excel (.xlsx)"
    except ImportRejected:
        raise
    except Exception as exc:
        raise file_error("文件格式错误,请上传 .xlsx 格式的户籍名单") from exc
    finally:
        wb.close()


def _non_blank(numbered) -> list[tuple[int, tuple]]:
    rows = []
    for number, values in numbered:
        if any(value not in (None, "") and str(value).strip() for value in values):
            rows.append((number, tuple(values)))
            if len(rows) > MAX_ROWS + 10:
                raise file_error(f"单次最多导入{MAX_ROWS}行,请按乡镇拆分文件后分批导入")
    return rows


def find_header(rows: list[tuple[int, tuple]]) -> tuple[int, dict[str, int]]:
    """The header row (within the first ten rows) and each known column's position."""
    known = {tabular.header_key(column): column for column in COLUMNS}
    known |= {tabular.header_key(alias): column for alias, column in ALIASES.items()}
    for number, values in rows[:10]:
        positions: dict[str, int] = {}
        for index, value in enumerate(values):
            column = known.get(tabular.header_key(value))
            if column and column not in positions:
                positions[column] = index
        if len(positions) >= 3:
            return number, positions
    return (rows[0][0] if rows else 1), {}


# --- checking ----------------------------------------------------------------------------------


def check_rows(rows: list[tuple[int, tuple]], county_id: int) -> list[Person]:
    """Every data row checked; raises ImportRejected listing every problem of the file."""
    if not rows:
        raise file_error("文件中没有户籍人员,请从第2行起每行填写一人")
    header_row, positions = find_header(rows)
    missing = [column for column in REQUIRED if column not in positions]
    if missing:
        raise file_error(f"缺少必填列:{'、'.join(missing)};请使用系统提供的模板,不要修改第一行列名")
    data = [(number, values) for number, values in rows if number > header_row]
    if not data:
        raise file_error("文件中没有户籍人员,请从第2行起每行填写一人")
    errors = Errors()
    checker = _RowChecker(VillageLookup(county_id), errors, timezone.localdate())
    people = []
    first_row_of: dict[str, int] = {}
    columns = list(positions)
    pick = operator.itemgetter(*positions.values())  # positions holds at least the REQUIRED columns
    width = max(positions.values()) + 1
    for number, values in data:
        if len(values) < width:
            values = values + (None,) * (width - len(values))
        cells = dict(zip(columns, pick(values), strict=True))
        person = checker.check(number, cells)
        if person is None:
            continue
        if person.id_number in first_row_of:
            errors.add(number, ID_NUMBER, f"身份证号与第{first_row_of[person.id_number]}行重复")
            continue
        first_row_of[person.id_number] = number
        people.append(person)
    if errors:
        raise errors.reject()
    return people


# Fast paths of the per-cell checks for the cells most registers are made of (text as typed, a valid
# number, an ISO date): 100,000 rows make 1.5 million cells. Each gives what the general function gives.
_ID_PLAIN = re.compile(r"[0-9]{17}[0-9X]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NAME_COLUMNS = (NAME, HEAD, GUARDIAN)


def _text(raw) -> str:
    """tabular.text: a str's runs of whitespace (the full-width and no-break spaces too) made one space."""
    if raw is None:
        return ""
    if type(raw) is str:
        return " ".join(raw.split())
    return tabular.text(raw)


def _person_name(raw) -> str:
    """tabular.person_name: a name without a space is the text itself."""
    name = _text(raw)
    return name if " " not in name else tabular.person_name(raw)


def _id_number(text: str, today: dt.date) -> str:
    """idnumber.validate_id_number(text) (today: the run's day), without its general path for a plain valid number."""
    if _ID_PLAIN.fullmatch(text):
        try:
            born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            born = None
        if born is not None and born.year >= 1900 and born <= today:
            total = sum(map(operator.mul, map(int, text[:17]), idnumber.WEIGHTS))  # idnumber.check_char
            if idnumber.CHECK_CHARS[total % 11] == text[17]:
                return text
    return idnumber.validate_id_number(text)


def _birth_date(raw) -> dt.date | None:
    """tabular.parse_date, straight for a date typed as 2015-05-17."""
    if type(raw) is str and _ISO_DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return None
    return tabular.parse_date(raw)


class _RowChecker:
    def __init__(self, villages: VillageLookup, errors: Errors, today: dt.date) -> None:
        self.villages, self.errors, self.today = villages, errors, today
        self.combined: dict[tuple[str, str], tuple[Village | None, str, str]] = {}

    def village(self, township: str, cell: str) -> tuple[Village | None, str, str]:
        """(village, group, problem) for a 村 cell such as '石门村' or '石门村3组', with an optional 乡镇."""
        key = (township, cell)
        if key not in self.combined:
            split = _GROUP_SUFFIX.match(cell)
            tries = [(cell, "")] + ([(split.group(1), split.group(2))] if split else [])
            problem = ""
            for name, group in tries:
                found, why = self.villages.find(township + name)
                if found is not None:
                    self.combined[key] = (found, group, "")
                    break
                problem = problem or why
            else:
                self.combined[key] = (None, "", problem)
        return self.combined[key]

    def check(self, number: int, cells: dict) -> Person | None:
        before = len(self.errors)

        def fail(field: str, message: str) -> None:
            self.errors.add(number, field, message)

        def value(column: str) -> str:
            raw = cells.get(column)
            result = _person_name(raw) if column in NAME_COLUMNS else _text(raw)
            limit = MAX_LENGTHS.get(column)
            if limit and len(result) > limit:
                fail(column, f"不能超过{limit}个字")
            return result

        name = value(NAME)
        if not name:
            fail(NAME, "姓名不能为空")
        gender_text = value(GENDER)
        gender = GENDERS.get(gender_text)
        if not gender_text:
            fail(GENDER, "性别不能为空")
        elif gender is None:
            fail(GENDER, f"性别应填“男”或“女”,而不是“{gender_text}”")

        number_text = value(ID_NUMBER)
        id_number, born = "", None
        if not number_text:
            fail(ID_NUMBER, "身份证号不能为空")
        else:
            try:
                id_number = _id_number(number_text, self.today)
            except ValidationError as exc:
                message = exc.messages[0]
                raw = cells.get(ID_NUMBER)
                if isinstance(raw, int | float) and not isinstance(raw, bool):
                    message += "(该单元格是数字格式,Excel 只保留15位有效数字,请把该列设为文本后重新输入)"
                fail(ID_NUMBER, message)
            else:
                born = idnumber.birth_date_of(id_number)
                id_gender = Student.Gender.MALE if int(id_number[16]) % 2 else Student.Gender.FEMALE
                if gender and gender != id_gender:
                    fail(GENDER, f"性别与身份证号不符(身份证号显示为{Student.Gender(id_gender).label})")

        raw_birth = cells.get(BIRTH_DATE)
        birth_text = _text(raw_birth)
        if birth_text:
            birth_date = _birth_date(raw_birth)
            if birth_date is None:
                fail(BIRTH_DATE, f"无法识别日期“{birth_text[:20]}”,请填写如 2015-05-17 的日期")
            elif born is not None and birth_date != born:
                fail(BIRTH_DATE, f"出生日期与身份证号中的出生日期({born:%Y-%m-%d})不一致")

        village_text = value(VILLAGE)
        village, group = None, value(GROUP)
        if not village_text:
            fail(VILLAGE, "村(社区)不能为空")
        else:
            village, split_group, problem = self.village(value(TOWNSHIP), village_text)
            if problem:
                fail(VILLAGE, problem)
            group = group or split_group

        phone = value(PHONE)
        if phone and not tabular.PHONE.match(phone):
            fail(PHONE, f"电话号码“{phone[:30]}”格式不正确,应为手机号或带区号的座机号")
        household_head, relation = value(HEAD), value(RELATION)
        hukou, current, guardian = value(HUKOU), value(CURRENT), value(GUARDIAN)
        if len(self.errors) > before or village is None or gender is None or born is None:
            return None
        return Person(
            row=number,
            household_head=household_head,
            relation=relation,
            name=name,
            gender=gender,
            id_number=id_number,
            birth_date=born,
            village=village,
            group=group,
            hukou_address=hukou,
            current_address=current,
            guardian_name=guardian,
            guardian_phone=phone,
        )


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
