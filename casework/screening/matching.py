"""The comparison (三比对): register ↔ 学籍 ↔ 在校.

Each register person is matched to a student of the county by 身份证号. Failing that, a student with
the same name, birth date and home village is only *suggested*: a person confirms or rejects it.
The age on the cut-off day (31 August of the school year) selects children 6–15, and older ones
still in compulsory school. A matched child is 在读且在校 unless absent on every one of the last N
school days of the daily reports (名在人不在); a child no school of the county enrols is 未在本县学籍
and waits for a resolution; an enrolled student of the register's villages whom it does not list is
在籍不在册 (moved in, 随迁: for information).

Everything is loaded in a fixed number of queries, whatever the size of the register.
"""

import dataclasses
import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q

from students.calendar import SchoolCalendar
from students.models import Absence, Student

from ..models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome
from .register import Person, age_on

MIN_AGE, MAX_AGE = 6, 15
StudentStatus = Student.Status
# A student of these statuses still belongs to compulsory school (an older one stays screened).
IN_COMPULSORY_SCHOOL = (
    StudentStatus.ENROLLED,
    StudentStatus.SUSPENDED,
    StudentStatus.DROPPED_OUT,
    StudentStatus.NOT_ENROLLED,
)
STATUS_LABELS = {code: str(label) for code, label in StudentStatus.choices}


@dataclasses.dataclass(slots=True)
class Known:
    """A student of the county as the comparison needs them."""

    pk: int
    id_number: str
    name: str
    gender: str
    birth_date: dt.date
    village_id: int | None
    township_id: int | None
    status: str
    school_id: int | None
    classroom_id: int | None


@dataclasses.dataclass
class Attendance:
    """Who was absent on every one of the last N school days (up to the day before the comparison)."""

    days: list[dt.date]
    absent: set[int]

    @classmethod
    def load(cls, county_id: int, as_of: dt.date, count: int, student_ids=None) -> "Attendance":
        days = SchoolCalendar(county_id).last_school_days(as_of - dt.timedelta(days=1), count)
        if len(days) < count or count == 0:  # too early in the term to tell
            return cls(days=days, absent=set())
        absences = Absence.objects.filter(date__in=days)
        if student_ids is not None:
            absences = absences.filter(student_id__in=student_ids)
        else:
            absences = absences.filter(Q(student__school__county_id=county_id))
        rows = (
            absences.order_by()
            .values("student_id")
            .annotate(days=Count("date", distinct=True))
            .filter(days=len(days))
            .values_list("student_id", flat=True)
        )
        return cls(days=days, absent=set(rows))

    def evidence(self) -> str:
        if not self.days:
            return ""
        return f"最近{len(self.days)}个上学日({self.days[0]:%m-%d}至{self.days[-1]:%m-%d})日报均缺勤"


def load_students(county_id: int, only: list[int] | None = None) -> list[Known]:
    """The county's students (or only those of ``only``), in one query."""
    students = Student.objects.filter(pk__in=only) if only is not None else Student.objects.all()
    rows = (
        students.filter(Q(school__county_id=county_id) | Q(school__isnull=True, village__township__county_id=county_id))
        .order_by()
        .values_list(
            "pk",
            "id_number",
            "name",
            "gender",
            "birth_date",
            "village_id",
            "village__township_id",
            "status",
            "school_id",
            "classroom_id",
        )
    )
    return [Known(*row) for row in rows]


def open_cases(student_ids) -> dict[int, int]:
    """The open case of each of these students who has one. For a register's worth of students, the open
    cases of everyone, kept for these (an IN list of 100,000 numbers took longer than the whole query)."""
    ids = set(student_ids)
    cases = DropoutCase.objects.filter(status__in=DropoutCase.OPEN_STATUSES)
    if len(ids) <= 1000:
        cases = cases.filter(student_id__in=ids)
    return {student: case for student, case in cases.order_by().values_list("student_id", "pk") if student in ids}


@dataclasses.dataclass(slots=True)
class ChildRow:
    """A ScreenedChild the comparison found, to be written (services.write_children): the fields it sets,
    the others take their defaults. A 100,000-child register makes as many; model instances cost
    several times as much to build and to insert."""

    run_id: int
    name: str
    gender: str
    id_number: str
    birth_date: dt.date
    age: int
    township_id: int | None
    village_id: int | None
    row_number: int | None = None
    household_head: str = ""
    relation_to_head: str = ""
    group: str = ""
    hukou_address: str = ""
    current_address: str = ""
    guardian_name: str = ""
    guardian_phone: str = ""
    outcome: str = ""
    student_id: int | None = None
    match_method: str = ""
    suggested_student_id: int | None = None
    suggestion: str = ""
    school_id: int | None = None
    classroom_id: int | None = None
    student_status: str = ""
    evidence_text: str = ""
    resolution: str = ""
    case_id: int | None = None
    known: Known | None = None  # the student matched by number, until set_outcome (not a field)


def set_outcome(child: ScreenedChild | ChildRow, student: Known, attendance: Attendance, cases: dict[int, int]) -> None:
    """The outcome of a child matched to ``student`` (by number or by a confirmed suggestion)."""
    child.student_id = student.pk
    child.school_id = student.school_id
    child.classroom_id = student.classroom_id
    child.student_status = student.status
    child.case_id = cases.get(student.pk)
    status = student.status
    if status == StudentStatus.ENROLLED:
        if student.pk in attendance.absent:
            child.outcome = ScreeningOutcome.ENROLLED_ABSENT
            child.evidence_text = attendance.evidence()
        else:
            child.outcome = ScreeningOutcome.ATTENDING
    elif status in (StudentStatus.SUSPENDED, StudentStatus.DROPPED_OUT):
        child.outcome = ScreeningOutcome.ENROLLED_ABSENT
        child.evidence_text = f"学籍状态:{STATUS_LABELS[status]}"
    else:
        # Not in class anywhere in the county: a child screening found before (未入学, its case
        # follows it), one who finished compulsory school, died, or transferred out.
        child.outcome = ScreeningOutcome.NOT_ENROLLED
        child.school_id = child.classroom_id = None
        child.evidence_text = f"学籍状态:{STATUS_LABELS[status]}"
        automatic: dict[str, str] = {
            StudentStatus.NOT_ENROLLED: Resolution.OUT_OF_SCHOOL,
            StudentStatus.GRADUATED: Resolution.GRADUATED,
            StudentStatus.DECEASED: Resolution.DECEASED,
        }
        if status in automatic and (status != StudentStatus.NOT_ENROLLED or child.case_id):
            child.resolution = automatic[status]


@dataclasses.dataclass
class Comparison:
    children: list[ChildRow]
    counts: dict[str, int]


def compare(
    *,
    run_id: int,
    county_id: int,
    people: list[Person],
    cutoff: dt.date,
    attendance: Attendance,
    students: list[Known],
) -> Comparison:
    by_id = {s.id_number: s for s in students if s.id_number}
    by_facts: defaultdict[tuple[str, dt.date, int | None], list[Known]] = defaultdict(list)
    for s in students:
        by_facts[(s.name, s.birth_date, s.village_id)].append(s)
    matched: set[int] = set()
    pending: list[tuple[ChildRow, Person]] = []
    children: list[ChildRow] = []
    skipped = 0
    for person in people:
        age = age_on(person.birth_date, cutoff)
        student = by_id.get(person.id_number)
        if age < MIN_AGE or (age > MAX_AGE and (student is None or student.status not in IN_COMPULSORY_SCHOOL)):
            skipped += 1
            continue
        child = ChildRow(
            run_id=run_id,
            row_number=person.row,
            household_head=person.household_head,
            relation_to_head=person.relation,
            name=person.name,
            gender=person.gender,
            id_number=person.id_number,
            birth_date=person.birth_date,
            age=age,
            township_id=person.village.township_id,
            village_id=person.village.pk,
            group=person.group,
            hukou_address=person.hukou_address,
            current_address=person.current_address,
            guardian_name=person.guardian_name,
            guardian_phone=person.guardian_phone,
        )
        if student is not None:
            child.match_method = ScreenedChild.MatchMethod.ID_NUMBER
            matched.add(student.pk)
            children.append(child)
            child.known = student  # set_outcome needs it once the cases are loaded
        else:
            child.outcome = ScreeningOutcome.NOT_ENROLLED
            pending.append((child, person))
            children.append(child)
    # Suggestions: the same name, birth date and village, a student no register number matched.
    suggested: set[int] = set()
    for child, person in pending:
        candidates = [
            s
            for s in by_facts.get((person.name, person.birth_date, person.village.pk), ())
            if s.pk not in matched and s.pk not in suggested
        ]
        if len(candidates) == 1:
            child.suggested_student_id = candidates[0].pk
            child.suggestion = ScreenedChild.Suggestion.PENDING
            suggested.add(candidates[0].pk)
    villages = {person.village.pk for person in people}
    not_registered = [
        s
        for s in students
        if s.status == StudentStatus.ENROLLED
        and s.village_id in villages
        and s.pk not in matched
        and s.pk not in suggested
    ]
    cases = open_cases([*matched, *(s.pk for s in not_registered)])
    for child in children:
        if child.known is not None:
            set_outcome(child, child.known, attendance, cases)
    for s in not_registered:
        children.append(not_registered_child(run_id, s, cutoff, cases, make=ChildRow))
    counts = {"register_rows": len(people), "not_of_age": skipped}
    return Comparison(children=children, counts=counts)


def not_registered_child(run_id: int, s: Known, cutoff: dt.date, cases: dict[int, int], make=ScreenedChild):
    """An enrolled student of the register's villages whom it does not list (a ScreenedChild, or a ChildRow)."""
    return make(
        run_id=run_id,
        name=s.name,
        gender=s.gender,
        id_number=s.id_number,
        birth_date=s.birth_date,
        age=age_on(s.birth_date, cutoff),
        township_id=s.township_id,
        village_id=s.village_id,
        outcome=ScreeningOutcome.NOT_REGISTERED,
        student_id=s.pk,
        school_id=s.school_id,
        classroom_id=s.classroom_id,
        student_status=s.status,
        case_id=cases.get(s.pk),
        evidence_text="学籍在本县、户籍名单中无此人(迁入、随迁或户籍在外)",
    )
