"""The screening part of the demo county for seed_demo (排查摸底), acted out through the real services.

Registered as a students.demo.hooks hook from casework's AppConfig right after the cases' hook:
seed_demo calls the hooks in the order they were registered, so the cases exist (their dropouts
show as 名在人不在) when the register is compared; accountability's hook, registered by a later
app, comes after. It tells the attendance builder nothing (``stories`` only keeps the seed's random
numbers). ``act``:

- builds the county's household register (户籍名单) as the public-security office sends it: an
  .xlsx of households by township, village and group (户主 and spouse rows for some households,
  under-6 and over-15 siblings, so the age filter has work), listing
  (a) the county's students by their 身份证号 — except the 随迁 students (户籍 elsewhere) and a few
      others who moved in: the 在籍不在册 of the comparison;
  (b) a few students under another 身份证号 (a typo in one office or the other): found only as a
      suggestion (same name, birth date and village);
  (c) children no school of the county enrols (未在本县学籍), spread over villages of every
      township, several of them in ``cadre``'s township; and one child who shares name, birth date
      and village with a 随迁 student but is another child (the suggestion a cadre rejects);
- imports it as ``bureau`` (services.start_import, then execute_import inline) on the school day
  IMPORT_SCHOOL_DAYS school days before the last day the demo acts on;
- on the school days after, the township cadres (and the bureau, for the children whose 学籍 says
  they transferred out) confirm the typos' suggestions but one, reject the other child's, and
  resolve every child enrolled nowhere (每种核实结论 at least once, with a PDF 证明 where one is
  required; one child becomes a 失学 case: a new student record, 未入学, of a school of their
  township other than ``principal``'s, see RegisterBuilder.case_school) — except in ONE village of
  ``cadre``'s township, left for the cadre: its children unresolved, its suggestion pending.

Every step is at a moment on a school day no later than the day before as_of (or as_of itself when
that is in the past), never later than now. Every choice comes from the seed's random numbers over
sorted lists (学籍号, township and village codes), so the same seed builds the same register.

At 100,000 students the register has ≈ 129,000 rows (≈ 97,000 of them school-age children) and the
hook takes ≈ 30 s of the seed: the file is written straight as sheet XML with shared strings (as Excel
saves a workbook: 3 s, openpyxl's writer took 30 s and stores every text inline, which also reads three
times slower), the import ≈ 20 s, the ≈ 400 resolutions ≈ 8 s.
"""

import bisect
import dataclasses
import datetime as dt
import heapq
import io
import itertools
import random
import re
import time
import zipfile
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from xml.sax.saxutils import escape

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from students import idnumber
from students.calendar import SchoolCalendar
from students.demo import files
from students.demo.hooks import ActingHook
from students.demo.names import (
    BOY_FIRST,
    BOY_NAMES,
    BOY_SECOND,
    BOY_SINGLE,
    FATHER_NAMES,
    GIRL_FIRST,
    GIRL_NAMES,
    GIRL_SECOND,
    GIRL_SINGLE,
    GRANDFATHER_NAMES,
    GRANDMOTHER_NAMES,
    MOTHER_NAMES,
    PHONE_PREFIXES,
    SURNAME_CUM,
    SURNAME_LIST,
    SURNAME_TOTAL,
)
from students.models import County, Guardian, Post, School, Student, User, Village

from ..models import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from . import register, selectors, services

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
COUNTY_LABEL = "青山县"
# The demo's students are aged for the 2026-2027 school year (students/demo/county.py YEAR_START).
CUTOFF = dt.date(2026, 8, 31)
IMPORT_SCHOOL_DAYS = 6  # the register is imported this many school days before the last day acted on
WHOLE_HOUSEHOLDS = 0.15  # households listed whole: the 户主's and the spouse's rows too
YOUNG_SIBLINGS = 0.08  # households with a child under 6 (not of age)
OLDER_SIBLINGS = 0.02  # households with a child of 16 or 17 (over age, not in school)
LEFT_OUT = 0.005  # besides the 随迁 students: students who moved in, not on the register
NOT_ENROLLED_PER = 500  # one child enrolled nowhere per this many students …
MIN_NOT_ENROLLED = 12  # … and at least this many
CADRE_TOWNSHIP_NOT_ENROLLED = 6  # of them in cadre's township, half in the village left unresolved
TYPOS_PER = 10_000  # one student under another 身份证号 per this many students (2 to 10)
# Resolutions of the children enrolled nowhere (besides the one 失学 case), by weight.
RESOLUTION_WEIGHTS = (
    (Resolution.ELSEWHERE, 35),
    (Resolution.MIGRANT, 25),
    (Resolution.MOVED, 15),
    (Resolution.SPECIAL, 6),
    (Resolution.DEFERRED, 6),
    (Resolution.SUSPENDED, 6),
    (Resolution.DECEASED, 2),
)
HEAD_ORDER = ("父亲", "祖父", "外祖父", "母亲", "祖母", "外祖母")
CHILD_RELATION = {
    "父亲": ("子", "女"),
    "母亲": ("子", "女"),
    "祖父": ("孙子", "孙女"),
    "祖母": ("孙子", "孙女"),
    "外祖父": ("外孙子", "外孙女"),
    "外祖母": ("外孙子", "外孙女"),
}
SPOUSE = {"父亲": "母亲", "祖父": "祖母", "外祖父": "外祖母"}
_GROUP = re.compile(r"(\d+)组$")
AWAY_SCHOOLS = {
    "广东东莞": ("广东省东莞市", "东莞市长安镇中心小学"),
    "广东深圳": ("广东省深圳市", "深圳市宝安区福永学校"),
    "广东佛山": ("广东省佛山市", "佛山市南海区桂城中学"),
    "浙江义乌": ("浙江省义乌市", "义乌市稠城第二小学"),
    "浙江宁波": ("浙江省宁波市", "宁波市鄞州区实验学校"),
    "福建晋江": ("福建省晋江市", "晋江市安海中心小学"),
    "江苏苏州": ("江苏省苏州市", "苏州工业园区星港学校"),
    "长沙": ("湖南省长沙市", "长沙市岳麓区博才小学"),
    "上海": ("上海市", "上海市松江区民乐学校"),
}
NOTES = {
    Resolution.ELSEWHERE: "随父母在外地就读,已取得学校出具的在读证明",
    Resolution.MIGRANT: "随父母外出务工,在流入地公办学校随迁就读",
    Resolution.SPECIAL: "重度残疾,县特殊教育学校送教上门(每月两次)",
    Resolution.DEFERRED: "因病延缓入学一年,已经县教育局批准",
    Resolution.SUSPENDED: "因病休学,已经县教育局批准",
    Resolution.DECEASED: "因病去世,村委会出具证明",
    Resolution.MOVED: "随父母户籍迁出本县",
    Resolution.OUT_OF_SCHOOL: "长期在家,家长未送孩子入学,经入户核实为失学",
}
EVIDENCE_FILES = {
    Resolution.ELSEWHERE: "在读证明.pdf",
    Resolution.DEFERRED: "延缓入学审批表.pdf",
    Resolution.SUSPENDED: "休学审批表.pdf",
    Resolution.DECEASED: "死亡证明.pdf",
    Resolution.MOVED: "户口迁移证明.pdf",
    Resolution.MIGRANT: "随迁就读证明.pdf",
}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI) + dt.timedelta(minutes=minute)


# --- files ---------------------------------------------------------------------------------------


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="{_PKG}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        f"</Types>"
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    # Styles: 0 default, 1 bold (the header), 2 text (@: 身份证号 and 电话 stay text in Excel).
    "xl/styles.xml": (
        f'{_XML}<styleSheet xmlns="{_MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
        '<font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    ),
}


def _column_letter(index: int) -> str:
    letters, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def register_xlsx(rows: Iterable[Sequence[str]], *, title: str = register.SHEET_TITLE) -> bytes:
    """An .xlsx of one sheet: the register's header, then ``rows`` (text cells in register.COLUMNS order).

    Written as Excel writes a workbook (every text once in the shared strings, cells pointing at
    them; 身份证号 and 电话 formatted as text), straight from the rows: openpyxl's write-only mode
    takes about ten times as long for a county's register and stores every text inline.
    """
    index: dict[str, int] = {}
    letters = [_column_letter(i) for i in range(len(register.COLUMNS))]
    text_columns = {register.COLUMNS.index(column) for column in register.TEXT_COLUMNS}
    styles = [' s="2"' if i in text_columns else "" for i in range(len(letters))]

    def line(number: int, values: Sequence[str], header: bool = False) -> str:
        cells = []
        for i, value in enumerate(values):
            if not value:
                continue
            shared = index.get(value)
            if shared is None:
                shared = index[value] = len(index)
            style = ' s="1"' if header else styles[i]
            cells.append(f'<c r="{letters[i]}{number}"{style} t="s"><v>{shared}</v></c>')
        return f'<row r="{number}">{"".join(cells)}</row>'

    body = [line(1, register.COLUMNS, header=True)]
    body += [line(number, values) for number, values in enumerate(rows, start=2)]
    sheet = (
        f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<dimension ref="A1:{letters[-1]}{len(body)}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
        ' state="frozen"/></sheetView></sheetViews>'
        f"<sheetData>{''.join(body)}</sheetData></worksheet>"
    )
    strings = "".join(f"<si><t>{escape(value)}</t></si>" for value in index)
    workbook = (
        f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<sheets><sheet name="{escape(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, part in _PARTS.items():
            archive.writestr(name, part)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr(
            "xl/sharedStrings.xml", f'{_XML}<sst xmlns="{_MAIN}" uniqueCount="{len(index)}">{strings}</sst>'
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


# --- the register --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Place:
    township_id: int
    township: str
    township_code: str
    village_id: int
    village: str
    village_code: str
    combined: bool  # this township's villages write 村 and 组 in one cell ("石门村3组")


@dataclasses.dataclass
class Household:
    place: Place
    group: str  # "3组", or "" in a 社区
    address: str  # 户籍地址 (and 现居地)
    head: str  # the 户主's name
    head_relation: str  # the 户主 to the child: 父亲, 祖母 …
    carer: tuple[str, str]  # the children's 监护人 (name, phone)
    # (name, relation to the 户主, 身份证号, birth date); the 户主 and spouse first when listed whole
    people: list[tuple[str, str, str, dt.date]] = dataclasses.field(default_factory=list)

    def rows(self) -> list[tuple[str, ...]]:
        """The household's register rows in register.COLUMNS order."""
        place = self.place
        if place.combined and self.group:
            village, group = place.village + self.group, ""
        else:
            village, group = place.village, self.group
        rows = []
        for name, relation, number, born in self.people:
            gender = "女" if int(number[16]) % 2 == 0 else "男"
            adult = relation in ("户主", "配偶")
            guardian, phone = ("", self.carer[1] if relation == "户主" else "") if adult else self.carer
            rows.append(
                (
                    self.head,
                    relation,
                    name,
                    gender,
                    number,
                    born.isoformat(),
                    place.township,
                    village,
                    group,
                    self.address,
                    self.address,
                    guardian,
                    phone,
                )
            )
        return rows


def _surname_of(name: str) -> str:
    return name[:2] if name.startswith("欧阳") else name[:1]


class _Names:
    """Names and phones drawn from students/demo/names.py as students/demo/county.py draws them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def surname(self) -> str:
        return SURNAME_LIST[bisect.bisect_right(SURNAME_CUM, self.rng.random() * SURNAME_TOTAL)]

    def child(self, female: bool, surname: str) -> str:
        rng, r = self.rng, self.rng.random()
        if r < 0.5:
            given = rng.choice(GIRL_NAMES if female else BOY_NAMES)
        elif r < 0.82:
            given = rng.choice(GIRL_FIRST if female else BOY_FIRST) + rng.choice(GIRL_SECOND if female else BOY_SECOND)
        else:
            given = rng.choice(GIRL_SINGLE if female else BOY_SINGLE)
        return surname + given

    def adult(self, female: bool, surname: str | None = None, old: bool = False) -> str:
        if old:
            given = self.rng.choice(GRANDMOTHER_NAMES if female else GRANDFATHER_NAMES)
        else:
            given = self.rng.choice(MOTHER_NAMES if female else FATHER_NAMES)
        return (surname or self.surname()) + given

    def phone(self) -> str:
        return f"{self.rng.choice(PHONE_PREFIXES)}{self.rng.randrange(10**8):08d}"


class _Numbers:
    """New valid 身份证号 nobody else has: the 顺序码 counted down from the top of its range (the
    students' count up from 0, students/demo/county.py)."""

    def __init__(self, region: str, taken: set[str]) -> None:
        self.region, self.taken, self.used = region, taken, Counter()

    def new(self, born: dt.date, female: bool) -> str | None:
        while self.used[born, female] < 250:
            sequence = 499 - self.used[born, female]
            self.used[born, female] += 1
            number = idnumber.make_id_number(self.region, born, sequence, female)
            if number not in self.taken:
                self.taken.add(number)
                return number
        return None


@dataclasses.dataclass
class Plan:
    """What the register holds besides the students listed by their own number, and what the demo does with it."""

    typos: list[str] = dataclasses.field(default_factory=list)  # register numbers of students listed under another
    pending: str = ""  # the typo whose suggestion stays pending (in the village left unresolved)
    rejected: str = ""  # the child who only shares name, birth date and village with a 随迁 student
    resolutions: dict[str, str] = dataclasses.field(default_factory=dict)  # a child's number → resolution
    out_of_school: str = ""  # the child who becomes a 失学 case …
    case_school: int | None = None  # … of this school
    unresolved_village: int | None = None
    transferred: set[str] = dataclasses.field(default_factory=set)  # listed students whose 学籍 says 转出
    left_out: int = 0  # students not on the register


class RegisterBuilder:
    """The county's household register as rows, and the plan of what the demo does with it."""

    def __init__(self, county: County, rng: random.Random) -> None:
        self.county, self.rng = county, rng
        self.names = _Names(rng)
        self.places: dict[int, Place] = {}
        townships: dict[int, int] = {}
        villages = Village.objects.filter(township__county=county).select_related("township")
        for village in villages.order_by("township__code", "code"):
            t = village.township
            position = townships.setdefault(t.pk, len(townships))
            self.places[village.pk] = Place(
                t.pk, t.name, t.code, village.pk, village.name, village.code, combined=position % 2 == 0
            )
        self.students = list(
            Student.objects.filter(school__county=county)
            .order_by("student_no", "id_number")
            .values_list(
                "pk", "id_number", "name", "gender", "birth_date", "status", "migrant", "village_id", "address"
            )
        )
        self.guardians: defaultdict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for student_id, name, relation, phone in (
            Guardian.objects.filter(student__school__county=county)
            .order_by("student_id", "pk")
            .values_list("student_id", "name", "relation", "phone")
        ):
            self.guardians[student_id].append((name, relation, phone))
        self.numbers = _Numbers(county.code, {row[1] for row in self.students})
        self.plan = Plan()
        self.households: list[Household] = []
        self.whole, self.young, self.older = WHOLE_HOUSEHOLDS, YOUNG_SIBLINGS, OLDER_SIBLINGS

    # --- people -------------------------------------------------------------------------------

    def adults(self, household: Household, spouse: str) -> None:
        """The 户主's and the spouse's rows, for the households listed whole."""
        if self.rng.random() >= self.whole:
            return
        old = household.head_relation not in ("父亲", "母亲")
        head_female = household.head_relation in ("母亲", "祖母", "外祖母")
        for name, relation, female in ((household.head, "户主", head_female), (spouse, "配偶", not head_female)):
            if not name:
                continue
            while True:
                start = dt.date(1952, 1, 1) if old else dt.date(1978, 1, 1)
                born = start + dt.timedelta(days=self.rng.randrange(365 * 16))
                number = self.numbers.new(born, female)
                if number:
                    break
            household.people.append((name, relation, number, born))

    def household(self, place: Place, group: str, address: str, guardians, surname: str) -> Household:
        """A child's household: the 户主 (and spouse) from their guardians, new adults when there are none."""
        by_relation = {relation: (name, phone) for name, relation, phone in guardians}
        relation = next((r for r in HEAD_ORDER if r in by_relation), "")
        if relation:
            head, phone = by_relation[relation]
        else:
            relation, head, phone = "父亲", self.names.adult(False, surname), self.names.phone()
        carer = (guardians[0][0], guardians[0][2]) if guardians else (head, phone)
        household = Household(place, group, address, head, relation, carer)
        self.adults(household, by_relation.get(SPOUSE.get(relation, ""), ("", ""))[0])
        return household

    def add_child(self, household: Household, name: str, number: str, born: dt.date) -> None:
        female = int(number[16]) % 2 == 0
        relation = CHILD_RELATION.get(household.head_relation, ("子", "女"))[female]
        household.people.append((name, relation, number, born))

    def siblings(self, household: Household, surname: str) -> None:
        """Now and then a younger child (under 6 on the cut-off day) or an older one (16–17, not screened)."""
        rng = self.rng
        r = rng.random()
        if r < self.young:
            born = dt.date(2020, 9, 1) + dt.timedelta(days=rng.randrange(1700))  # up to May 2025
        elif r < self.young + self.older:
            born = dt.date(2008, 9, 1) + dt.timedelta(days=rng.randrange(730))  # 16 or 17 on the cut-off day
        else:
            return
        female = rng.random() < 0.48
        number = self.numbers.new(born, female)
        if number:
            self.add_child(household, self.names.child(female, surname), number, born)

    def new_child(self, place: Place, *, name: str = "", born: dt.date | None = None, female=None) -> str:
        """A household of ``place`` whose child (6–15) no school of the county enrols; the child's number."""
        rng = self.rng
        female = rng.random() < 0.47 if female is None else female
        if born is None:
            age = rng.choices(range(6, 16), weights=(3, 2, 2, 2, 3, 3, 4, 5, 6, 6))[0]
            born = dt.date(CUTOFF.year - age - 1, 9, 1) + dt.timedelta(days=rng.randrange(365))
        number = self.numbers.new(born, female)
        if number is None:
            raise RuntimeError(f"no 顺序码 left for a demo child born {born}")
        surname = _surname_of(name) if name else self.names.surname()
        group = "" if place.village.endswith("社区") else f"{rng.randint(1, 12)}组"
        address = f"{COUNTY_LABEL}{place.township}{place.village}{group or f'{rng.randint(1, 260)}号'}"
        father, phone = self.names.adult(False, surname), self.names.phone()
        carer = (self.names.adult(True, old=True), self.names.phone()) if rng.random() < 0.5 else (father, phone)
        household = Household(place, group, address, father, "父亲", carer)
        self.adults(household, self.names.adult(True))
        self.add_child(household, name or self.names.child(female, surname), number, born)
        self.siblings(household, surname)
        self.households.append(household)
        return number

    # --- the register ---------------------------------------------------------------------------

    def cadre_township(self) -> int | None:
        post = Post.objects.filter(county=self.county, user__username="cadre", role=Post.Role.CADRE).first()
        if post is not None and post.township_id:
            return post.township_id
        first = School.objects.filter(county=self.county).order_by("code").first()
        return first.township_id if first else None

    def case_school(self, cadre_township: int | None) -> tuple[int, str] | None:
        """(school, stage) to take the 失学 case: a school of cadre's township (a primary school when there
        is one), else of the first township that has one — but not ``principal``'s school, whose own demo
        storyline (accountability's: a 家校 pledge with the family of a student the school is bringing back
        or of one at risk) needs students on its roll."""
        principal = Post.objects.filter(county=self.county, user__username="principal", role=Post.Role.PRINCIPAL)
        taken = set(principal.values_list("school_id", flat=True))
        townships = {p.township_id for p in self.places.values()}
        schools = [
            (pk, township_id, stage, code)
            for pk, township_id, stage, code in School.objects.filter(county=self.county)
            .order_by("code")
            .values_list("pk", "township_id", "stage", "code")
            if pk not in taken and township_id in townships
        ]
        if not schools:
            return None
        pk, _township, stage, _code = min(
            schools, key=lambda s: (s[1] != cadre_township, s[2] != School.Stage.PRIMARY, s[3])
        )
        return pk, stage

    def children_only(self, rows: int) -> list[tuple[str, ...]]:
        """A register of ``rows`` school-age children, one row each (the benchmark's): the county's students
        by their own number (in the order of their 学籍号, as many as fit), then children no school enrols
        over the county's villages; the households' 户主 named, their adults and siblings not listed."""
        self.whole = self.young = self.older = 0.0
        self.households = []
        for pk, number, name, _gender, born, _status, _migrant, village_id, address in self.students[:rows]:
            if village_id in self.places:
                place = self.places[village_id]
                match = _GROUP.search(address or "")
                group = f"{match.group(1)}组" if match and not place.village.endswith("社区") else ""
                household = self.household(place, group, address, self.guardians.get(pk, []), _surname_of(name))
                self.add_child(household, name, number, born)
                self.households.append(household)
        places = sorted(self.places.values(), key=lambda p: p.village_code)
        while len(self.households) < rows and places:
            self.new_child(self.rng.choice(places))
        return [row for household in self.households for row in household.rows()]

    def build(self) -> tuple[list[tuple[str, ...]], Plan]:
        rng, plan = self.rng, self.plan
        enrolled = Student.Status.ENROLLED
        eligible = [s for s in self.students if s[5] == enrolled and not s[6] and s[7] in self.places]
        cadre_township = self.cadre_township()

        # The village left for the cadre: one of their township's, with a student to mistype there.
        town_villages = sorted(
            (p for p in self.places.values() if p.township_id == cadre_township), key=lambda p: p.village_code
        )
        inhabited = {s[7] for s in eligible}
        left_for_cadre = [p for p in town_villages if p.village_id in inhabited] or town_villages
        if left_for_cadre:
            plan.unresolved_village = rng.choice(left_for_cadre).village_id

        # (b) students under another number: one in the village left unresolved (its suggestion stays
        # pending), the others anywhere (confirmed).
        n_typos = max(2, min(10, len(self.students) // TYPOS_PER))
        there = [s for s in eligible if s[7] == plan.unresolved_village]
        elsewhere = [s for s in eligible if s[7] != plan.unresolved_village]
        typo_students = [rng.choice(there)] if there else []
        typo_students += rng.sample(elsewhere, min(len(elsewhere), n_typos - len(typo_students)))
        mistyped = {s[0] for s in typo_students}

        # (d) the 随迁 students (户籍 elsewhere) and a few who moved in: not on the register.
        stay = [s for s in eligible if s[0] not in mistyped]
        left_out = {s[0] for s in self.students if s[6]}
        moved_in = max(2, round(len(self.students) * LEFT_OUT))
        left_out |= {s[0] for s in rng.sample(stay, min(len(stay), moved_in))}
        plan.left_out = len(left_out)

        # (a) every other student by their number (a typo's under the other one), in their household.
        typo_number: dict[int, str] = {}
        for pk, number, name, gender, born, status, _migrant, village_id, address in self.students:
            if pk in left_out or village_id not in self.places:
                continue
            place = self.places[village_id]
            match = _GROUP.search(address or "")
            group = f"{match.group(1)}组" if match and not place.village.endswith("社区") else ""
            surname = _surname_of(name)
            household = self.household(place, group, address, self.guardians.get(pk, []), surname)
            if pk in mistyped:
                other = self.numbers.new(born, gender == Student.Gender.FEMALE)
                if other:
                    typo_number[pk] = number = other
            self.add_child(household, name, number, born)
            self.siblings(household, surname)
            self.households.append(household)
            if status == Student.Status.TRANSFERRED_OUT:
                plan.transferred.add(number)
        plan.typos = [typo_number[s[0]] for s in typo_students if s[0] in typo_number]
        if there and typo_students[0][0] in typo_number:
            plan.pending = typo_number[typo_students[0][0]]

        # (c) children enrolled nowhere: several in the cadre's township (half of them in the village left
        # unresolved; one elsewhere in the township becomes the 失学 case), the rest over the county.
        places = sorted(self.places.values(), key=lambda p: p.village_code)
        mine = [p for p in town_villages if p.village_id != plan.unresolved_village]
        rest = [p for p in places if p.township_id != cadre_township] or places
        chosen: list[Place] = []
        if plan.unresolved_village is not None:
            chosen += [self.places[plan.unresolved_village]] * (CADRE_TOWNSHIP_NOT_ENROLLED // 2)
        chosen += rng.sample(mine, min(len(mine), CADRE_TOWNSHIP_NOT_ENROLLED - len(chosen)))
        total = max(MIN_NOT_ENROLLED, len(self.students) // NOT_ENROLLED_PER)
        chosen += [rng.choice(rest) for _ in range(total - len(chosen))]
        each = [resolution for resolution, _ in RESOLUTION_WEIGHTS]  # every resolution once, then by weight
        weights = [weight for _, weight in RESOLUTION_WEIGHTS]
        for place in chosen:
            number = self.new_child(place)
            if place.village_id == plan.unresolved_village:
                continue
            if each:
                plan.resolutions[number] = each.pop(0)
            else:
                plan.resolutions[number] = rng.choices([r for r, _ in RESOLUTION_WEIGHTS], weights)[0]

        # The child who becomes a 失学 case, of an age for the school that takes it.
        found = self.case_school(cadre_township)
        if found is not None:
            school_id, stage = found
            township = School.objects.get(pk=school_id).township_id
            homes = [p for p in places if p.township_id == township and p.village_id != plan.unresolved_village]
            if homes:
                ages = {School.Stage.PRIMARY: (7, 11), School.Stage.JUNIOR: (12, 14)}.get(stage, (8, 14))
                born = dt.date(CUTOFF.year - rng.randint(*ages) - 1, 9, 1) + dt.timedelta(days=rng.randrange(365))
                plan.out_of_school = self.new_child(rng.choice(homes), born=born)
                plan.case_school = school_id
                plan.resolutions[plan.out_of_school] = Resolution.OUT_OF_SCHOOL

        # The other child with a 随迁 student's name, birth date and village (the suggestion rejected).
        migrants = [s for s in self.students if s[6] and s[5] == enrolled and s[7] in self.places]
        migrants = [s for s in migrants if s[7] != plan.unresolved_village]
        if migrants:
            _pk, _number, name, gender, born, _status, _migrant, village_id, _address = rng.choice(migrants)
            female = gender == Student.Gender.FEMALE
            plan.rejected = self.new_child(self.places[village_id], name=name, born=born, female=female)
            plan.resolutions[plan.rejected] = Resolution.MIGRANT

        self.households.sort(
            key=lambda h: (h.place.township_code, h.place.village_code, _group_number(h.group), h.head)
        )
        return [row for household in self.households for row in household.rows()], plan


def _group_number(group: str) -> int:
    return int(group[:-1]) if group[:-1].isdigit() else 0


# --- acting it out -------------------------------------------------------------------------------


class _People:
    """The county's bureau user and each township's cadre."""

    def __init__(self, county: County):
        self.bureau: User | None = None
        self.cadre: dict[int, User] = {}
        for post in Post.objects.filter(county=county).select_related("user").order_by("pk"):
            if post.role == Post.Role.BUREAU and self.bureau is None:
                self.bureau = post.user
            elif post.role == Post.Role.CADRE and post.township_id and not post.village_id:
                self.cadre.setdefault(post.township_id, post.user)


@dataclasses.dataclass
class _Child:
    pk: int
    name: str
    id_number: str
    township_id: int | None
    village_id: int | None
    suggestion: str


class _Actions:
    """The cadres' and the bureau's work on the run's children, each step at its moment."""

    def __init__(self, run: ScreeningRun, plan: Plan, people: _People, days: list[dt.date], rng: random.Random):
        self.run, self.plan, self.people, self.days, self.rng = run, plan, people, days, rng
        self.steps: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.done: Counter = Counter()

    def at(self, moment: dt.datetime, step: Callable[[], None]) -> None:
        heapq.heappush(self.steps, (moment, next(self.order), step))

    def run_steps(self) -> None:
        while self.steps:
            moment, _, step = heapq.heappop(self.steps)
            with time_machine.travel(moment, tick=False):
                step()

    def resolver(self, child: _Child, bureau_share: float = 0.2) -> User:
        cadre = self.people.cadre.get(child.township_id) if child.township_id else None
        if cadre is None or self.rng.random() < bureau_share:
            assert self.people.bureau is not None
            return self.people.bureau
        return cadre

    def moment(self, earliest: dt.datetime) -> dt.datetime:
        """A moment in working hours on one of the days, after ``earliest``."""
        day = self.rng.choice([d for d in self.days if d >= earliest.date()] or self.days[-1:])
        moment = _at(day, self.rng.randint(9, 16), self.rng.randrange(60))
        if moment <= earliest:
            moment = earliest + dt.timedelta(minutes=30 + self.rng.randrange(90))
        return moment

    def schedule(self) -> None:
        plan, rng = self.plan, self.rng
        children = [
            _Child(*row)
            for row in ScreenedChild.objects.filter(run=self.run, outcome=ScreeningOutcome.NOT_ENROLLED, resolution="")
            .order_by("row_number", "pk")
            .values_list("pk", "name", "id_number", "township_id", "village_id", "suggestion")
        ]
        imported = self.run.created_at
        # The suggestions are decided first: the morning after the import (or an hour after it).
        first = (
            _at(self.days[0], 10) if self.days[0] > timezone.localdate(imported) else imported + dt.timedelta(hours=1)
        )
        pending = ScreenedChild.Suggestion.PENDING
        for child in children:
            if plan.unresolved_village is not None and child.village_id == plan.unresolved_village:
                continue  # the village left for the cadre
            if child.suggestion == pending and child.id_number != plan.rejected:
                confirmer = self.resolver(child)
                moment = first + dt.timedelta(minutes=rng.randrange(120))
                self.at(moment, lambda child=child, user=confirmer: self.confirm(user, child))
                continue
            earliest = imported
            if child.suggestion == pending:  # the other child of the 随迁 student's name: rejected first
                rejecter = self.resolver(child, 0)
                earliest = first + dt.timedelta(minutes=rng.randrange(120))
                self.at(earliest, lambda child=child, user=rejecter: self.reject(user, child))
            resolution = plan.resolutions.get(child.id_number, Resolution.ELSEWHERE)
            if child.id_number in plan.transferred:
                user = self.people.bureau  # the 学籍 system shows where they transferred to
            elif resolution == Resolution.OUT_OF_SCHOOL:
                user = self.people.cadre.get(child.township_id or 0) or self.people.bureau
            else:
                user = self.resolver(child)
            assert user is not None
            self.at(
                self.moment(earliest),
                lambda child=child, user=user, resolution=resolution: self.resolve(user, child, resolution),
            )

    # --- the steps ------------------------------------------------------------------------------

    def confirm(self, user: User, child: _Child) -> None:
        services.confirm_suggestion(user=user, child_id=child.pk)
        self.done["confirmed"] += 1

    def reject(self, user: User, child: _Child) -> None:
        services.reject_suggestion(user=user, child_id=child.pk)
        self.done["rejected"] += 1

    def resolve(self, user: User, child: _Child, resolution: str) -> None:
        rng = self.rng
        place, school = AWAY_SCHOOLS[rng.choice(sorted(AWAY_SCHOOLS))]
        data = services.ResolutionInput(resolution=resolution, note=NOTES.get(resolution, ""))
        if resolution == Resolution.ELSEWHERE:
            data.school, data.place = school, place
            if child.id_number in self.plan.transferred:
                data.note = "学籍已转出,在转入学校就读,已取得在读证明"
        elif resolution == Resolution.MIGRANT:
            data.school, data.place = school, place
        elif resolution == Resolution.SPECIAL:
            data.school, data.place = f"{COUNTY_LABEL}特殊教育学校", COUNTY_LABEL
        elif resolution == Resolution.MOVED:
            data.place = place
        elif resolution == Resolution.OUT_OF_SCHOOL:
            screened = ScreenedChild.objects.select_related("run").get(pk=child.pk)
            schools = list(selectors.responsible_schools(user, screened).values_list("pk", flat=True))
            data.responsible_school_id = self.plan.case_school if self.plan.case_school in schools else schools[0]
        label = EVIDENCE_FILES.get(resolution)
        if label and (resolution in ScreenedChild.EVIDENCE_REQUIRED or rng.random() < 0.5):
            line = f"{resolution} certificate, ID ending {child.id_number[-4:]}"
            data.evidence = SimpleUploadedFile(f"{child.name}{label}", files.pdf(line), content_type="application/pdf")
        services.resolve(user=user, child_id=child.pk, data=data)
        self.done[resolution] += 1


class DemoScreening(ActingHook):
    """The screening demo hook (students.demo.hooks): nothing to tell the attendance, then act."""

    def act(self, *, county, as_of: dt.date, write) -> dict[str, int]:
        started = time.monotonic()
        people = _People(county)
        if people.bureau is None:
            return {}
        calendar = SchoolCalendar(county.pk)
        span = calendar.term_of(as_of)
        last = min(as_of, timezone.localdate() - dt.timedelta(days=1))
        days = calendar.school_days(span[0], last) if span else []
        if not days:
            write("  排查 screening: (学期尚未开始,未生成 too early in the term)")
            return {}
        imported_on = days[max(0, len(days) - 1 - IMPORT_SCHOOL_DAYS)]
        rows, plan = RegisterBuilder(county, self.rng).build()
        content = register_xlsx(rows)
        with time_machine.travel(_at(imported_on, 9, 30), tick=False):
            upload = SimpleUploadedFile(
                f"{county.name}户籍人口名单(含适龄儿童少年).xlsx",
                content,
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            run = services.start_import(user=people.bureau, upload=upload, cutoff_on=CUTOFF)
            run = services.execute_import(run.pk)
        if run.status != ScreeningRun.Status.DONE:
            raise RuntimeError(f"the demo register was not imported: {run.error} {run.errors[:5]}")
        actions = _Actions(run, plan, people, [d for d in days if d > imported_on] or [imported_on], self.rng)
        actions.schedule()
        actions.run_steps()
        return _summary(run, len(rows), actions.done, time.monotonic() - started, write)


def _summary(run: ScreeningRun, rows: int, done: Counter, seconds: float, write) -> dict[str, int]:
    counts = selectors.outcome_counts(ScreenedChild.objects.filter(run=run))
    o = ScreeningOutcome
    write(
        f"  排查 screening: 户籍名单 register {rows:,} 行 rows (非适龄 not of age {run.counts['not_of_age']:,}); "
        f"在读且在校 attending {counts[o.ATTENDING]:,}, 名在人不在 absent {counts[o.ENROLLED_ABSENT]:,}, "
        f"未在本县学籍 not enrolled {counts[o.NOT_ENROLLED]:,} (已核实 resolved {counts['resolved']:,}, "
        f"待核实 left {counts['unresolved']:,}), 在籍不在册 not registered {counts[o.NOT_REGISTERED]:,}; "
        f"疑似匹配 suggestions 确认 confirmed {done['confirmed']}, 否定 rejected {done['rejected']}, "
        f"待确认 pending {counts['suggested']}; 失学个案 out-of-school cases {counts['out_of_school']} "
        f"({seconds:.1f} s)"
    )
    return {f"screening_{key}": value for key, value in counts.items()} | {"screening_rows": rows}
