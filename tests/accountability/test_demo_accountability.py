"""seed_demo's accountability part (accountability/demo.py): leading groups and the matrix with deliberate
gaps, pledges signed and missing, a sign-off chain with a late school, two findings (one overdue), a veto —
all written by the real services at moments no later than the seeding."""

import datetime as dt
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from accountability.findings import selectors as finding_selectors
from accountability.matrix import selectors as matrix_selectors
from accountability.models import (
    Finding,
    FindingAttachment,
    LeadingGroup,
    LeadingGroupMember,
    Pledge,
    Responsibility,
    TeacherFault,
    WeeklySignoff,
)
from accountability.models.pledges import PledgeKind
from accountability.pledges import selectors as pledge_selectors
from accountability.signoffs import selectors as signoff_selectors
from casework.models import DropoutCase
from students.models import Classroom, Post, School, Term, Township, User

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 25)  # a Wednesday: the last four finished weeks are 2026-W44 … W47
LATEST_WEEK = "2026-W47"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
R = Responsibility


def seed(seed_value: int = 7, as_of: dt.date | None = AS_OF, **options) -> None:
    args = ["seed_demo", "--students", "300", "--seed", str(seed_value)]
    if as_of is not None:
        args += ["--as-of", as_of.isoformat()]
    call_command(*args, verbosity=0, **options)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def seeded(media):
    seed()


def user(username: str) -> User:
    return User.objects.get(username=username)


def school_of(username: str) -> School:
    return Post.objects.select_related("school").get(user__username=username, role=Post.Role.PRINCIPAL).school


def term() -> Term:
    return Term.objects.get(start_date__lte=AS_OF, end_date__gte=AS_OF)


def test_every_school_has_its_leading_group_led_by_its_principal(seeded):
    schools = list(School.objects.order_by("code"))
    assert len(schools) >= 2
    for school in schools:
        group = LeadingGroup.objects.get(school=school)
        principal = Post.objects.get(role=Post.Role.PRINCIPAL, school=school).user
        assert group.leader == principal
        assert group.school_year.start_date <= AS_OF <= group.school_year.end_date
        members = list(group.members.values_list("user_id", flat=True))
        assert members
        teachers = Post.objects.filter(role=Post.Role.CLASS_TEACHER, classroom__school=school)
        assert set(members) <= set(teachers.values_list("user_id", flat=True))
        assert group.members.filter(duty=LeadingGroupMember.Duty.OFFICE).count() == 1


def test_the_matrix_has_rows_and_the_deliberate_gaps(seeded):
    principal, principal2, bureau = user("principal"), user("principal2"), user("bureau")
    first, second = school_of("principal"), school_of("principal2")
    # principal sees rows and gaps: at-risk students of the school nobody covers, but every class led.
    assert matrix_selectors.responsibility_list(principal).filter(owner_school=first).count() > 10
    assert matrix_selectors.gap_count(principal) > 0
    gaps = matrix_selectors.gaps(principal)
    assert 2 <= len(gaps.students) <= 3
    assert gaps.classrooms == []
    assert all(gap.student.school_id == first.pk for gap in gaps.students)
    # principal2's school: one grade without 包年级 and its classes without 包班.
    leaderless = matrix_selectors.gaps(principal2).classrooms
    assert leaderless
    assert len({room.grade_id for room in leaderless}) == 1
    assert not R.objects.filter(target_kind=R.TargetKind.GRADE, grade_id=leaderless[0].grade_id).exists()
    assert {room.pk for room in leaderless} == set(
        Classroom.objects.filter(grade_id=leaderless[0].grade_id).values_list("pk", flat=True)
    )
    # Elsewhere every grade is led by the principal, every class by its own class teacher.
    for row in R.objects.filter(target_kind=R.TargetKind.CLASSROOM).select_related("classroom"):
        assert Post.objects.filter(user=row.person, classroom=row.classroom, role=Post.Role.CLASS_TEACHER).exists()
    for row in R.objects.filter(target_kind=R.TargetKind.GRADE).select_related("grade"):
        assert Post.objects.filter(user=row.person, school=row.grade.school_id, role=Post.Role.PRINCIPAL).exists()
    assert R.objects.filter(target_kind=R.TargetKind.CLASSROOM).count() == Classroom.objects.count() - len(leaderless)
    assert all(room.school_id == second.pk for room in leaderless)
    # 包人 on both lines: the class teacher and the cadre of the student's township.
    students = R.objects.filter(target_kind=R.TargetKind.STUDENT).select_related("student__village")
    assert students.filter(line=R.Line.EDUCATION).exists()
    for row in students.filter(line=R.Line.ADMINISTRATIVE):
        cadre = Post.objects.get(user=row.person, role=Post.Role.CADRE)
        assert cadre.township_id == row.student.village.township_id
    # The bureau covers every township but one with its cadre.
    townships = R.objects.filter(target_kind=R.TargetKind.TOWNSHIP, line=R.Line.ADMINISTRATIVE)
    assert townships.count() == Township.objects.count() - 1
    assert set(townships.values_list("created_by__username", flat=True)) == {"bureau"}
    assert matrix_selectors.gap_count(bureau) > matrix_selectors.gap_count(principal)


def test_pledges_signed_and_missing(seeded, media):
    bureau, principal = user("bureau"), user("principal")
    first = school_of("principal")
    pledges = Pledge.objects.filter(term=term())
    signed = pledges.filter(pledge_selectors.SIGNED_Q)
    assert signed.exists()
    assert pledges.exclude(pledge_selectors.SIGNED_Q).exists()
    # Every school has its 教育局—校长 pledge; the first school's is signed, one or two others' not.
    by_school = pledges.filter(kind=PledgeKind.BUREAU_PRINCIPAL)
    assert by_school.count() == School.objects.count()
    assert by_school.filter(school=first).filter(pledge_selectors.SIGNED_Q).exists()
    unsigned = pledge_selectors.unsigned(bureau, term())
    principals = [row for row in unsigned if row.kind == PledgeKind.BUREAU_PRINCIPAL]
    assert 1 <= len(principals) <= 2
    assert all(row.school != first and row.pledge_id for row in principals)
    # At the first school every class teacher signed except teacher2 (the pledge is on file, unsigned).
    mine = pledge_selectors.unsigned(principal, term())
    assert [(row.person.username, bool(row.pledge_id)) for row in mine] == [("teacher2", True)]
    family = pledges.get(kind=PledgeKind.SCHOOL_FAMILY)
    assert family.school == first
    assert family.guardian_name
    assert pledge_selectors.is_signed(family)
    # The scans are small PDFs, stored.
    for pledge in signed:
        with pledge.scan.open("rb") as scan:
            content = scan.read()
        assert content.startswith(b"%PDF-")
        assert b"%%EOF" in content[-64:]
        assert pledge.signed_on <= AS_OF
    assert (media / "pledges").is_dir()


def test_the_sign_off_chain_has_a_late_school_and_a_returned_week(seeded):
    bureau = user("bureau")
    second = school_of("principal2")
    rows = WeeklySignoff.objects.filter(school=second).order_by("week")
    assert rows.count() == 3
    assert all(row.sign_late and row.status == WeeklySignoff.Status.RECEIVED for row in rows)
    assert LATEST_WEEK not in {row.week for row in rows}
    board = signoff_selectors.week_board(bureau, LATEST_WEEK, today=AS_OF)
    status = {row.school.pk: row.status for row in board.rows}
    assert status[second.pk] == WeeklySignoff.Status.PENDING
    assert {s for pk, s in status.items() if pk != second.pk} == {WeeklySignoff.Status.RECEIVED}
    others = WeeklySignoff.objects.exclude(school=second)
    assert others.count() == 4 * (School.objects.count() - 1)
    assert not others.filter(sign_late=True).exists()
    [returned] = WeeklySignoff.objects.filter(times_returned__gt=0)
    assert returned.school != second
    assert returned.times_returned == 1
    assert returned.return_comment
    assert returned.status == WeeklySignoff.Status.RECEIVED
    assert not returned.sign_late
    statuses = list(returned.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert statuses[-4:] == ["signed", "returned", "signed", "received"]


def test_two_findings_one_overdue_one_accepted_and_a_veto(seeded):
    first, second = school_of("principal"), school_of("principal2")
    [overdue] = Finding.objects.filter(finding_selectors.overdue_q(AS_OF))
    assert overdue.school == second
    assert overdue.status == Finding.Status.OPEN
    assert overdue.issued_on < overdue.due_on < AS_OF
    assert dt.timedelta(days=14) <= AS_OF - overdue.issued_on <= dt.timedelta(days=28)
    [accepted] = Finding.objects.filter(status=Finding.Status.ACCEPTED)
    assert accepted.school == first
    assert accepted.issued_on < overdue.issued_on
    assert accepted.answered_by == user("principal")
    assert accepted.decided_by == user("bureau")
    [evidence] = FindingAttachment.objects.filter(finding=accepted)
    assert evidence.name.endswith(".pdf")
    assert Finding.objects.count() == 2
    # The veto: a class teacher other than `teacher` answers for a confirmed case of their class.
    [fault] = TeacherFault.objects.select_related("case")
    assert fault.person.username != "teacher"
    assert fault.case.status in DropoutCase.CONFIRMED_STATUSES
    assert Post.objects.filter(user=fault.person, classroom=fault.case.classroom, role=Post.Role.CLASS_TEACHER).exists()
    assert fault.case.verified_on <= fault.recorded_on <= AS_OF


def history_models():
    return [LeadingGroup, LeadingGroupMember, Responsibility, Pledge, WeeklySignoff, Finding, TeacherFault]


def moments() -> list[tuple[str, dt.datetime]]:
    """Every time stamp the accountability steps wrote: history rows and the rows' own."""
    found = []
    for model in history_models():
        found += [(model.__name__, at) for at in model.history.values_list("history_date", flat=True)]
    fields = {
        LeadingGroup: ["updated_at"],
        Responsibility: ["created_at"],
        Pledge: ["created_at"],
        WeeklySignoff: ["signed_at", "received_at", "returned_at"],
        Finding: ["answered_at", "decided_at"],
        FindingAttachment: ["uploaded_at"],
    }
    for model, names in fields.items():
        for name in names:
            found += [(f"{model.__name__}.{name}", at) for at in model.objects.values_list(name, flat=True) if at]
    return found


def test_nothing_is_later_than_as_of(seeded):
    found = moments()
    assert len(found) > 100
    late = [(what, at) for what, at in found if timezone.localtime(at, SHANGHAI).date() > AS_OF]
    assert late == []
    assert not Pledge.objects.filter(signed_on__gt=AS_OF).exists()
    assert not Finding.objects.filter(issued_on__gt=AS_OF).exists()
    assert not TeacherFault.objects.filter(recorded_on__gt=AS_OF).exists()


def test_built_today_every_step_is_on_an_earlier_day(media, today):
    seed(seed_value=3, as_of=None)
    found = moments()
    assert found
    late = [(what, at) for what, at in found if timezone.localtime(at, SHANGHAI).date() >= today]
    assert late == []
    assert all(at <= timezone.now() for _, at in found)


def snapshot() -> dict[str, list]:
    """The accountability demo by natural keys (no database ids)."""
    return {
        "groups": sorted(LeadingGroup.objects.values_list("school__code", "leader__username", "updated_at").order_by()),
        "members": sorted(LeadingGroupMember.objects.values_list("group__school__code", "user__username", "duty")),
        "matrix": sorted(
            Responsibility.objects.values_list(
                "person__username", "line", "target_kind", "student__student_no", "classroom__name", "created_at"
            )
        ),
        "pledges": sorted(
            Pledge.objects.values_list("school__code", "kind", "party_b__username", "signed_on", "scan_sha256")
        ),
        "signoffs": sorted(
            WeeklySignoff.objects.values_list("school__code", "week", "status", "signed_at", "sign_late")
        ),
        "findings": sorted(Finding.objects.values_list("school__code", "status", "issued_on", "due_on")),
        "faults": sorted(TeacherFault.objects.values_list("person__username", "case__student__student_no")),
    }


def test_the_same_seed_builds_the_same_accountability_demo(seeded):
    first = snapshot()
    seed(reset=True)
    assert snapshot() == first


@pytest.mark.parametrize("as_of", [dt.date(2026, 9, 1), dt.date(2026, 9, 2), dt.date(2026, 9, 14)])
def test_early_in_the_term_the_demo_does_what_fits_and_nothing_later(media, as_of):
    seed(as_of=as_of)
    assert LeadingGroup.objects.count() == School.objects.count()
    assert Pledge.objects.filter(pledge_selectors.SIGNED_Q).exists()
    # On the term's first day nothing issued that term can be overdue yet.
    assert Finding.objects.filter(finding_selectors.overdue_q(as_of)).count() == (as_of > dt.date(2026, 9, 1))
    late = [(what, at) for what, at in moments() if timezone.localtime(at, SHANGHAI).date() > as_of]
    assert late == []
    weeks = set(WeeklySignoff.objects.values_list("week", flat=True))
    assert all(dt.date.fromisocalendar(int(week[:4]), int(week[-2:]), 7) < as_of for week in weeks)
