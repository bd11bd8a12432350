"""The demo county builder behind ``manage.py seed_demo`` (DESIGN.md §8).

    python manage.py seed_demo [--students N] [--seed S] [--password P] [--as-of YYYY-MM-DD]
                               [--if-empty | --reset]

青山县 (hypothetical code 431226): townships and villages, schools of every stage, grades and
classes, students with realistic names, valid-checksum 身份证号 and guardians, the 2025-2026 and
2026-2027 school years with their terms, county closures, and accounts: the fixed demo logins
of DESIGN.md §8 plus a class teacher for every class, a principal for every school and a cadre
for every township (all sharing one password).

Then a term of attendance up to ``--as-of`` (default today; a day outside any term becomes the
last school day of the latest term begun before it): a daily report with its version-1 revision
for every class and school day, absences with the patterns of real classes (background sick and
personal leave, chronic absentees, sporadic truants, students drifting away), about 15% of the
classes not yet reported on as_of itself. Apps to the right add their part through hooks
(students.demo.hooks): casework's dropout cases tell the attendance builder beforehand which
students stop coming and when they leave and rejoin the roll (so 应到 is the roll of each day),
then act the cases out through the real services under a moving clock. Last the county's risk
rules are evaluated on as_of, so the demo shows red, orange and yellow flags and today's "not
reported" reminders. ``teacher``'s class always has a suspected dropout (red) and a chronic
absentee (yellow) and has not reported today; ``teacher2``'s class has a sporadic truant (orange).

Everything comes from ``random.Random(seed)``: the same seed, size and as_of give the same
names, ID numbers, 学籍号 and absences on every run. Rows are written with ``bulk_create`` in
one transaction (no simple_history rows for the seed), so 100,000 students with a term of
attendance take under two minutes on PostgreSQL.
"""

import argparse
import bisect
import dataclasses
import datetime as dt
import math
import random
import time
import zoneinfo
from collections import Counter

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, reset_queries
from django.db.models import Count
from django.utils import timezone

from students import idnumber
from students.attendance import risk
from students.calendar import SchoolCalendar, forget_calendars
from students.demo import hooks as demo_hooks
from students.demo.hooks import Story
from students.demo.names import (
    AWAY_PLACES,
    BOY_FIRST,
    BOY_NAMES,
    BOY_SECOND,
    BOY_SINGLE,
    DISABILITY_TYPES,
    ETHNICITIES,
    FATHER_NAMES,
    GIRL_FIRST,
    GIRL_NAMES,
    GIRL_SECOND,
    GIRL_SINGLE,
    GRANDFATHER_NAMES,
    GRANDMOTHER_NAMES,
    LOCAL_WORK,
    MIGRANT_HOMES,
    MOTHER_NAMES,
    PHONE_PREFIXES,
    SEAT,
    SEAT_COMMUNITIES,
    SURNAME_CUM,
    SURNAME_LIST,
    SURNAME_TOTAL,
    TOWNSHIP_NAMES,
    VILLAGE_BASES,
    chinese_number,
)
from students.models import (
    GRADE_NAMES,
    Absence,
    Classroom,
    Closure,
    County,
    DailyReport,
    DailyReportRevision,
    Grade,
    Guardian,
    Notification,
    Post,
    RiskFlag,
    RiskLevel,
    RiskRule,
    School,
    SchoolYear,
    Student,
    Term,
    Township,
    User,
    Village,
    name_pinyin,
)

COUNTY_NAME = "青山县"
REGION = "431226"  # hypothetical 行政区划代码 (湖南)
DEFAULT_STUDENTS = 2000
DEFAULT_SEED = 1

MIN_STUDENTS = 100

# The current school year is 2026-2027; a student of grade g turned 6 in the year before
# grade 1 (entry cut-off 31 August), so grade 1 was born 2019-09-01 … 2020-08-31.
YEAR_START = dt.date(2026, 9, 1)
POST_START = dt.date(2026, 9, 1)  # class teachers: this school year
LEADER_POST_START = dt.date(2025, 9, 1)  # bureau, principals, cadres: since last year

SCHOOL_YEARS = [
    # name, start, end, [(term name, start, end)]
    (
        "2025-2026",
        dt.date(2025, 9, 1),
        dt.date(2026, 8, 31),
        [
            ("秋季学期", dt.date(2025, 9, 1), dt.date(2026, 1, 16)),
            ("春季学期", dt.date(2026, 3, 2), dt.date(2026, 7, 3)),
        ],
    ),
    (
        "2026-2027",
        dt.date(2026, 9, 1),
        dt.date(2027, 8, 31),
        [
            ("秋季学期", dt.date(2026, 9, 1), dt.date(2027, 1, 22)),
            ("春季学期", dt.date(2027, 2, 22), dt.date(2027, 7, 2)),
        ],
    ),
]
CLOSURES = [
    (dt.date(2026, 6, 16), dt.date(2026, 6, 17), "强降雨(暴雨红色预警)全县中小学停课"),
    (dt.date(2026, 11, 6), dt.date(2026, 11, 6), "暴雨停课"),
    # chinesecalendar 1.11 has no 2027 data yet (weekdays only): enter the known holiday by hand.
    (dt.date(2027, 1, 1), dt.date(2027, 1, 1), "元旦放假"),
]

# --- attendance -------------------------------------------------------------------------------
# Shares of enrolled students and rates behind the term of attendance (see Seeder.build_attendance).
# A sick (60%: 1–3 days) or personal (1 day) leave starts: ≈2% of student-days. Short spells keep the
# tail thin: ≈0.5% of ordinary students still reach the yellow 10% line by bad luck (a long flu).
BACKGROUND_EPISODE_RATE = 0.017
CHRONIC_SHARE = 0.01  # absent 12–20% of past school days, mixed kinds → yellow (chronic_absence)
SPORADIC_SHARE = 0.006  # 3–5 scattered unexcused days in the last RECENT_DAYS → orange (recent_unexcused)
DRIFTING_SHARE = 0.003  # absent (unexcused / unknown) every day from a day in the last DRIFT_DAYS → red
RECENT_DAYS = 18  # school days before as_of; inside the 20-day window of the orange rule
DRIFT_DAYS = 15  # "the last three weeks" in school days
NOT_REPORTED_SHARE = 0.15  # classes that have not reported yet on as_of (when as_of is today)
REPORT_FROM = dt.time(7, 50)  # reports come in 07:50–08:40 Asia/Shanghai
REPORT_SPREAD_SECONDS = 50 * 60
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ATTENDANCE_BATCH = 5000

NORMAL, CHRONIC, SPORADIC, DRIFTING = "normal", "chronic", "sporadic", "drifting"
SICK, PERSONAL, UNEXCUSED, UNKNOWN = "sick", "personal", "unexcused", "unknown"
TRUANT_KINDS = (UNEXCUSED, UNKNOWN)
CHRONIC_KINDS = ((SICK, 45), (PERSONAL, 30), (UNKNOWN, 15), (UNEXCUSED, 10))
SICK_NOTES = ("发烧", "发烧", "感冒", "咳嗽", "肚子疼", "腹泻", "牙疼", "头疼", "去县医院复查", "水痘,居家隔离", "", "")
PERSONAL_NOTES = ("家中有事", "家中有事", "随家长走亲戚", "参加亲属葬礼", "家长带去办身份证", "家里农忙", "", "")
NOT_CONTACTED_NOTES = ("电话未接通", "电话未接通", "家长电话关机", "监护人电话无人接听", "")
UNEXCUSED_NOTES = ("家长称已按时出门上学", "祖母称孩子不愿上学", "在镇上网吧找到", "家长不知情,正在寻找", "")
UNKNOWN_NOTES = ("家长说不清缺勤原因", "家长在外务工,祖辈不知情", "")
DRIFT_NOTES = ("家长称孩子不愿上学", "疑似随父母外出", "已家访,家中无人", "祖父母管不住,孩子在家玩手机", "")

# Fixed demo accounts (DESIGN.md §8): username → (display name template, post title).
FIXED_USERNAMES = ("bureau", "principal", "teacher", "teacher2", "principal2", "cadre", "admin")


# School kinds: (stage, relative size)
CITY_SLOTS = (
    ("实验小学", School.Stage.PRIMARY, 3.0),
    ("第一中学", School.Stage.JUNIOR, 3.2),
    ("第二中学", School.Stage.JUNIOR, 2.6),
    ("第一小学", School.Stage.PRIMARY, 2.6),
    ("第三中学", School.Stage.JUNIOR, 2.2),
    ("第二小学", School.Stage.PRIMARY, 2.2),
    ("第四中学", School.Stage.JUNIOR, 1.8),
    ("第三小学", School.Stage.PRIMARY, 1.8),
    ("民族中学", School.Stage.JUNIOR, 1.6),
    ("第四小学", School.Stage.PRIMARY, 1.6),
)
STAGE_LEVELS = {
    School.Stage.PRIMARY: range(1, 7),
    School.Stage.JUNIOR: range(7, 10),
    School.Stage.NINE_YEAR: range(1, 10),
}


@dataclasses.dataclass
class SchoolPlan:
    name: str
    stage: str
    weight: float
    township: int  # index into the township list
    city: bool = False
    central: bool = False  # 中心小学 / 九年一贯制: boarding in the upper primary grades


@dataclasses.dataclass
class Built:
    county: County
    townships: list
    villages: list  # per township index: list of Village
    schools: list
    plans: list
    classrooms: list  # (school index, Classroom), in school, grade, number order
    class_sizes: list


def split(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (cumulative rounding)."""
    whole = sum(weights)
    parts, acc, prev = [], 0.0, 0
    for weight in weights:
        acc += weight
        cur = round(total * acc / whole)
        parts.append(cur - prev)
        prev = cur
    return parts


def school_counts(students: int) -> tuple[int, int]:
    """(schools, townships) for a county of this many students: ≈660 students a school."""
    schools = max(2, min(6, students // 150), round(students / 660))
    townships = min(len(TOWNSHIP_NAMES), max(8, round(schools / 6)))
    return schools, townships


class PinyinCache:
    """The same values ``Student.fill_derived`` computes, once per distinct name."""

    def __init__(self):
        self._cache: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str) -> tuple[str, str]:
        hit = self._cache.get(name)
        if hit is None:
            hit = self._cache[name] = name_pinyin(name)
        return hit


def wipe_demo_data() -> None:
    """Empty every table of the project's apps (plus sessions) and restart their id sequences.

    One TRUNCATE … CASCADE on PostgreSQL; DELETEs on SQLite (foreign keys are deferred, so the
    order does not matter inside the transaction). Sessions go too: a stale session cookie must
    not log somebody in as whichever new user got the old id.
    """
    models = []
    for label in ("students", "casework", "accountability", "reporting"):
        if label in apps.app_configs:
            models.extend(apps.get_app_config(label).get_models(include_auto_created=True))
    if apps.is_installed("django.contrib.sessions"):
        models.append(apps.get_model("sessions", "Session"))
    tables = sorted({m._meta.db_table for m in models if m._meta.managed and not m._meta.proxy})
    existing = set(connection.introspection.table_names())
    tables = [t for t in tables if t in existing]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with pending deferred FK checks from earlier in the same
        # transaction (e.g. a test that seeds twice): run those checks now, then defer again.
        sql = ["SET CONSTRAINTS ALL IMMEDIATE;", *sql, "SET CONSTRAINTS ALL DEFERRED;"]
    connection.ops.execute_sql_flush(sql)


def parse_day(value) -> dt.date | None:
    """``--as-of`` from the command line (a string) or from call_command (a string or a date)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CommandError(f"日期格式错误 invalid date: {value} (YYYY-MM-DD)") from exc


def date_argument(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期格式错误 invalid date: {value} (YYYY-MM-DD)") from exc


def analyze_tables() -> None:
    """Refresh the planner's statistics after the bulk load (PostgreSQL).

    Without it the planner still believes the fresh tables are nearly empty until autovacuum
    gets round to them, and picks sequential scans: a class's risk re-evaluation right after
    the seed then reads all 100k+ absences (≈300 ms instead of ≈2 ms).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def has_demo_data() -> bool:
    return County.objects.exists() or Student.objects.exists()


def resolve_as_of(county_id: int, day: dt.date) -> tuple[dt.date, bool]:
    """(as_of, clamped): ``day`` itself inside a term, else the last school day of the latest term begun before it."""
    calendar = SchoolCalendar(county_id)
    if calendar.term_of(day) is not None:
        return day, False
    begun = [(start, end) for start, end in calendar.terms if start <= day]
    if not begun:
        first = calendar.terms[0][0] if calendar.terms else None
        raise CommandError(f"--as-of {day} 早于演示数据的第一个学期 (starts {first}) / before the first demo term")
    start, end = begun[-1]
    days = calendar.school_days(start, end)
    return (days[-1] if days else end), True


def _assign_pks(model, objs: list, key_fields: tuple[str, ...]) -> None:
    """After bulk_create: backends that cannot return ids get them by natural key."""
    if not objs or objs[0].pk is not None:
        return
    found = {tuple(row[1:]): row[0] for row in model.objects.values_list("pk", *key_fields)}
    for obj in objs:
        obj.pk = found[tuple(getattr(obj, f) for f in key_fields)]


class Seeder:
    def __init__(self, students: int, seed: int, password: str, write=None, batch_size: int = 2000):
        self.total = students
        self.rng = random.Random(seed)
        self.password_hash = make_password(password)
        self.write = write or (lambda msg: None)
        self.batch_size = batch_size
        self.pinyin = PinyinCache()
        self.id_sequences: Counter = Counter()
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.class_teacher: dict[int, int] = {}  # classroom id → class teacher's user id
        self.enrolled_by_class: dict[int, list[int]] = {}  # classroom id → enrolled student ids, ascending
        self.fixed_rooms: dict[str, int] = {}  # "teacher" / "teacher2" → classroom id
        self.as_of: dt.date | None = None
        self.post_start = POST_START  # class teachers' posts start (set by run from as_of)
        eth_cum, acc = [], 0
        for _, w in ETHNICITIES:
            acc += w
            eth_cum.append(acc)
        self._eth_cum = eth_cum

    # --- names and small facts ----------------------------------------------------------------

    def surname(self) -> str:
        return SURNAME_LIST[bisect.bisect_right(SURNAME_CUM, self.rng.random() * SURNAME_TOTAL)]

    def child_given(self, female: bool) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return rng.choice(GIRL_NAMES if female else BOY_NAMES)
        if r < 0.82:
            first = rng.choice(GIRL_FIRST if female else BOY_FIRST)
            second = rng.choice(GIRL_SECOND if female else BOY_SECOND)
            if first != second:
                return first + second
            return rng.choice(GIRL_NAMES if female else BOY_NAMES)
        return rng.choice(GIRL_SINGLE if female else BOY_SINGLE)

    def adult_name(self, female: bool, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.rng.choice(MOTHER_NAMES if female else FATHER_NAMES)

    def phone(self) -> str:
        return f"{self.rng.choice(PHONE_PREFIXES)}{self.rng.randrange(10**8):08d}"

    def ethnicity(self) -> str:
        return ETHNICITIES[bisect.bisect_right(self._eth_cum, self.rng.random() * self._eth_cum[-1])][0]

    def birth_date(self, level: int) -> dt.date:
        # Born between 1 Sept of (2020 - level) and 31 Aug of (2021 - level); 5% a year older.
        start = dt.date(YEAR_START.year - 6 - level, 9, 1)
        if self.rng.random() < 0.05:
            start = start.replace(year=start.year - 1)
        return start + dt.timedelta(days=self.rng.randrange(365))

    def id_number(self, born: dt.date, female: bool) -> tuple[dt.date, str]:
        """A unique valid number: the 顺序码 counts per (birth date, sex), at most 500 each."""
        while self.id_sequences[born, female] >= 500:
            born += dt.timedelta(days=1)
        seq = self.id_sequences[born, female]
        self.id_sequences[born, female] += 1
        return born, idnumber.make_id_number(REGION, born, seq, female)

    # --- the org tree -------------------------------------------------------------------------

    def build_places(self) -> Built:
        rng = self.rng
        n_schools, n_townships = school_counts(self.total)
        county = County.objects.create(name=COUNTY_NAME, code=REGION)

        townships = []
        for i, name in enumerate(TOWNSHIP_NAMES[:n_townships]):
            code = f"{REGION}{(100 if name.endswith('镇') else 200) + i:03d}"
            townships.append(Township(county=county, name=name, code=code))
        Township.objects.bulk_create(townships)
        _assign_pks(Township, townships, ("county_id", "name"))

        villages_by_t: list[list[Village]] = []
        all_villages = []
        for i, township in enumerate(townships):
            names = []
            if i == SEAT:
                names += [c + "社区" for c in SEAT_COMMUNITIES[: rng.randint(4, 6)]]
                names += [b + "村" for b in rng.sample(VILLAGE_BASES, rng.randint(2, 4))]
            else:
                if township.name.endswith("镇"):
                    names.append(township.name[:-1] + "社区")
                names += [b + "村" for b in rng.sample(VILLAGE_BASES, rng.randint(4, 10) - len(names))]
            row = []
            for j, name in enumerate(names):
                number = j + 1 if name.endswith("社区") else 200 + j
                row.append(Village(township=township, name=name, code=f"{township.code}{number:03d}"))
            villages_by_t.append(row)
            all_villages += row
        Village.objects.bulk_create(all_villages, batch_size=1000)
        _assign_pks(Village, all_villages, ("township_id", "name"))

        plans = self.plan_schools(townships, villages_by_t, n_schools)
        schools = [
            School(
                county=county,
                township=townships[plan.township],
                name=plan.name,
                code=f"21{REGION[:4]}{k + 1:04d}",
                stage=plan.stage,
                address=f"{COUNTY_NAME}{townships[plan.township].name}",
            )
            for k, plan in enumerate(plans)
        ]
        School.objects.bulk_create(schools, batch_size=1000)
        _assign_pks(School, schools, ("code",))

        # Students per school ∝ weight, per grade roughly even, classes of about 36–46.
        per_school = split(self.total, [p.weight for p in plans])
        grades, classrooms, class_sizes = [], [], []
        for k, (school, plan, count) in enumerate(zip(schools, plans, per_school, strict=True)):
            levels = list(STAGE_LEVELS[plan.stage])
            weights = [rng.uniform(0.92, 1.08) * (0.95 if level == 9 else 1.0) for level in levels]
            target = rng.randint(36, 46)
            for level, grade_count in zip(levels, split(count, weights), strict=True):
                grade = Grade(school=school, level=level, name=GRADE_NAMES[level])
                grades.append(grade)
                n_classes = max(1, round(grade_count / target))
                if grade_count / n_classes > 52:
                    n_classes += 1
                if k == 0 and level == 7:
                    n_classes = max(2, n_classes)  # teacher and teacher2 need two classes
                for number, size in enumerate(split(grade_count, [1.0] * n_classes), start=1):
                    room = Classroom(
                        school=school, grade=grade, number=number, name=Classroom.default_name(grade.name, number)
                    )
                    classrooms.append((k, room))
                    class_sizes.append(size)
        Grade.objects.bulk_create(grades, batch_size=1000)
        _assign_pks(Grade, grades, ("school_id", "level"))
        Classroom.objects.bulk_create([room for _, room in classrooms], batch_size=1000)
        _assign_pks(Classroom, [room for _, room in classrooms], ("grade_id", "number"))

        self.counts.update(
            townships=len(townships),
            villages=len(all_villages),
            schools=len(schools),
            grades=len(grades),
            classrooms=len(classrooms),
        )
        return Built(county, townships, villages_by_t, schools, plans, classrooms, class_sizes)

    def plan_schools(self, townships, villages_by_t, n_schools: int) -> list[SchoolPlan]:
        """Round robin over the townships so that any prefix is a believable mix of stages."""
        rng = self.rng
        queues = []
        for i, township in enumerate(townships):
            tname = township.name
            village_primaries = [
                SchoolPlan(f"{tname}{v.name[:-1]}小学", School.Stage.PRIMARY, 0.3, i)
                for v in villages_by_t[i]
                if v.name.endswith("村")
            ]
            if i == SEAT:
                slots = [SchoolPlan(COUNTY_NAME + n, stage, w, i, city=True) for n, stage, w in CITY_SLOTS]
            elif i == 0:
                # The first school (principal, teacher, teacher2) is a township 初中.
                slots = [
                    SchoolPlan(f"{tname}中学", School.Stage.JUNIOR, 1.6, i),
                    SchoolPlan(f"{tname}中心小学", School.Stage.PRIMARY, 1.3, i, central=True),
                ]
            else:
                big = tname.endswith("镇")
                secondary = (
                    SchoolPlan(f"{tname}中学", School.Stage.JUNIOR, 1.5, i)
                    if big or rng.random() < 0.3
                    else SchoolPlan(f"{tname}九年一贯制学校", School.Stage.NINE_YEAR, 1.3, i, central=True)
                )
                central = SchoolPlan(f"{tname}中心小学", School.Stage.PRIMARY, 1.2 if big else 0.9, i, central=True)
                slots = [central, secondary] if i % 2 == 0 else [secondary, central]
            queues.append(slots + village_primaries)

        plans, used, extra = [], set(), 0
        while len(plans) < n_schools:
            progressed = False
            for queue in queues:
                if queue and len(plans) < n_schools:
                    plan = queue.pop(0)
                    if plan.name not in used:
                        used.add(plan.name)
                        plans.append(plan)
                    progressed = True
            if not progressed:
                # Bigger than any real county: each township gets one more primary school.
                extra += 1
                for i, township in enumerate(townships):
                    name = f"{township.name}第{chinese_number(extra + 1)}小学"
                    queues[i].append(SchoolPlan(name, School.Stage.PRIMARY, 0.8, i))
        return plans

    def build_calendar(self, county: County) -> None:
        for name, start, end, terms in SCHOOL_YEARS:
            year = SchoolYear.objects.create(county=county, name=name, start_date=start, end_date=end)
            Term.objects.bulk_create([Term(school_year=year, name=t, start_date=s, end_date=e) for t, s, e in terms])
        Closure.objects.bulk_create(
            [Closure(county=county, start_date=s, end_date=e, reason=r) for s, e, r in CLOSURES]
        )
        # bulk_create sends no post_save: drop calendars cached under a reused county id.
        forget_calendars()
        self.counts.update(school_years=len(SCHOOL_YEARS), terms=sum(len(y[3]) for y in SCHOOL_YEARS))

    # --- accounts -----------------------------------------------------------------------------

    def build_accounts(self, built: Built) -> None:
        county, schools, townships = built.county, built.schools, built.townships
        first, second = schools[0], schools[1]
        grade7 = [room for k, room in built.classrooms if k == 0 and room.grade.level == 7]
        class_a, class_b = grade7[0], grade7[1]
        town_title = "分管教育副镇长" if townships[0].name.endswith("镇") else "分管教育副乡长"

        # username, display name, superuser, posts [(role, title, start, scope kwargs)]
        specs = [
            ("admin", "系统管理员", True, []),
            ("bureau", "县教育局 李科长", False, [(Post.Role.BUREAU, "基础教育股股长", LEADER_POST_START, {})]),
            (
                "principal",
                f"{first.name} 张校长",
                False,
                [(Post.Role.PRINCIPAL, "校长", LEADER_POST_START, {"school": first})],
            ),
            (
                "teacher",
                f"{class_a.name} 陈老师",
                False,
                [(Post.Role.CLASS_TEACHER, "班主任", self.post_start, {"classroom": class_a, "school": first})],
            ),
            (
                "teacher2",
                f"{class_b.name} 刘老师",
                False,
                [(Post.Role.CLASS_TEACHER, "班主任", self.post_start, {"classroom": class_b, "school": first})],
            ),
            (
                "principal2",
                f"{second.name} 赵校长",
                False,
                [(Post.Role.PRINCIPAL, "校长", LEADER_POST_START, {"school": second})],
            ),
            (
                "cadre",
                f"{townships[0].name} 吴{town_title[-3:]}",
                False,
                [(Post.Role.CADRE, town_title, LEADER_POST_START, {"township": townships[0]})],
            ),
        ]
        fixed_rooms = {class_a.pk, class_b.pk}
        self.fixed_rooms = {"teacher": class_a.pk, "teacher2": class_b.pk}
        for k, school in enumerate(schools[2:], start=2):
            specs.append(
                (
                    f"p{k + 1:03d}",
                    self.adult_name(self.rng.random() < 0.3),
                    False,
                    [(Post.Role.PRINCIPAL, "校长", LEADER_POST_START, {"school": school})],
                )
            )
        for i, township in enumerate(townships[1:], start=1):
            title = "分管教育副镇长" if township.name.endswith("镇") else "分管教育副乡长"
            specs.append(
                (
                    f"c{i + 1:02d}",
                    self.adult_name(self.rng.random() < 0.4),
                    False,
                    [(Post.Role.CADRE, title, LEADER_POST_START, {"township": township})],
                )
            )
        for k, room in built.classrooms:
            if room.pk in fixed_rooms:
                continue
            specs.append(
                (
                    f"t{k + 1:03d}{room.grade.level}{room.number:02d}",
                    self.adult_name(self.rng.random() < 0.6),
                    False,
                    [(Post.Role.CLASS_TEACHER, "班主任", self.post_start, {"classroom": room, "school": schools[k]})],
                )
            )

        usernames = [s[0] for s in specs]
        existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
        new_users, users = [], {}
        for username, display, superuser, _ in specs:
            user = existing.get(username) or User(username=username)
            user.password = self.password_hash
            user.display_name = display
            user.is_superuser = user.is_staff = superuser
            user.is_active = True
            users[username] = user
            if user.pk is None:
                new_users.append(user)
        User.objects.bulk_create(new_users, batch_size=2000)
        _assign_pks(User, new_users, ("username",))
        if existing:
            User.objects.bulk_update(
                list(existing.values()), ["password", "display_name", "is_superuser", "is_staff", "is_active"]
            )

        posts = []
        for username, _, _, post_specs in specs:
            for role, title, start, scope in post_specs:
                post = Post(user=users[username], role=role, title=title, county=county, start_date=start, **scope)
                post.fill_parents()
                posts.append(post)
                if role == Post.Role.CLASS_TEACHER:
                    self.class_teacher[post.classroom_id] = users[username].pk
        Post.objects.bulk_create(posts, batch_size=2000)
        self.counts.update(users=len(specs), posts=len(posts))

    # --- students -----------------------------------------------------------------------------

    def guardians_for(self, surname: str, left_behind: bool, single: bool, orphan: bool) -> list[dict]:
        rng = self.rng

        def person(relation: str, away: bool = False) -> dict:
            if relation == "父亲":
                name = self.adult_name(False, surname)
            elif relation == "母亲":
                name = self.adult_name(True)
            elif relation == "祖父":
                name = surname + rng.choice(GRANDFATHER_NAMES)
            elif relation == "祖母":
                name = self.surname() + rng.choice(GRANDMOTHER_NAMES)
            else:  # 外祖父 / 外祖母
                female = relation == "外祖母"
                name = self.surname() + rng.choice(GRANDMOTHER_NAMES if female else GRANDFATHER_NAMES)
            old = relation not in ("父亲", "母亲")
            employer = rng.choice(AWAY_PLACES) if away else ("务农" if old else rng.choice(LOCAL_WORK))
            return {"name": name, "relation": relation, "phone": self.phone(), "employer": employer, "works_away": away}

        if orphan:
            carers = rng.choice((["祖父", "祖母"], ["祖母"], ["外祖母"], ["祖父"]))
            return [person(r) for r in carers]
        if left_behind:
            carer = rng.choices(("祖母", "祖父", "外祖母"), weights=(55, 30, 15))[0]
            parent = "父亲" if rng.random() < 0.65 else "母亲"
            return [person(carer), person(parent, away=True)]
        if single:
            parent = "母亲" if rng.random() < 0.6 else "父亲"
            out = [person(parent, away=rng.random() < 0.2)]
            if rng.random() < 0.5:
                out.append(person(rng.choice(("祖父", "祖母"))))
            return out
        r = rng.random()
        if r < 0.75:
            return [person("父亲", away=rng.random() < 0.25), person("母亲")]
        return [person("母亲")] if r < 0.9 else [person("父亲")]

    def build_students(self, built: Built, started: float) -> None:
        rng = self.rng
        townships, villages = built.townships, built.villages
        n_townships = len(townships)
        batch: list[Student] = []
        batch_guardians: list[list[dict]] = []
        made = 0
        self.counts.update(students=0, guardians=0)

        for (k, room), size in zip(built.classrooms, built.class_sizes, strict=True):
            plan = built.plans[k]
            school = built.schools[k]
            level = room.grade.level
            if level >= 7:
                boarding_rate = 0.15 if plan.city else 0.6
            elif level >= 4 and plan.central:
                boarding_rate = 0.15
            else:
                boarding_rate = 0.0
            for _ in range(size):
                female = rng.random() < 0.48
                surname = self.surname()
                name = surname + self.child_given(female)
                born, id_number = self.id_number(self.birth_date(level), female)

                t = plan.township if rng.random() < 0.85 or n_townships == 1 else rng.randrange(n_townships)
                village = rng.choice(villages[t])
                if village.name.endswith("社区"):
                    address = f"{COUNTY_NAME}{townships[t].name}{village.name}{rng.randint(1, 260)}号"
                else:
                    address = f"{COUNTY_NAME}{townships[t].name}{village.name}{rng.randint(1, 12)}组"

                orphan = rng.random() < 0.005
                single = not orphan and rng.random() < 0.05
                migrant = not orphan and rng.random() < 0.03
                left_behind = not (orphan or migrant) and rng.random() < 0.20
                disabled = rng.random() < 0.01
                poverty = rng.random() < (0.3 if (orphan or single or disabled) else 0.07)
                r = rng.random()
                if r < 0.003:
                    status = Student.Status.SUSPENDED
                elif r < 0.005:
                    status = Student.Status.TRANSFERRED_OUT
                else:
                    status = Student.Status.ENROLLED

                pinyin, initials = self.pinyin(name)
                student = Student(
                    student_no="G" + id_number,
                    id_number=id_number,
                    name=name,
                    name_pinyin=pinyin,
                    name_initials=initials,
                    gender=Student.Gender.FEMALE if female else Student.Gender.MALE,
                    birth_date=born,
                    ethnicity=self.ethnicity(),
                    school_id=school.pk,
                    classroom_id=room.pk,
                    village_id=village.pk,
                    hukou_address=rng.choice(MIGRANT_HOMES) if migrant else address,
                    address=address,
                    boarding=rng.random() < boarding_rate,
                    left_behind=left_behind,
                    poverty_registered=poverty,
                    single_parent=single,
                    orphan=orphan,
                    disabled=disabled,
                    disability_type=rng.choice(DISABILITY_TYPES) if disabled else "",
                    migrant=migrant,
                    learning_difficulty=rng.random() < 0.06,
                    status=status,
                )
                batch.append(student)
                batch_guardians.append(self.guardians_for(surname, left_behind, single, orphan))
                made += 1
                if len(batch) >= self.batch_size:
                    self._flush_students(batch, batch_guardians)
                    batch, batch_guardians = [], []
                if made % 10000 == 0:
                    self.write(f"  学生 students: {made:,}/{self.total:,}  ({time.monotonic() - started:.1f} s)")
        self._flush_students(batch, batch_guardians)

    def _flush_students(self, students: list[Student], guardians: list[list[dict]]) -> None:
        if not students:
            return
        Student.objects.bulk_create(students, batch_size=self.batch_size)
        _assign_pks(Student, students, ("student_no",))
        for student in students:
            if student.status == Student.Status.ENROLLED:
                self.enrolled_by_class.setdefault(student.classroom_id, []).append(student.pk)
        rows = [
            Guardian(student_id=student.pk, **g) for student, gs in zip(students, guardians, strict=True) for g in gs
        ]
        Guardian.objects.bulk_create(rows, batch_size=5000)
        self.counts["students"] += len(students)
        self.counts["guardians"] += len(rows)

    # --- attendance -----------------------------------------------------------------------------

    def build_attendance(
        self, built: Built, as_of: dt.date, clamped: bool, days: list[dt.date], stories: dict[int, Story]
    ) -> None:
        """Daily reports of every class for every school day of the term up to ``as_of``.

        Every class reported every past school day; on ``as_of`` (when it is today's school day,
        not a clamped date) about 15% have not reported yet, among them ``teacher``'s class so
        that the demo teacher can take today's attendance. Absences follow the patterns above;
        ``teacher``'s class always has a drifting-away and a chronic student, ``teacher2``'s a
        sporadic truant. Every report gets its version-1 revision. A student with a story (from a
        demo hook) is absent on the story's days instead, and not counted in 应到 while off the roll.
        """
        rng = self.rng
        n_days = len(days)
        index_of = {day: i for i, day in enumerate(days)}
        has_today = bool(days) and days[-1] == as_of
        n_past = n_days - 1 if has_today else n_days
        skip_today = has_today and not clamped
        opening = [dt.datetime.combine(day, REPORT_FROM, tzinfo=SHANGHAI) for day in days]
        now = timezone.now()
        latest = now if as_of == timezone.localdate(now) else None  # today: nothing submitted after now
        teacher_room, teacher2_room = self.fixed_rooms.get("teacher"), self.fixed_rooms.get("teacher2")

        pending: list[tuple[DailyReport, list[tuple]]] = []
        self.counts.update(reports=0, absences=0, revisions=0, not_reported=0)
        for _, room in built.classrooms:
            enrolled = self.enrolled_by_class.get(room.pk, [])
            user_id = self.class_teacher[room.pk]
            reported_today = True
            if skip_today:
                if room.pk == teacher_room:
                    reported_today = False
                elif room.pk != teacher2_room:
                    reported_today = rng.random() >= NOT_REPORTED_SHARE
                self.counts["not_reported"] += not reported_today

            forced: dict[int, str] = {}
            if room.pk == teacher_room and len(enrolled) >= 2:
                drifting, chronic = rng.sample(enrolled, 2)
                forced = {drifting: DRIFTING, chronic: CHRONIC}
            elif room.pk == teacher2_room and enrolled:
                forced = {rng.choice(enrolled): SPORADIC}

            per_day: list[list[tuple]] = [[] for _ in range(n_days)]
            on_roll = [len(enrolled)] * n_days
            for student_id in enrolled:
                story = stories.get(student_id)
                if story is None:
                    pattern = forced.get(student_id) or self.pattern()
                    marks = self.student_marks(pattern, n_days, n_past)
                else:
                    for i, day in enumerate(days):
                        on_roll[i] -= not story.on_roll(day)
                    marks = {index_of[d]: a for d, a in story.absences.items() if d in index_of and story.on_roll(d)}
                for i, (kind, note, contacted) in sorted(marks.items()):
                    per_day[i].append((student_id, kind, note, contacted))  # ascending student id

            for i in range(n_days if reported_today else n_past):
                absent = per_day[i]
                submitted_at = opening[i] + dt.timedelta(seconds=rng.randrange(REPORT_SPREAD_SECONDS))
                if latest is not None and submitted_at > latest:
                    submitted_at = latest
                report = DailyReport(
                    classroom_id=room.pk,
                    school_id=room.school_id,
                    date=days[i],
                    version=1,
                    enrolled_count=on_roll[i],
                    present_count=on_roll[i] - len(absent),
                    submitted_by_id=user_id,
                    submitted_at=submitted_at,
                )
                pending.append((report, absent))
                if len(pending) >= ATTENDANCE_BATCH:
                    self._flush_reports(pending)
                    pending = []
        self._flush_reports(pending)
        self.counts.update(school_days=n_days)

    def pattern(self) -> str:
        r = self.rng.random()
        if r < CHRONIC_SHARE:
            return CHRONIC
        if r < CHRONIC_SHARE + SPORADIC_SHARE:
            return SPORADIC
        if r < CHRONIC_SHARE + SPORADIC_SHARE + DRIFTING_SHARE:
            return DRIFTING
        return NORMAL

    def student_marks(self, pattern: str, n_days: int, n_past: int) -> dict[int, tuple[str, str, bool]]:
        """Day index → (kind, note, family contacted) for one student's absences."""
        marks: dict[int, tuple[str, str, bool]] = {}
        if pattern == CHRONIC:
            self._chronic(marks, n_past)
            return marks
        self._background(marks, n_days)
        if pattern == SPORADIC:
            self._sporadic(marks, n_past)
        elif pattern == DRIFTING:
            self._drifting(marks, n_days, n_past)
        return marks

    def _gap(self) -> int:
        """School days until the next leave starts (geometric: one random number per leave, not per day)."""
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - BACKGROUND_EPISODE_RATE))

    def _background(self, marks: dict, n_days: int) -> None:
        rng = self.rng
        i = self._gap()
        while i < n_days:
            if rng.random() < 0.6:
                r = rng.random()
                kind, length = SICK, (1 if r < 0.75 else 2 if r < 0.95 else 3)
            else:
                kind, length = PERSONAL, 1
            absence = self.absence(kind)
            for j in range(i, min(i + length, n_days)):
                marks[j] = absence
            i += length + self._gap()

    def _chronic(self, marks: dict, n_past: int) -> None:
        """12–20% of the past school days, mixed kinds, never 3 truant days in a row nor 3 unexcused."""
        rng = self.rng
        if n_past <= 0:
            return
        count = min(n_past, max(1, math.ceil(n_past * rng.uniform(0.12, 0.20))))
        unexcused = 0
        for i in sorted(rng.sample(range(n_past), count)):
            kind = rng.choices([k for k, _ in CHRONIC_KINDS], weights=[w for _, w in CHRONIC_KINDS])[0]
            if kind == UNEXCUSED:
                unexcused += 1
                if unexcused > 2:
                    kind = PERSONAL
            if kind in TRUANT_KINDS and all(marks.get(i - d, ("",))[0] in TRUANT_KINDS for d in (1, 2)):
                kind = SICK
            marks[i] = self.absence(kind)

    def _sporadic(self, marks: dict, n_past: int) -> None:
        """3–5 unexcused days among the last RECENT_DAYS past school days, never two in a row."""
        rng = self.rng
        low = max(0, n_past - RECENT_DAYS)
        width = n_past - low
        count = min(rng.randint(3, 5), (width + 1) // 2)
        if count < 3:
            return
        for j, slot in enumerate(sorted(rng.sample(range(width - count + 1), count))):
            marks[low + slot + j] = self.absence(UNEXCUSED)

    def _drifting(self, marks: dict, n_days: int, n_past: int) -> None:
        """Present until a day in the last DRIFT_DAYS school days (≥ 3 days before as_of), then away."""
        rng = self.rng
        latest = n_past - 3
        if latest < 0:
            return
        start = rng.randint(min(max(0, n_days - DRIFT_DAYS), latest), latest)
        unknown_first = rng.randint(1, 2)
        for i in range(start, n_days):
            truant = i >= start + unknown_first and rng.random() < 0.75
            marks[i] = self.absence(UNEXCUSED if truant else UNKNOWN, drifting=True)

    def absence(self, kind: str, drifting: bool = False) -> tuple[str, str, bool]:
        rng = self.rng
        if kind == SICK:
            return kind, rng.choice(SICK_NOTES), rng.random() < 0.92
        if kind == PERSONAL:
            return kind, rng.choice(PERSONAL_NOTES), rng.random() < 0.88
        if rng.random() < 0.5:
            notes = DRIFT_NOTES if drifting else (UNEXCUSED_NOTES if kind == UNEXCUSED else UNKNOWN_NOTES)
            return kind, rng.choice(notes), True
        return kind, rng.choice(NOT_CONTACTED_NOTES), False

    def _flush_reports(self, pending: list[tuple[DailyReport, list[tuple]]]) -> None:
        if not pending:
            return
        reports = [report for report, _ in pending]
        DailyReport.objects.bulk_create(reports, batch_size=ATTENDANCE_BATCH)
        _assign_pks(DailyReport, reports, ("classroom_id", "date"))
        absences, revisions = [], []
        for report, rows in pending:
            for student_id, kind, note, contacted in rows:
                absences.append(
                    Absence(
                        report_id=report.pk,
                        student_id=student_id,
                        date=report.date,
                        kind=kind,
                        note=note,
                        family_contacted=contacted,
                    )
                )
            revisions.append(
                DailyReportRevision(
                    report_id=report.pk,
                    version=1,
                    submitted_by_id=report.submitted_by_id,
                    submitted_at=report.submitted_at,
                    present_count=report.present_count,
                    absences=[
                        {"student": student_id, "kind": kind, "note": note, "family_contacted": contacted}
                        for student_id, kind, note, contacted in rows
                    ],
                )
            )
        Absence.objects.bulk_create(absences, batch_size=ATTENDANCE_BATCH)
        DailyReportRevision.objects.bulk_create(revisions, batch_size=ATTENDANCE_BATCH)
        self.counts["reports"] += len(reports)
        self.counts["absences"] += len(absences)
        self.counts["revisions"] += len(revisions)
        reset_queries()  # DEBUG=True keeps every statement; these are large

    def evaluate_risk(self, county: County, as_of: dt.date) -> None:
        """The county's rules once over the seeded term (creates rule version 1), then today's reminders."""
        risk.evaluate(county_id=county.pk, as_of=as_of)
        by_level = dict(RiskFlag.objects.values_list("level").annotate(n=Count("pk")).order_by())
        self.counts.update({f"flags_{level}": by_level.get(level, 0) for level in RiskLevel.values})
        self.counts["rules"] = RiskRule.objects.filter(county=county).count()
        self.counts["reminders"] = risk.remind_not_reported(county_id=county.pk, day=as_of)
        self.counts["notifications"] = Notification.objects.count()

    # --- all ----------------------------------------------------------------------------------

    def run(self, as_of: dt.date | None = None) -> dict[str, int]:
        started = time.monotonic()
        phase = started

        def lap(name: str) -> float:
            nonlocal phase
            now = time.monotonic()
            self.timings[name] = now - phase
            phase = now
            return now - started

        built = self.build_places()
        self.build_calendar(built.county)
        self.as_of, clamped = resolve_as_of(built.county.pk, as_of or timezone.localdate())
        # Class teachers took their classes this school year, or at the start of an earlier term shown.
        self.post_start = min(POST_START, SchoolCalendar(built.county.pk).term_of(self.as_of)[0])
        self.build_accounts(built)
        self.write(
            f"  {built.county.name}: {len(built.townships)} 乡镇 townships, "
            f"{self.counts['villages']} 村(社区) villages, "
            f"{len(built.schools)} 学校 schools, {self.counts['classrooms']} 班级 classes "
            f"({lap('places, calendar, accounts'):.1f} s)"
        )
        self.build_students(built, started)
        reset_queries()
        lap("students, guardians")
        calendar = SchoolCalendar(built.county.pk)
        days = calendar.school_days(calendar.term_of(self.as_of)[0], self.as_of)
        hooks = [factory() for factory in demo_hooks.HOOKS]
        keep_rooms = {room for room in (self.fixed_rooms.get("teacher"), self.fixed_rooms.get("teacher2")) if room}
        stories: dict[int, Story] = {}
        for hook in hooks:
            rng = random.Random(self.rng.random())
            told = hook.stories(county=built.county, as_of=self.as_of, school_days=days, keep_rooms=keep_rooms, rng=rng)
            stories.update((story.student_id, story) for story in told)
        clamp_note = f" (clamped from {as_of or timezone.localdate()})" if clamped else ""
        self.write(f"  考勤 attendance: {self.as_of:%Y-%m-%d}{clamp_note} …")
        self.build_attendance(built, self.as_of, clamped, days, stories)
        self.write(
            f"  考勤 attendance: {self.counts['school_days']} 上学日 school days, "
            f"{self.counts['reports']:,} 日报 reports, {self.counts['absences']:,} 缺勤 absences "
            f"({lap('attendance'):.1f} s)"
        )
        analyze_tables()
        for hook in hooks:
            self.counts.update(hook.act(county=built.county, as_of=self.as_of, write=self.write) or {})
            lap(type(hook).__module__)
        self.evaluate_risk(built.county, self.as_of)
        self.write(
            f"  预警 flags: 红 red {self.counts['flags_red']:,}, 橙 orange {self.counts['flags_orange']:,}, "
            f"黄 yellow {self.counts['flags_yellow']:,}; 未报提醒 not-reported reminders "
            f"{self.counts['reminders']:,} ({lap('risk evaluation, reminders'):.1f} s)"
        )
        return self.counts
