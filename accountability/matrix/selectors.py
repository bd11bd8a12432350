"""Reads of the leading groups and the 包保 matrix, and its gaps: always for a user, through scoping.

One definition of coverage (used by the gap list, the student's and the case's chain, and the
dashboards' counts):

- a student is covered on the **education line** when a 包人 row of that line names somebody for
  them this school year, or their open case's current plan names its school leader and class teacher;
- on the **administrative line** when a 包人 row of that line names somebody for them, a 包村 row
  covers their home village or a 包乡镇 row their home township, or their open case's current plan
  names its township cadre;
- a class has a leader when a 包班 row covers it or a 包年级 row covers its grade.

A gap is an at-risk student (an open red or orange early warning) or a student with an open case
who is not covered on a line, or a class with no leader.
"""

import dataclasses
from collections import defaultdict

from django.db.models import Exists, OuterRef, Q, QuerySet

from casework.models import DropoutCase, ReturnPlan
from students import scoping
from students.models import Classroom, RiskFlag, RiskLevel, SchoolYear, Student

from ..models import LeadingGroup, Responsibility

R = Responsibility


def responsibilities_visible_to(user) -> QuerySet[Responsibility]:
    """Bureau: its county; school leaders: their school's side; teachers: their own rows and their
    classes'; cadres: their own rows and those of their township's villages and residents."""
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Responsibility.objects.all()
    q = Q(person=user) | scoping.county_q(scope, "county_id") | scoping.led_school_q(scope, "owner_school_id")
    q |= scoping.taught_classroom_q(scope, "classroom_id") | scoping.taught_classroom_q(scope, "student__classroom_id")
    q |= scoping.residence_q(scope, "township_id") | scoping.residence_q(scope, "village__township_id", "village_id")
    q |= scoping.residence_q(scope, "student__village__township_id", "student__village_id")
    return Responsibility.objects.filter(q)


def responsibility_list(
    user, *, school_year: int | None = None, school=None, line=None, target_kind=None, person=None
) -> QuerySet[Responsibility]:
    qs = responsibilities_visible_to(user).select_related(
        "person", "school_year", "school", "grade__school", "classroom__grade", "student", "township", "village"
    )
    if school_year is not None:
        qs = qs.filter(school_year_id=school_year)
    if school:
        qs = qs.filter(owner_school_id=school)
    if line:
        qs = qs.filter(line=line)
    if target_kind:
        qs = qs.filter(target_kind=target_kind)
    if person:
        qs = qs.filter(person_id=person)
    return qs.order_by("owner_school_id", "target_kind", "target_key", "line", "pk")


def leading_groups_visible_to(user) -> QuerySet[LeadingGroup]:
    return LeadingGroup.objects.filter(school__in=scoping.schools_visible_to(user))


# --- chains and gaps ---------------------------------------------------------------------------


@dataclasses.dataclass
class Link:
    line: str  # education / administrative
    kind: str  # a Responsibility.TargetKind, or "plan" for the case's plan
    person_id: int
    person: str


@dataclasses.dataclass
class Chain:
    education: list[Link] = dataclasses.field(default_factory=list)
    administrative: list[Link] = dataclasses.field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Lines with nobody on them (class and grade leaders shown in the chain do not cover a student)."""
        return [line for line in R.Line.values if not any(link.line == line for link in getattr(self, line))]


def chains(students: list[Student], school_year: SchoolYear) -> dict[int, Chain]:
    """Each student's people on both lines this school year (a few queries for any number of students)."""
    found: dict[int, Chain] = {s.pk: Chain() for s in students}
    if not students:
        return found
    by_village: dict[int, list[int]] = defaultdict(list)
    by_township: dict[int, list[int]] = defaultdict(list)
    by_classroom: dict[int, list[int]] = defaultdict(list)
    by_grade: dict[int, list[int]] = defaultdict(list)
    rows = Student.objects.filter(pk__in=found).values_list(
        "pk", "village_id", "village__township_id", "classroom_id", "classroom__grade_id"
    )
    for pk, village_id, township_id, classroom_id, grade_id in rows:
        if village_id:
            by_village[village_id].append(pk)
        if township_id:
            by_township[township_id].append(pk)
        if classroom_id:
            by_classroom[classroom_id].append(pk)
            by_grade[grade_id].append(pk)
    matching = Q(student_id__in=found) | Q(village_id__in=by_village) | Q(township_id__in=by_township)
    matching |= Q(classroom_id__in=by_classroom) | Q(grade_id__in=by_grade)
    for row in (
        Responsibility.objects.filter(matching, school_year=school_year)
        .select_related("person")
        .order_by("target_kind", "pk")
    ):
        pools: dict[str, dict[int, list[int]]] = {
            R.TargetKind.VILLAGE: by_village,
            R.TargetKind.TOWNSHIP: by_township,
            R.TargetKind.CLASSROOM: by_classroom,
            R.TargetKind.GRADE: by_grade,
        }
        target_id = getattr(row, R.TARGET_FIELDS[row.target_kind] + "_id")
        targets = [target_id] if row.target_kind == R.TargetKind.STUDENT else pools[row.target_kind].get(target_id, [])
        for student_id in targets:
            link = Link(row.line, row.target_kind, row.person_id, str(row.person))
            # The class and grade leaders are part of the chain; the line counts as covered through
            # a named person for the student (包人) or their place of residence (包村/包乡镇).
            if row.target_kind in (R.TargetKind.CLASSROOM, R.TargetKind.GRADE):
                found[student_id].education.append(dataclasses.replace(link, line="leader"))
            else:
                getattr(found[student_id], row.line).append(link)
    plans = ReturnPlan.objects.filter(
        is_current=True, case__student_id__in=found, case__status__in=DropoutCase.OPEN_STATUSES
    ).select_related("case", "school_leader", "class_teacher", "township_cadre", "village_cadre")
    for plan in plans:
        chain = found[plan.case.student_id]
        for owner in (plan.school_leader, plan.class_teacher):
            chain.education.append(Link(R.Line.EDUCATION, "plan", owner.pk, str(owner)))
        for cadre in (plan.township_cadre, plan.village_cadre):
            if cadre is not None:
                chain.administrative.append(Link(R.Line.ADMINISTRATIVE, "plan", cadre.pk, str(cadre)))
    return found


@dataclasses.dataclass
class StudentGap:
    student: Student
    reasons: list[str]  # "red", "orange", "case"
    missing: list[str]  # lines nobody covers
    chain: Chain


@dataclasses.dataclass
class Gaps:
    school_year: SchoolYear | None
    students: list[StudentGap]
    classrooms: list[Classroom]

    @property
    def count(self) -> int:
        return len(self.students) + len(self.classrooms)


def _scope(user, school, school_year: SchoolYear | None):
    """The students and classes whose gaps the user manages (the bureau's county, a principal's school),
    and the school year (default: the current one of the user's county)."""
    managed = scoping.managed_schools(user)
    students = scoping.students_visible_to(user).filter(school__in=managed)
    classrooms = scoping.classrooms_visible_to(user).filter(grade__school__in=managed)
    if school:
        students = students.filter(school_id=school)
        classrooms = classrooms.filter(grade__school_id=school)
    if school_year is None:
        county_id = managed.values_list("county_id", flat=True).first()
        if county_id is not None:
            from .services import school_year_for

            school_year = school_year_for(county_id)
    return students, classrooms, school_year


def _covered(line: str, school_year: SchoolYear) -> Exists | Q:
    """Whether a Student is covered on ``line`` (the module docstring), as an SQL condition."""
    rows = Responsibility.objects.filter(school_year=school_year, line=line)
    named = Exists(rows.filter(target_kind=R.TargetKind.STUDENT, student=OuterRef("pk")))
    planned = Exists(
        ReturnPlan.objects.filter(
            is_current=True, case__status__in=DropoutCase.OPEN_STATUSES, case__student=OuterRef("pk")
        )
    )
    if line == R.Line.EDUCATION:
        return named | planned
    village = Exists(rows.filter(target_kind=R.TargetKind.VILLAGE, village=OuterRef("village_id")))
    township = Exists(rows.filter(target_kind=R.TargetKind.TOWNSHIP, township=OuterRef("village__township_id")))
    return named | village | township | planned


def _flagged(level: str) -> Exists:
    return Exists(RiskFlag.objects.filter(student=OuterRef("pk"), status__in=RiskFlag.OPEN_STATUSES, level=level))


def gap_students(students: QuerySet[Student], school_year: SchoolYear) -> QuerySet[Student]:
    """The one definition of a student gap: at risk (an open red or orange warning while enrolled, or
    an open case) and not covered on a line; annotated with the reasons and the lines covered."""
    open_cases = DropoutCase.objects.filter(status__in=DropoutCase.OPEN_STATUSES)
    flagged = RiskFlag.objects.filter(
        status__in=RiskFlag.OPEN_STATUSES,
        level__in=(RiskLevel.RED, RiskLevel.ORANGE),
        student__status=Student.Status.ENROLLED,
    )
    # The few at risk first (one query), then their coverage: left in one statement, the planner checks
    # the coverage of the county's whole roll before it narrows it (a second instead of milliseconds).
    at_risk = list(
        students.filter(Q(pk__in=flagged.values("student_id")) | Q(pk__in=open_cases.values("student_id")))
        .order_by()
        .values_list("pk", flat=True)
    )
    return (
        Student.objects.filter(pk__in=at_risk)
        .annotate(
            red=_flagged(RiskLevel.RED),
            orange=_flagged(RiskLevel.ORANGE),
            has_case=Exists(open_cases.filter(student=OuterRef("pk"))),
            education=_covered(R.Line.EDUCATION, school_year),
            administrative=_covered(R.Line.ADMINISTRATIVE, school_year),
        )
        .filter(Q(education=False) | Q(administrative=False))
    )


def leaderless(classrooms: QuerySet[Classroom], school_year: SchoolYear) -> QuerySet[Classroom]:
    led = Responsibility.objects.filter(school_year=school_year)
    return classrooms.exclude(pk__in=led.filter(target_kind=R.TargetKind.CLASSROOM).values("classroom_id")).exclude(
        grade_id__in=led.filter(target_kind=R.TargetKind.GRADE).values("grade_id")
    )


def gap_count(user, *, school=None, school_year: SchoolYear | None = None) -> int:
    """How many gaps :func:`gaps` lists (two counting queries, for the dashboards)."""
    students, classrooms, school_year = _scope(user, school, school_year)
    if school_year is None:
        return 0
    return gap_students(students, school_year).count() + leaderless(classrooms, school_year).count()


def gaps(user, *, school=None, school_year: SchoolYear | None = None) -> Gaps:
    """At-risk students and open cases nobody covers on a line, and classes with no leader, in scope."""
    students, classrooms, school_year = _scope(user, school, school_year)
    if school_year is None:
        return Gaps(None, [], [])
    found = list(gap_students(students, school_year).select_related("school", "classroom").order_by("pk"))
    people = chains(found, school_year)
    student_gaps = []
    for student in found:
        reasons = [
            name
            for name, flag in (("case", "has_case"), ("red", "red"), ("orange", "orange"))
            if getattr(student, flag)
        ]
        missing = [line for line in R.Line.values if not getattr(student, line)]
        student_gaps.append(StudentGap(student, reasons, missing, people[student.pk]))
    rooms = list(
        leaderless(classrooms, school_year)
        .select_related("grade__school")
        .order_by("grade__school__code", "grade__level", "number")
    )
    return Gaps(school_year, student_gaps, rooms)
