"""The accountability part of the demo county for seed_demo, acted out through the real services under a moving clock.

Registered as a students.demo.hooks hook from accountability's AppConfig, after casework's (its app comes
later in INSTALLED_APPS), so the cases it covers exist. It tells the attendance builder nothing
(``stories`` returns no story, it only keeps the seed's random numbers); ``act`` plans the term's
accountability work, each step at a believable moment of the current term up to as_of and never
later than now (built on as_of itself, every step is on an earlier day, as casework's are), then
travels to each step's moment in turn (time-machine) and calls the service a user would have called:

- early in the term every school's principal sets up the 控辍保学领导小组 (the principal as 组长, a
  few class teachers as members) and fills in the 包保 matrix: the principal covers each grade
  (包年级) and names each class teacher for their own class (包班; in a big county only at
  ``principal``'s, ``principal2``'s and a sample of the other schools, see CLASS_ROWS_SCHOOLS) —
  except one grade of ``principal2``'s school, whose classes have no leader; the bureau names each
  township's cadre for the township (包乡镇), except for one township (not ``cadre``'s);
- once a student is at risk (an open red or orange warning, or an open case) the principal names
  the class teacher for them on the education line (包人) — except two or three of the first
  school's, the gaps ``principal`` sees, and students at risk only since today — and the cadre of
  the student's township on the administrative line where no 包乡镇 row covers the township already
  (at ``principal``'s and ``principal2``'s schools: always). A case whose current plan names its
  people is covered by the plan; outside those two schools nobody is named for it again. (At 100,000
  students a row for every line of every at-risk student would double the hook's time, ≈ 11 ms a
  service call, for rows the 包乡镇 rows and the plans make redundant.)
- the term's 目标责任书: 教育局—校长 for every school (signed, with a scanned PDF, except at two
  schools other than the first), 校长—班主任 at the first school (all signed but ``teacher2``'s) and at
  a few other schools (a few signed), one 学校—家长 pledge at the first school;
- the weekly sign-off chain of the last four weeks: every school signs on the Monday morning and the
  bureau receives it, except ``principal2``'s school, which signs late every week and has not signed
  the latest; the bureau returned one week of another school with a comment, and it was re-signed;
- two 通报: one to ``principal2``'s school three weeks ago, due and still open (overdue), one to the
  first school earlier, answered with a PDF and accepted by the bureau;
- a 责任流失 record (the veto) against the class teacher (not ``teacher``) of a confirmed case.

Every choice comes from the seed's random numbers over sorted lists (school code, grade, class
number, 学籍号), never from the values of database ids, so the same seed builds the same demo.
"""

import dataclasses
import datetime as dt
import heapq
import itertools
import random
import zoneinfo
from collections.abc import Callable

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework.models import DropoutCase, ReturnPlan
from students.attendance import risk
from students.calendar import SchoolCalendar, add_working_days, is_working_day
from students.demo import files
from students.demo.hooks import ActingHook
from students.models import (
    Classroom,
    County,
    Grade,
    Guardian,
    Post,
    RiskFlag,
    RiskLevel,
    School,
    Student,
    Term,
    Township,
    User,
)

from .findings import selectors as finding_selectors
from .findings import services as findings
from .matrix import services as matrix
from .models import Finding, LeadingGroup, LeadingGroupMember, Pledge, Responsibility, TeacherFault, WeeklySignoff
from .models.pledges import PledgeKind
from .pledges import selectors as pledge_selectors
from .pledges import services as pledges
from .policy import policy_for
from .signoffs import services as signoffs
from .signoffs import weeks

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
R = Responsibility
K = PledgeKind
SIGNOFF_WEEKS = 4
# Schools whose class teachers are named for their classes (包班): the demo principals' and a sample of
# the others up to this many (every school of a county of up to ~20,000 students). Elsewhere the
# principal's 包年级 rows lead the classes: a 包班 row for each of 100,000 students' 2,400 classes
# would take half the hook's time (≈ 11 ms a service call).
CLASS_ROWS_SCHOOLS = 30
OTHER_TEACHER_PLEDGE_SCHOOLS = 3
SIGN_NOTES = ["", "", "", "本周各班考勤已核对", "预警学生已逐一家访", "本周无新增疑似辍学学生"]
RETURN_COMMENT = "周报中部分班级应到人数与学籍花名册不一致,请核对后重新签发"
GROUP_DUTIES = (
    "组长对本校控辍保学工作负总责;成员分年级、分班落实包保责任,"
    "班主任负责本班学生每日考勤和缺勤跟踪;办公室负责控辍保学台账、周报和劝返材料的整理报送。"
)


def _at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI) + dt.timedelta(
        minutes=minute, seconds=second
    )


def _scan(name: str, line: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, files.pdf(line), content_type="application/pdf")


def _situation_day(evidence: dict) -> dt.date | None:
    """The school day a rule's warning was first met (the third day of a streak, the n-th truancy)."""
    dates = evidence.get("dates") or []
    if not dates:
        return None
    params = evidence.get("params") or {}
    need = params.get("days") or params.get("count") or 1
    return dt.date.fromisoformat(dates[min(int(need), len(dates)) - 1])


class _People:
    """The county's bureau user, each school's principal, each class's teacher and each township's cadre."""

    def __init__(self, county: County):
        self.bureau: User | None = None
        self.principal: dict[int, User] = {}
        self.teacher: dict[int, User] = {}
        self.cadre: dict[int, User] = {}
        for post in Post.objects.filter(county=county).select_related("user").order_by("pk"):
            if post.role == Post.Role.PRINCIPAL:
                self.principal.setdefault(post.school_id, post.user)
            elif post.role == Post.Role.CLASS_TEACHER:
                self.teacher.setdefault(post.classroom_id, post.user)
            elif post.role == Post.Role.CADRE and post.township_id and not post.village_id:
                self.cadre.setdefault(post.township_id, post.user)
            elif post.role == Post.Role.BUREAU and self.bureau is None:
                self.bureau = post.user


@dataclasses.dataclass
class _AtRisk:
    student: Student
    since: dt.date  # the school day they became at risk
    case: bool  # has an open case


class DemoAccountability(ActingHook):
    """The accountability demo hook (students.demo.hooks): nothing to tell the attendance, then act."""

    def act(self, *, county, as_of: dt.date, write) -> dict[str, int]:
        people = _People(county)
        if people.bureau is None or not people.principal:
            return {}
        calendar = SchoolCalendar(county.pk)
        span = calendar.term_of(as_of)
        last = min(as_of, timezone.localdate() - dt.timedelta(days=1))
        days = calendar.school_days(span[0], last) if span else []
        if not days:
            write("  责任 accountability: (学期尚未开始,未生成 too early in the term)")
            return {}
        # The seed's own evaluation of the risk rules (idempotent: seed_demo's later run finds it done),
        # made now so that the at-risk students the principals cover are those the demo shows.
        risk.evaluate(county_id=county.pk, as_of=as_of)
        plan = _Plan(county, as_of, last, days, people, self.rng)
        plan.schedule()
        plan.run()
        return _summary(county, as_of, write)


def _summary(county: County, as_of: dt.date, write) -> dict[str, int]:
    signed = Pledge.objects.filter(county=county).filter(pledge_selectors.SIGNED_Q)
    counts = {
        "leading_groups": LeadingGroup.objects.filter(school__county=county).count(),
        "responsibilities": Responsibility.objects.filter(county=county).count(),
        "pledges": Pledge.objects.filter(county=county).count(),
        "pledges_signed": signed.count(),
        "signoffs": WeeklySignoff.objects.filter(school__county=county).count(),
        "findings": Finding.objects.filter(county=county).count(),
        "teacher_faults": TeacherFault.objects.filter(county=county).count(),
    }
    overdue = Finding.objects.filter(county=county).filter(finding_selectors.overdue_q(as_of)).count()
    late = WeeklySignoff.objects.filter(school__county=county, sign_late=True).count()
    write(
        f"  责任 accountability: 领导小组 leading groups {counts['leading_groups']}, "
        f"包保 responsibilities {counts['responsibilities']:,}, "
        f"责任书 pledges {counts['pledges']}(已签 signed {counts['pledges_signed']}), "
        f"周报签发 sign-offs {counts['signoffs']}(逾期 late {late}), "
        f"通报 findings {counts['findings']}(逾期 overdue {overdue}), "
        f"责任流失 teacher faults {counts['teacher_faults']}"
    )
    return counts


class _Plan:
    """The term's steps, each scheduled at its moment and done by the service a user would call."""

    def __init__(
        self, county: County, as_of: dt.date, last: dt.date, days: list[dt.date], people: _People, rng: random.Random
    ):
        self.county, self.as_of, self.last, self.days, self.people, self.rng = county, as_of, last, days, people, rng
        self.term = Term.objects.get(school_year__county=county, start_date__lte=as_of, end_date__gte=as_of)
        self.policy = policy_for(county.pk)
        self.bureau: User = people.bureau  # type: ignore[assignment]
        self.schools = list(School.objects.filter(county=county).order_by("code"))
        self.grades: dict[int, list[Grade]] = {}
        for grade in Grade.objects.filter(school__county=county).order_by("school__code", "level"):
            self.grades.setdefault(grade.school_id, []).append(grade)
        self.rooms: dict[int, list[Classroom]] = {}  # grade id → its classes
        self.school_rooms: dict[int, list[Classroom]] = {}
        for room in (
            Classroom.objects.filter(school__county=county)
            .select_related("grade")
            .order_by("school__code", "grade__level", "number")
        ):
            self.rooms.setdefault(room.grade_id, []).append(room)
            self.school_rooms.setdefault(room.school_id, []).append(room)
        self.townships = list(Township.objects.filter(county=county).order_by("code"))
        # principal's school is the first by code, principal2's another (students/demo/county.py).
        led = {
            post.user.username: post.school_id
            for post in Post.objects.filter(county=county, role=Post.Role.PRINCIPAL).select_related("user")
        }
        by_pk = {school.pk: school for school in self.schools}
        self.first = by_pk.get(led.get("principal"), self.schools[0])
        others = [school for school in self.schools if school != self.first]
        self.second = by_pk.get(led.get("principal2")) or (others[0] if others else None)
        if self.second == self.first:
            self.second = others[0] if others else None
        self.demo_schools = {school.pk for school in (self.first, self.second) if school is not None}
        self.township_rows: set[int] = set()  # townships the bureau covers (包乡镇)
        self.setup: dict[int, dt.datetime] = {}  # school id → when its matrix was filled in
        self.found: dict[tuple, int] = {}  # what a step made, for the later steps (pledge, sign-off, finding ids)
        self.steps: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        self.order = itertools.count()

    # --- the clock ------------------------------------------------------------------------------

    def at(self, moment: dt.datetime, step: Callable[[], None]) -> None:
        assert moment.date() <= self.last, (moment, step)
        heapq.heappush(self.steps, (moment, next(self.order), step))

    def run(self) -> None:
        while self.steps:
            moment, _, step = heapq.heappop(self.steps)
            with time_machine.travel(moment, tick=False):
                step()

    def day(self, n: int) -> dt.date:
        """The term's n-th school day (0: the first), or the last one up to as_of."""
        return self.days[min(n, len(self.days) - 1)]

    def working_day_before(self, day: dt.date) -> dt.date:
        """The latest working day on or before ``day`` and not before the term's first school day."""
        while day > self.days[0] and not is_working_day(day):
            day -= dt.timedelta(days=1)
        return max(day, self.days[0])

    def schedule(self) -> None:
        self.leading_groups_and_matrix()
        self.townships_covered()
        self.students_covered()
        self.pledges()
        self.signoffs()
        self.findings()
        self.fault()

    # --- the leading groups and the matrix ------------------------------------------------------

    def leading_groups_and_matrix(self) -> None:
        rng = self.rng
        gap_grade = None
        if self.second is not None and self.grades.get(self.second.pk):
            gap_grade = rng.choice(self.grades[self.second.pk])
        rest = [school for school in self.schools if school.pk not in self.demo_schools]
        sample = rng.sample(rest, max(0, min(len(rest), CLASS_ROWS_SCHOOLS - len(self.demo_schools))))
        class_rows = self.demo_schools | {school.pk for school in sample}
        for school in self.schools:
            principal = self.people.principal.get(school.pk)
            if principal is None:
                continue
            moment = _at(self.day(rng.randint(1, 4)), 14, rng.randrange(90))
            self.setup[school.pk] = moment
            rooms = [room for room in self.school_rooms.get(school.pk, []) if room.pk in self.people.teacher]
            chosen = sorted(rng.sample(range(len(rooms)), min(len(rooms), rng.randint(2, 4))))
            members = [
                matrix.MemberInput(
                    user_id=self.people.teacher[rooms[k].pk].pk,
                    duty=LeadingGroupMember.Duty.OFFICE if n == 0 else LeadingGroupMember.Duty.MEMBER,
                    task="控辍保学台账、周报" if n == 0 else f"{rooms[k].name}及本年级劝返联络",
                )
                for n, k in enumerate(chosen)
            ]
            self.at(
                moment,
                lambda school=school, principal=principal, members=members: self.save_group(school, principal, members),
            )
            n = 0
            for grade in self.grades.get(school.pk, []):
                if gap_grade is not None and grade.pk == gap_grade.pk:
                    continue  # the deliberate gap: nobody leads this grade's classes
                n += 1
                self.at(moment + dt.timedelta(seconds=30 * n), self.cover(principal, principal, "grade", grade.pk))
                for room in self.rooms.get(grade.pk, []) if school.pk in class_rows else []:
                    teacher = self.people.teacher.get(room.pk)
                    if teacher is not None:
                        n += 1
                        self.at(
                            moment + dt.timedelta(seconds=30 * n), self.cover(principal, teacher, "classroom", room.pk)
                        )

    def save_group(self, school: School, principal: User, members: list) -> None:
        matrix.save_leading_group(
            user=principal, school_id=school.pk, leader_id=principal.pk, members=members, duties=GROUP_DUTIES
        )

    def cover(self, user: User, person: User, kind: str, target_id: int, line: str = R.Line.EDUCATION, note=""):
        def step() -> None:
            matrix.add_responsibility(
                user=user, person_id=person.pk, line=line, target_kind=kind, target_id=target_id, note=note
            )

        return step

    def townships_covered(self) -> None:
        covered = [t for t in self.townships if t.pk in self.people.cadre]
        elsewhere = [t for t in covered if t.pk != self.first.township_id]  # not the township of `cadre`
        if elsewhere:
            covered.remove(self.rng.choice(elsewhere))  # the deliberate gap: one township nobody covers
        self.township_rows = {township.pk for township in covered}
        moment = _at(self.day(2), 10, self.rng.randrange(30))
        for n, township in enumerate(covered):
            step = self.cover(
                self.bureau, self.people.cadre[township.pk], "township", township.pk, R.Line.ADMINISTRATIVE
            )
            self.at(moment + dt.timedelta(seconds=40 * n), step)

    def at_risk(self) -> list[_AtRisk]:
        """Students with an open red or orange warning (while enrolled) or an open case at as_of, by school
        and 学籍号, each with the school day they became at risk."""
        since: dict[int, dt.date] = {}
        flags = RiskFlag.objects.filter(
            student__school__county=self.county,
            student__status=Student.Status.ENROLLED,
            status__in=RiskFlag.OPEN_STATUSES,
            level__in=(RiskLevel.RED, RiskLevel.ORANGE),
        )
        for student_id, evidence, raised_at in flags.values_list("student_id", "evidence", "raised_at"):
            day = _situation_day(evidence or {}) or timezone.localdate(raised_at)
            since[student_id] = min(day, since.get(student_id, day))
        cases = DropoutCase.objects.filter(school__county=self.county, status__in=DropoutCase.OPEN_STATUSES)
        with_case = set()
        for student_id, detected in cases.values_list("student_id", "detected_on"):
            with_case.add(student_id)
            since[student_id] = min(detected, since.get(student_id, detected))
        students = Student.objects.filter(pk__in=since).select_related("village", "school")
        return [
            _AtRisk(student, since[student.pk], student.pk in with_case)
            for student in students.order_by("school__code", "student_no")
        ]

    def students_covered(self) -> None:
        rng = self.rng
        found = self.at_risk()
        # A case's current plan names its school leader, class teacher and township cadre: it covers the
        # student on both lines, so only the demo principals' schools name people for them as well.
        planned = set(
            ReturnPlan.objects.filter(
                is_current=True, case__school__county=self.county, case__status__in=DropoutCase.OPEN_STATUSES
            ).values_list("case__student_id", flat=True)
        )
        first = [a for a in found if a.student.school_id == self.first.pk and not a.case and a.since <= self.last]
        left = {a.student.pk for a in rng.sample(first, min(len(first), rng.randint(2, 3)))}
        for item in found:
            student = item.student
            principal = self.people.principal.get(student.school_id)
            setup = self.setup.get(student.school_id)
            if item.student.pk in left or principal is None or setup is None or item.since > self.last:
                continue  # a deliberate gap, or at risk only since today: nobody has acted yet
            if student.pk in planned and student.school_id not in self.demo_schools:
                continue
            day = item.since if rng.random() < 0.5 else add_working_days(item.since, 1)
            day = min(max(day, setup.date()), self.last)
            moment = _at(day, 17, rng.randrange(60), rng.randrange(60))
            teacher = self.people.teacher.get(student.classroom_id) or principal
            self.at(moment, self.cover(principal, teacher, "student", student.pk))
            # The administrative line: the township's cadre, named for the student where no 包乡镇 row
            # covers their township, and at the demo principals' schools (elsewhere the 包乡镇 row does).
            township_id = student.village.township_id if student.village else student.school.township_id
            cadre = self.people.cadre.get(township_id)
            named = township_id not in self.township_rows or student.school_id in self.demo_schools
            if cadre is not None and named:
                step = self.cover(principal, cadre, "student", student.pk, R.Line.ADMINISTRATIVE)
                self.at(moment + dt.timedelta(seconds=50), step)

    # --- pledges --------------------------------------------------------------------------------

    def pledges(self) -> None:
        rng = self.rng
        start = rng.randint(3, 5)
        others = [school for school in self.schools if school != self.first]
        unsigned = {s.pk for s in rng.sample(others, min(2, len(others)))}
        moment = _at(self.day(start), 9, rng.randrange(20))
        for n, school in enumerate(self.schools):
            principal = self.people.principal.get(school.pk)
            if principal is None:
                continue
            created = moment + dt.timedelta(seconds=40 * n)
            key = ("pledge", K.BUREAU_PRINCIPAL, school.pk, principal.pk)
            self.at(created, self.new_pledge(key, self.bureau, K.BUREAU_PRINCIPAL, school, party_b=principal))
            if school.pk not in unsigned:
                signed = _at(self.day(start + rng.randint(1, 10)), 14, rng.randrange(200))
                self.at(signed, self.sign_pledge(key, self.bureau, f"Pledge {school.code} bureau-principal"))
        # 校长—班主任: every class teacher of the first school (all but teacher2 signed), then a few other schools.
        teacher2 = User.objects.filter(username="teacher2").first()
        rooms = self.school_rooms.get(self.first.pk, [])
        self.teacher_pledges(self.first, start + 1, {r.pk for r in rooms if self.people.teacher.get(r.pk) != teacher2})
        for school in sorted(rng.sample(others, min(OTHER_TEACHER_PLEDGE_SCHOOLS, len(others))), key=lambda s: s.code):
            rooms = [room for room in self.school_rooms.get(school.pk, []) if room.pk in self.people.teacher]
            signing = {rooms[k].pk for k in rng.sample(range(len(rooms)), min(len(rooms), rng.randint(1, 3)))}
            self.teacher_pledges(school, start + rng.randint(2, 6), signing)
        self.family_pledge(start)

    def teacher_pledges(self, school: School, start: int, signing: set[int]) -> None:
        """校长—班主任 pledges with every class teacher of the school; those of the ``signing`` classes signed."""
        principal = self.people.principal.get(school.pk)
        if principal is None:
            return
        rng = self.rng
        moment = _at(self.day(start), 9, 30 + rng.randrange(30))
        signed = _at(self.day(start + rng.randint(1, 5)), 15, rng.randrange(60))
        for n, room in enumerate(self.school_rooms.get(school.pk, [])):
            teacher = self.people.teacher.get(room.pk)
            if teacher is None:
                continue
            key = ("pledge", K.PRINCIPAL_TEACHER, school.pk, teacher.pk)
            self.at(
                moment + dt.timedelta(seconds=40 * n),
                self.new_pledge(key, principal, K.PRINCIPAL_TEACHER, school, teacher),
            )
            if room.pk in signing:
                line = f"Pledge {school.code} principal-class teacher, grade {room.grade.level} class {room.number}"
                self.at(signed + dt.timedelta(seconds=40 * n), self.sign_pledge(key, principal, line))

    def family_pledge(self, start: int) -> None:
        """One 学校—家长 pledge at the first school: the family of a student the school is bringing back
        (or of an at-risk student), signed at the meeting with the guardian."""
        school, principal = self.first, self.people.principal.get(self.first.pk)
        if principal is None:
            return
        cases = list(
            DropoutCase.objects.filter(
                school=school, status__in=(DropoutCase.Status.RETURNING, DropoutCase.Status.ESCALATED)
            )
            .select_related("student")
            .order_by("student__student_no")
        )
        student: Student | None
        since = self.day(start)
        pool = [a for a in self.at_risk() if a.student.school_id == school.pk] if not cases else []
        if cases:
            case = self.rng.choice(cases)
            student, since = case.student, case.verified_on or case.detected_on
        elif pool:
            item = self.rng.choice(pool)
            student, since = item.student, item.since
        else:
            enrolled = Student.objects.filter(school=school, status=Student.Status.ENROLLED)
            student = enrolled.order_by("student_no").first()
        if student is None:
            return
        day = min(max(add_working_days(since, 2), self.day(start)), self.last)
        guardian = Guardian.objects.filter(student=student).order_by("pk").first()
        name = guardian.name if guardian else "家长"
        key = ("pledge", K.SCHOOL_FAMILY, school.pk, student.student_no)

        def create() -> None:
            pledge = pledges.create_pledge(
                user=principal,
                kind=K.SCHOOL_FAMILY,
                school_id=school.pk,
                term_id=self.term.pk,
                party_a_id=principal.pk,
                student_id=student.pk,
                guardian_name=name,
            )
            self.found[key] = pledge.pk

        self.at(_at(day, 16), create)
        self.at(_at(day, 16, 40), self.sign_pledge(key, principal, f"Pledge {school.code} school-family"))

    def new_pledge(self, key: tuple, user: User, kind: str, school: School, party_b: User):
        def step() -> None:
            pledge = pledges.create_pledge(
                user=user,
                kind=kind,
                school_id=school.pk,
                term_id=self.term.pk,
                party_a_id=user.pk,
                party_b_id=party_b.pk,
            )
            self.found[key] = pledge.pk

        return step

    def sign_pledge(self, key: tuple, user: User, line: str):
        def step() -> None:
            scan = _scan("目标责任书签字扫描件.pdf", f"{line} - signed {timezone.localdate():%Y-%m-%d}")
            pledges.record_signature(user=user, pledge_id=self.found[key], signed_on=timezone.localdate(), scan=scan)

        return step

    # --- the weekly sign-off chain --------------------------------------------------------------

    def signoff_weeks(self) -> list[tuple[str, dt.date, dt.date]]:
        """(week, Monday, the first working day after it) of the last SIGNOFF_WEEKS weeks of the term
        that were over, and could be signed, by the last day of the demo."""
        found = []
        for week, monday in weeks.weeks_ending_between(self.days[0], self.as_of - dt.timedelta(days=1)):
            after = weeks.sunday_of(monday) + dt.timedelta(days=1)
            while not is_working_day(after):
                after += dt.timedelta(days=1)
            if after <= self.last:
                found.append((week, monday, after))
        return found[-SIGNOFF_WEEKS:]

    def signoffs(self) -> None:
        rng = self.rng
        found = self.signoff_weeks()
        if not found:
            return
        others = [s for s in self.schools if s not in (self.first, self.second)] or [self.first]
        returned = rng.choice(others)  # a school other than principal2's (and the first, if there is one)
        returned_week = found[-2][0] if len(found) > 1 else None
        for week, monday, after in found:
            for school in self.schools:
                principal = self.people.principal.get(school.pk)
                if principal is None:
                    continue
                if school == self.second:
                    if week == found[-1][0]:
                        continue  # the latest week: not signed yet
                    late = add_working_days(weeks.sunday_of(monday), self.policy.sign_working_days + rng.randint(1, 2))
                    if late > self.last:
                        continue
                    signed = _at(late, 16, rng.randrange(90))
                else:
                    signed = _at(after, 7, 40 + rng.randrange(200))
                note = rng.choice(SIGN_NOTES)
                self.at(signed, self.sign(school, principal, week, note))
                if school == returned and week == returned_week:
                    # Sent back that afternoon, signed again the next working day, then received.
                    self.at(_at(signed.date(), 14, rng.randrange(60)), self.send_back(school, week))
                    again = add_working_days(signed.date(), 1)
                    self.at(_at(again, 9, rng.randrange(60)), self.sign(school, principal, week, "已核对更正"))
                    self.at(_at(again, 15, rng.randrange(120)), self.receive(school, week))
                    continue
                receive = signed.date() if rng.random() < 0.6 else add_working_days(signed.date(), 1)
                self.at(_at(min(receive, self.last), 17, 30 + rng.randrange(60)), self.receive(school, week))

    def sign(self, school: School, principal: User, week: str, note: str):
        def step() -> None:
            row = signoffs.sign_week(user=principal, school_id=school.pk, week=week, note=note)
            self.found[("signoff", school.pk, week)] = row.pk

        return step

    def receive(self, school: School, week: str):
        def step() -> None:
            signoffs.receive_week(user=self.bureau, signoff_id=self.found[("signoff", school.pk, week)])

        return step

    def send_back(self, school: School, week: str):
        def step() -> None:
            signoffs.return_week(
                user=self.bureau, signoff_id=self.found[("signoff", school.pk, week)], comment=RETURN_COMMENT
            )

        return step

    # --- findings and the veto ------------------------------------------------------------------

    def findings(self) -> None:
        rng = self.rng
        # The first school's: issued about six weeks ago, answered with a report within a week, accepted.
        principal = self.people.principal.get(self.first.pk)
        if principal is not None:
            issued = self.working_day_before(self.last - dt.timedelta(days=42 + rng.randrange(7)))
            answered = min(add_working_days(issued, rng.randint(4, 7)), self.last)
            accepted = min(add_working_days(answered, rng.randint(1, 3)), self.last)
            key = ("finding", self.first.pk)
            facts = "督导检查发现:该校部分预警学生的家访记录不全,个别包人责任人未按期联系家长。"
            requirement = "补齐预警学生家访记录,包人责任人每周至少联系家长一次,整改情况连同佐证材料报教育局。"
            self.at(_at(issued, 10, rng.randrange(60)), self.issue(key, self.first, facts, requirement))
            answer = "已组织班主任对全部预警学生逐一家访并补齐记录;包人责任人每周电话联系家长,记录由办公室按周归档。"
            self.at(_at(answered, 15, rng.randrange(60)), self.answer(key, principal, answer))
            self.at(_at(accepted, 17, rng.randrange(30)), self.accept(key))
        # principal2's school: issued about three weeks ago, the deadline passed, no answer yet.
        if self.second is not None and self.second.pk in self.people.principal:
            issued = self.working_day_before(self.last - dt.timedelta(days=21 + rng.randrange(3)))
            due = findings.default_due_on(self.county.pk, today=issued)
            if due >= self.as_of:
                due = max(self.working_day_before(self.as_of - dt.timedelta(days=1)), issued)
            facts = "督导检查发现:该校周报未按时签发,部分年级未落实包年级、包班责任人。"
            requirement = "立即明确各年级、各班控辍保学责任人,按时签发周报,限期报送整改情况及佐证材料。"
            key = ("finding", self.second.pk)
            self.at(_at(issued, 10, 30 + rng.randrange(60)), self.issue(key, self.second, facts, requirement, due))

    def issue(self, key: tuple, school: School, facts: str, requirement: str, due: dt.date | None = None):
        def step() -> None:
            finding = findings.issue_finding(
                user=self.bureau, school_id=school.pk, facts=facts, requirement=requirement, due_on=due
            )
            self.found[key] = finding.pk

        return step

    def answer(self, key: tuple, principal: User, text: str):
        def step() -> None:
            evidence = _scan("整改报告.pdf", f"Rectification report - {timezone.localdate():%Y-%m-%d}")
            findings.answer_finding(user=principal, finding_id=self.found[key], answer=text, files=[evidence])

        return step

    def accept(self, key: tuple):
        def step() -> None:
            findings.accept_finding(user=self.bureau, finding_id=self.found[key], note="整改到位,验收通过")

        return step

    def fault(self) -> None:
        """The veto: the bureau records that a confirmed dropout was lost through their class teacher's
        fault (a teacher other than ``teacher``; the first school's case if it has one)."""
        teacher = User.objects.filter(username="teacher").first()
        cases = (
            DropoutCase.objects.filter(
                school__county=self.county,
                status__in=(DropoutCase.Status.CONFIRMED, DropoutCase.Status.RETURNING, DropoutCase.Status.ESCALATED),
                verified_on__lte=self.last,
            )
            .select_related("student", "school")
            .order_by("school__code", "student__student_no")
        )
        candidates = [
            case
            for case in cases
            if self.people.teacher.get(case.classroom_id) not in (None, teacher) and case.verified_on is not None
        ]
        mine = [case for case in candidates if case.school_id == self.first.pk] or candidates
        if not mine:
            return
        case = self.rng.choice(mine)
        person = self.people.teacher[case.classroom_id]
        day = min(add_working_days(case.verified_on, self.rng.randint(2, 5)), self.last)
        reason = "该生辍学前已多次旷课,班主任未及时家访、未按规定报告,劝返工作不力,认定为责任流失。"

        def step() -> None:
            findings.record_fault(user=self.bureau, person_id=person.pk, case_id=case.pk, reason=reason)

        self.at(_at(day, 16, 30 + self.rng.randrange(60)), step)
