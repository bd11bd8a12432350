"""seed_demo: a believable, deterministic demo county with the fixed accounts of DESIGN.md §8."""

import datetime as dt
import io
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from students import idnumber
from students.attendance import risk
from students.calendar import SchoolCalendar
from students.demo.county import FIXED_USERNAMES
from students.models import (
    Absence,
    Classroom,
    County,
    DailyReport,
    DailyReportRevision,
    Guardian,
    Notification,
    Post,
    RiskFlag,
    RiskRule,
    School,
    Student,
    Term,
    User,
)
from students.scoping import classrooms_visible_to, scope_for, students_visible_to

pytestmark = pytest.mark.django_db

N = 300
D = dt.date
AS_OF = D(2026, 11, 25)  # a Wednesday; 2026-11-06 is a county closure, 10-01…10-08 the National Day holiday


def seed(**options) -> str:
    out = io.StringIO()
    options.setdefault("students", N)
    options.setdefault("seed", 7)
    options.setdefault("as_of", AS_OF.isoformat())
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def absences() -> list[tuple]:
    return list(
        Absence.objects.order_by("date", "student__student_no").values_list(
            "student__student_no", "date", "kind", "note", "family_contacted"
        )
    )


def seeded_students():
    """The students the seeder built: not the screening demo's 失学 child (a student record too, 未入学,
    on no class roll: casework/screening/demo.py)."""
    return Student.objects.exclude(status=Student.Status.NOT_ENROLLED)


def roster() -> list[tuple[str, str]]:
    return list(Student.objects.order_by("id").values_list("student_no", "name"))


def only_post(username: str) -> Post:
    posts = list(Post.objects.active().filter(user__username=username))
    assert len(posts) == 1, posts
    return posts[0]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """The demo's signed scans and evidence files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def seeded(db):
    return seed()


def test_builds_a_county_of_the_requested_size(seeded):
    assert County.objects.get().code == "431226"
    assert seeded_students().count() == N
    assert School.objects.count() >= 2
    assert Guardian.objects.count() >= N
    assert Term.objects.filter(school_year__name="2026-2027").count() == 2
    assert Term.objects.filter(school_year__name="2025-2026").count() == 2
    # Every student is in a class of their school and lives in a village.
    assert not seeded_students().filter(classroom__isnull=True).exists()
    assert not Student.objects.filter(village__isnull=True).exists()
    assert all(s.classroom.school_id == s.school_id for s in seeded_students().select_related("classroom"))
    assert "principal" in seeded
    assert "用时" in seeded


def test_fixed_accounts_have_the_right_posts_and_scopes(seeded):
    users = {u.username: u for u in User.objects.filter(username__in=FIXED_USERNAMES)}
    assert set(users) == set(FIXED_USERNAMES)
    assert all(u.check_password("demo12345") and u.display_name for u in users.values())
    assert users["admin"].is_superuser
    assert users["admin"].is_staff
    assert not any(u.is_superuser for name, u in users.items() if name != "admin")

    county = County.objects.get()
    assert only_post("bureau").role == Post.Role.BUREAU
    assert scope_for(users["bureau"]).county_ids == {county.pk}

    principal = only_post("principal")
    school = principal.school
    assert principal.role == Post.Role.PRINCIPAL
    assert school.stage in (School.Stage.JUNIOR, School.Stage.NINE_YEAR)
    assert Classroom.objects.filter(school=school, grade__level=7).count() >= 2

    teacher, teacher2 = only_post("teacher"), only_post("teacher2")
    assert teacher.role == teacher2.role == Post.Role.CLASS_TEACHER
    assert teacher.classroom.school == teacher2.classroom.school == school
    assert teacher.classroom != teacher2.classroom
    assert (teacher.classroom.name, teacher2.classroom.name) == ("七年级(1)班", "七年级(2)班")
    class_students = set(Student.objects.filter(classroom=teacher.classroom).values_list("pk", flat=True))
    assert class_students
    assert set(students_visible_to(users["teacher"]).values_list("pk", flat=True)) == class_students

    principal2 = only_post("principal2")
    assert principal2.role == Post.Role.PRINCIPAL
    assert principal2.school != school

    cadre = only_post("cadre")
    assert cadre.role == Post.Role.CADRE
    assert cadre.township is not None
    assert Student.objects.filter(school=school, village__township=cadre.township).exists()
    assert classrooms_visible_to(users["cadre"]).filter(school=school).exists()


def test_every_class_has_a_class_teacher(seeded):
    rooms = set(Classroom.objects.values_list("pk", flat=True))
    taught = set(Post.objects.active().filter(role=Post.Role.CLASS_TEACHER).values_list("classroom_id", flat=True))
    assert taught == rooms
    assert Post.objects.active().filter(role=Post.Role.PRINCIPAL).count() == School.objects.count()


def test_id_numbers_are_valid_unique_and_match_the_student(seeded):
    rows = list(seeded_students().values_list("id_number", "student_no", "birth_date", "gender"))
    numbers = [r[0] for r in rows]
    assert len(set(numbers)) == len(numbers) == N
    for number, student_no, born, gender in rows:
        assert idnumber.validate_id_number(number) == number
        assert number.startswith("431226")
        assert student_no == "G" + number
        assert idnumber.birth_date_of(number) == born
        assert (int(number[16]) % 2 == 1) == (gender == Student.Gender.MALE)


def test_birth_dates_fit_the_grade(seeded):
    for student in seeded_students().select_related("classroom__grade"):
        level = student.classroom.grade.level
        age = student.age_on(dt.date(2026, 9, 1))
        assert level + 5 <= age <= level + 7, (student.name, level, student.birth_date)


def test_pinyin_fields_are_what_fill_derived_computes(seeded):
    for student in Student.objects.all()[:100]:
        fresh = Student(name=student.name, id_number=student.id_number, school_id=student.school_id)
        fresh.fill_derived()
        assert (student.name_pinyin, student.name_initials) == (fresh.name_pinyin, fresh.name_initials)


def test_same_seed_gives_the_same_data_and_another_seed_does_not(seeded):
    first, first_absences = roster(), absences()
    first_flags = sorted(RiskFlag.objects.values_list("student__student_no", "rule_code", "situation_key"))
    assert first_absences
    seed(reset=True)
    assert roster() == first
    assert absences() == first_absences
    assert sorted(RiskFlag.objects.values_list("student__student_no", "rule_code", "situation_key")) == first_flags
    seed(reset=True, seed=8)
    other = roster()
    assert [name for _, name in other] != [name for _, name in first]
    assert absences() != first_absences
    assert User.objects.filter(username__in=FIXED_USERNAMES).count() == len(FIXED_USERNAMES)


def test_reset_removes_attendance_flags_rules_and_notifications(seeded):
    models = (DailyReport, Absence, DailyReportRevision, RiskRule, RiskFlag, Notification)
    before = {model: model.objects.count() for model in models}
    assert all(before.values()), before
    seed(reset=True)  # nothing left over: the same seed gives exactly the same rows again
    assert {model: model.objects.count() for model in models} == before


# --- attendance and flags ---------------------------------------------------------------------


def test_every_class_reported_every_past_school_day_and_nothing_else(seeded):
    rooms = set(Classroom.objects.values_list("pk", flat=True))
    calendar = SchoolCalendar(County.objects.get().pk)
    past = calendar.school_days(D(2026, 9, 1), AS_OF - dt.timedelta(days=1))
    assert D(2026, 10, 10) in past  # a Saturday make-up workday
    by_day = defaultdict(set)
    for classroom_id, day in DailyReport.objects.values_list("classroom_id", "date"):
        by_day[day].add(classroom_id)
    assert set(by_day) == {*past, AS_OF}
    assert all(by_day[day] == rooms for day in past)
    assert by_day[D(2026, 11, 24)] == rooms
    for day in (D(2026, 11, 21), D(2026, 11, 22), D(2026, 10, 1), D(2026, 10, 7), D(2026, 11, 6)):
        assert day not in by_day  # weekend, National Day holiday, county closure
    assert "上学日" in seeded
    assert "预警" in seeded


def test_some_classes_have_not_reported_on_as_of_among_them_teachers(seeded):
    rooms = set(Classroom.objects.values_list("pk", flat=True))
    today = set(DailyReport.objects.filter(date=AS_OF).values_list("classroom_id", flat=True))
    teacher_room, teacher2_room = only_post("teacher").classroom_id, only_post("teacher2").classroom_id
    assert today
    assert today < rooms
    assert teacher_room not in today
    assert teacher2_room in today
    # The nightly reminder went out to the class teachers of the missing classes.
    reminded = set(
        Notification.objects.filter(kind="not_reported", key__endswith=AS_OF.isoformat()).values_list(
            "user__posts__classroom_id", flat=True
        )
    )
    assert reminded == rooms - today


def roll_on(day: dt.date) -> Counter:
    """Students on each class's roll on ``day`` (issue 12 item 11: 应到 is the roll of that day): those
    enrolled or dropped out now, less the dropouts between the bureau's confirmation (they were on the
    roll that day) and the morning of their return."""
    from casework.models import DropoutCase

    on_roll = [Student.Status.ENROLLED, Student.Status.DROPPED_OUT]
    roll = Counter(Student.objects.filter(status__in=on_roll).values_list("classroom_id", flat=True))
    for case in DropoutCase.objects.filter(verified_on__lt=day).exclude(status="dismissed"):
        if case.returned_on is None or day < case.returned_on:
            roll[case.classroom_id] -= 1
    return roll


def test_reports_count_their_absences_of_their_own_enrolled_students(seeded):
    on_roll = [Student.Status.ENROLLED, Student.Status.DROPPED_OUT]
    rolls = {day: roll_on(day) for day in set(DailyReport.objects.values_list("date", flat=True))}
    absent = Counter(Absence.objects.values_list("report_id", flat=True))
    teacher_of = dict(Post.objects.filter(role=Post.Role.CLASS_TEACHER).values_list("classroom_id", "user_id"))
    school_of = dict(Classroom.objects.values_list("pk", "school_id"))
    reports = list(DailyReport.objects.all())
    for report in reports:
        assert report.version == 1
        assert report.school_id == school_of[report.classroom_id]
        assert report.enrolled_count == rolls[report.date][report.classroom_id], report
        assert report.present_count == report.enrolled_count - absent[report.pk]
        assert report.submitted_by_id == teacher_of[report.classroom_id]
        local = timezone.localtime(report.submitted_at)
        assert local.date() == report.date
        assert dt.time(7, 50) <= local.time() <= dt.time(8, 40)
    assert sum(absent.values()) > 0
    assert any(rolls[day] != rolls[AS_OF] for day in rolls)  # the demo's dropouts left their rolls
    # Today's reports count the roll a teacher sees now: the saved banner and the live bar agree.
    enrolled_now = Counter(Student.objects.filter(status="enrolled").values_list("classroom_id", flat=True))
    for report in DailyReport.objects.filter(date=AS_OF):
        assert report.enrolled_count == enrolled_now[report.classroom_id]
    assert not Absence.objects.exclude(student__classroom_id=F("report__classroom_id")).exists()
    assert not Absence.objects.exclude(date=F("report__date")).exists()
    assert not Absence.objects.exclude(student__status__in=on_roll).exists()
    assert set(Absence.objects.values_list("kind", flat=True)) == {"sick", "personal", "unexcused", "unknown"}
    assert Absence.objects.filter(note="发烧").exists()
    assert (
        Absence.objects.filter(kind="sick", family_contacted=True).count()
        > Absence.objects.filter(kind="sick", family_contacted=False).count()
    )

    # One version-1 revision per report, its snapshot the report's absences by student id.
    snapshot = defaultdict(list)
    for report_id, student_id, kind, note, contacted in Absence.objects.order_by("report_id", "student_id").values_list(
        "report_id", "student_id", "kind", "note", "family_contacted"
    ):
        snapshot[report_id].append({"student": student_id, "kind": kind, "note": note, "family_contacted": contacted})
    revisions = {rev.report_id: rev for rev in DailyReportRevision.objects.all()}
    assert len(revisions) == len(reports)
    for report in reports:
        rev = revisions[report.pk]
        assert (rev.version, rev.present_count, rev.submitted_by_id) == (
            1,
            report.present_count,
            report.submitted_by_id,
        )
        assert rev.submitted_at == report.submitted_at
        assert rev.absences == snapshot[report.pk]


def test_teacher_sees_a_red_and_a_yellow_flag_and_teacher2_an_orange(seeded):
    teacher, teacher2 = User.objects.get(username="teacher"), User.objects.get(username="teacher2")
    open_flags = risk.flags_visible_to(teacher).filter(status__in=RiskFlag.OPEN_STATUSES)
    assert {"red", "yellow"} <= set(open_flags.values_list("level", flat=True))
    red = open_flags.filter(level="red").first()
    assert red.rule_code == "consecutive_absence"
    assert red.rule_version == 1
    assert len(red.evidence["dates"]) >= 3
    assert red.evidence["dates"][-1] == "2026-11-24"  # the class has not reported on as_of yet
    assert Notification.objects.filter(user=teacher, kind="risk_red").exists()
    assert open_flags.filter(level="yellow", rule_code="chronic_absence").exists()

    levels2 = set(
        risk.flags_visible_to(teacher2).filter(status__in=RiskFlag.OPEN_STATUSES).values_list("level", flat=True)
    )
    assert "orange" in levels2
    assert sorted(RiskRule.objects.values_list("code", "version")) == [
        ("chronic_absence", 1),
        ("consecutive_absence", 1),
        ("recent_unexcused", 1),
    ]
    # Open flags only for enrolled students (a confirmed dropout's flags went to the case), and the
    # seed's evaluation is what a re-run finds.
    assert RiskFlag.objects.exclude(student__status=Student.Status.ENROLLED).exists()
    assert (
        not RiskFlag.objects.filter(status__in=RiskFlag.OPEN_STATUSES)
        .exclude(student__status=Student.Status.ENROLLED)
        .exists()
    )
    assert risk.evaluate(county_id=County.objects.get().pk, as_of=AS_OF).raised == 0


@pytest.mark.parametrize("seed_value", [7, 3, 11])
def test_as_of_defaults_to_today(db, today, seed_value):
    seed(as_of=None, seed=seed_value)
    assert DailyReport.objects.latest("date").date == today
    assert not DailyReport.objects.filter(submitted_at__gt=timezone.now()).exists()
    # Nothing the demo's services did is later than now (10:00 on as_of).
    from casework.models import CaseActivity, CaseEvent

    assert CaseEvent.objects.exists()
    for model, field in ((CaseEvent, "at"), (CaseActivity, "created_at"), (RiskFlag, "raised_at")):
        assert not model.objects.filter(**{f"{field}__gt": timezone.now()}).exists(), model
    assert not Notification.objects.filter(created_at__gt=timezone.now()).exists()


def test_as_of_outside_a_term_is_the_last_school_day_of_the_term_before(db):
    out = seed(as_of="2026-08-15")  # summer holidays: the spring term ended on Friday 2026-07-03
    rooms = set(Classroom.objects.values_list("pk", flat=True))
    assert DailyReport.objects.latest("date").date == D(2026, 7, 3)
    assert DailyReport.objects.earliest("date").date == D(2026, 3, 2)
    assert set(DailyReport.objects.filter(date=D(2026, 7, 3)).values_list("classroom_id", flat=True)) == rooms
    assert "2026-07-03" in out


@pytest.mark.parametrize("value", ["2026-13-01", "2025-08-01"])
def test_bad_as_of_is_refused(db, value):
    with pytest.raises(CommandError):
        seed(as_of=value)


def test_if_empty_does_nothing_when_data_exists(seeded):
    before = roster()
    out = seed(if_empty=True, seed=99)
    assert "did nothing" in out
    assert roster() == before
    assert County.objects.count() == 1


def test_refuses_to_seed_over_existing_data(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed()
    assert seeded_students().count() == N


def test_reset_and_if_empty_exclude_each_other(db):
    with pytest.raises(CommandError):
        seed(reset=True, if_empty=True)


def test_demo_logins_lists_the_fixed_accounts(seeded):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    assert "demo12345" in text
    for username in FIXED_USERNAMES:
        assert username in text
    assert "七年级(1)班" in text


def test_bench_refuses_existing_data_without_reset_then_reports(seeded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("bench", students=N, no_migrate=True, stdout=io.StringIO())
    out = io.StringIO()
    # report_only: a test checks that every section runs and reports; targets are make bench's business.
    call_command("bench", students=N, seed=7, no_migrate=True, reset=True, report_only=True, verbosity=0, stdout=out)
    text = out.getvalue()
    assert f"seed_demo {N} students" in text
    assert "attendance submit p95, task queued (ms)" in text
    assert "nightly rule evaluation, whole county, cold (s)" in text
    assert "roster import 1,000 new rows (s)" in text
    assert "county weekly numbers ÷ bare SQL" in text
    assert "county weekly report with .xlsx ÷ (bare SQL + bare openpyxl)" in text
    assert "ledger throughput ÷ bare loop, 500 rows" in text  # the grown ledger (a tenth of 5,000 on a small bench)
    assert "principal dashboard uncached p95 (ms)" in text
    assert "compliance metrics ÷ bare SQL" in text
    assert "appraisal .xlsx throughput ÷ bare loop" in text
    assert "register import throughput ÷ bare read + insert" in text
    assert "register import: check (s)" in text
    # The bench's register run is gone with its children; the demo's stays.
    from casework.models import ScreenedChild, ScreeningRun

    assert ScreeningRun.objects.exists()
    assert not ScreeningRun.objects.filter(title__startswith="bench").exists()
    assert not ScreenedChild.objects.exclude(run__in=ScreeningRun.objects.all()).exists()
    assert seeded_students().count() == N + 1000  # the roster section imported 1,000 new students
    # Every class without a report on the bench's day got one from its teacher through the API.
    assert DailyReport.objects.filter(date=D(2026, 11, 25)).count() == Classroom.objects.count()


def test_demo_has_cases_in_every_state_for_the_first_school(db):
    from django.core.management import call_command

    from casework.models import CaseEvent, DropoutCase

    call_command("seed_demo", "--students", "300", "--seed", "7", "--as-of", "2026-11-25", verbosity=0)
    principal_school = Post.objects.get(user__username="principal").school
    states = set(DropoutCase.objects.filter(school=principal_school).values_list("status", flat=True))
    assert states == set(DropoutCase.Status.values)
    for case in DropoutCase.objects.all():
        assert CaseEvent.objects.filter(case=case).exists()
        if case.status in ("returning", "escalated", "returned", "closed"):
            assert case.plans.filter(is_current=True).exists()
            assert case.activities.exists()
    assert DropoutCase.objects.filter(next_due_on__lt="2026-11-25").exists()  # something overdue to show


def test_bench_ledger_volume_grows_the_dropout_ledger_and_rolls_it_back(seeded):
    from bench.ledgers import ledger_volume
    from casework.models import CaseActivity, DropoutCase, ReturnPlan
    from reporting.ledgers.shared import context_for_user, dropouts_q

    bureau = User.objects.get(username="bureau")

    def ledger_rows() -> int:
        ctx = context_for_user(bureau)
        return ctx.cases.filter(dropouts_q(ctx.year_start)).count()

    before = ledger_rows()
    counts = (DropoutCase.objects.count(), ReturnPlan.objects.count(), CaseActivity.objects.count())
    assert before > 0
    with ledger_volume(before + 40) as added:
        assert added == 40
        assert ledger_rows() == before + 40
        grown = DropoutCase.objects.order_by("-pk")[:40]
        assert all(case.student.school_id == case.school_id for case in grown)  # on students of that school
        assert ReturnPlan.objects.count() > counts[1]  # the copies carry their plans and contacts
        assert CaseActivity.objects.count() > counts[2]
    assert ledger_rows() == before
    assert (DropoutCase.objects.count(), ReturnPlan.objects.count(), CaseActivity.objects.count()) == counts


@pytest.mark.parametrize(("as_of", "seed_value"), [("2026-11-25", 7), ("2026-11-30", 3), ("2026-12-01", 11)])
def test_demo_cases_hold_the_rules_of_the_system(db, as_of, seed_value):
    """Issue 12 item 14: no demo case has a history the system itself could not have produced."""
    from django.core.management import call_command
    from django.utils import timezone

    from casework.models import DropoutCase
    from students.calendar import is_working_day

    call_command("seed_demo", "--students", "300", "--seed", str(seed_value), "--as-of", as_of, verbosity=0)
    today = dt.date.fromisoformat(as_of)
    problems = []
    # The screening demo's 失学 case (source 排查, no class, no attendance) is tests/casework/test_demo_screening.py's.
    attendance_cases = DropoutCase.objects.exclude(source=DropoutCase.Source.SCREENING)
    for case in attendance_cases.prefetch_related("events", "activities", "plans"):
        who = f"case {case.pk} ({case.status})"
        steps = [
            case.last_attended_on,
            case.detected_on,
            case.reported_on,
            case.verified_on,
            case.returned_on,
            case.closed_on,
        ]
        dated = [day for day in steps if day is not None]
        if dated != sorted(dated):
            problems.append(f"{who}: steps out of order {steps}")
        if any(day > today for day in dated):
            problems.append(f"{who}: a step after today {steps}")
        if not is_working_day(case.detected_on):
            problems.append(f"{who}: detected on a day off {case.detected_on}")
        if case.last_attended_on and case.last_attended_on >= case.detected_on:
            problems.append(f"{who}: last attended on/after detection")
        for event in case.events.all():
            if timezone.localtime(event.at).date() > today:
                problems.append(f"{who}: event {event.action} after today")
        activities = sorted(case.activities.all(), key=lambda a: (a.occurred_on, a.pk))
        for activity in activities:
            if activity.occurred_on > today or (case.verified_on and activity.occurred_on < case.verified_on):
                problems.append(f"{who}: contact on {activity.occurred_on} outside the case's life")
        if case.status in DropoutCase.BACK_AT_SCHOOL:
            after = [a for a in activities if a.occurred_on > case.returned_on]
            if after:
                problems.append(f"{who}: contacts after the return {[a.occurred_on for a in after]}")
            if activities and activities[-1].outcome != "returned":
                problems.append(f"{who}: back at school but the last contact says {activities[-1].outcome}")
        problems += attendance_disagreements(case, today)
    assert problems == []
    # Every case came from the red flag the rules raised on the third day away (the ledger's
    # 连续缺勤天数 is the flag's streak), and every step was a service's, in the services' order.
    cases = list(attendance_cases.select_related("source_flag"))
    assert cases
    for case in cases:
        flag = case.source_flag
        assert case.source == "attendance", case
        assert flag is not None
        assert len(flag.evidence["dates"]) >= 3  # the acknowledged flag follows a streak that goes on
        assert flag.evidence["dates"][2] == case.detected_on.isoformat()
        assert timezone.localtime(flag.raised_at).date() == case.detected_on
        assert flag.evidence["dates"][0] == case.dropped_out_on.isoformat()
        actions = [e.action for e in case.events.order_by("at", "pk")]
        assert actions[0] == "报告疑似辍学"
        if case.reported_on:
            assert "校长签发并上报教育局" in actions
            assert case.principal_opinion == "同意上报"
    # The demo's notifications are the services': the owners named in each plan were told.
    from casework.models import ReturnPlan

    for plan in ReturnPlan.objects.all():
        told = set(Notification.objects.filter(key=f"case-owner:{plan.case_id}:v1").values_list("user_id", flat=True))
        assert told == set(plan.owner_ids)


def attendance_disagreements(case, today: dt.date) -> list[str]:
    """Where the class's daily reports tell another story than the case: the student absent from the day
    they stopped coming until the bureau confirmed the dropout, off the roll (not counted, not marked)
    until the morning they were back, and at school since; the close basis counts those days."""
    from casework.models import DropoutCase

    who = f"case {case.pk} ({case.status})"
    reported = list(
        DailyReport.objects.filter(classroom_id=case.classroom_id, date__gte=case.dropped_out_on).values_list(
            "date", flat=True
        )
    )
    absent = dict(Absence.objects.filter(student_id=case.student_id).values_list("date", "kind"))
    confirmed = case.status not in ("suspected", "dismissed")
    problems = []
    for day in sorted(reported):
        off_roll = confirmed and day > case.verified_on and (case.returned_on is None or day < case.returned_on)
        at_school = case.returned_on is not None and day >= case.returned_on
        if day <= case.detected_on and absent.get(day) not in ("unexcused", "unknown"):
            problems.append(f"{who}: not truant on {day}, before the case was found")
        if off_roll and day in absent:
            problems.append(f"{who}: marked absent on {day} while off the roll")
        if at_school and day in absent:
            problems.append(f"{who}: absent on {day}, after the return")
        if not (off_roll or at_school) and day not in absent and case.status != DropoutCase.Status.DISMISSED:
            problems.append(f"{who}: present on {day} while still away")
    if absent and min(absent) < case.dropped_out_on:
        problems.append(f"{who}: absences before the day they stopped coming")
    if case.status == "closed":
        attended = sum(1 for day in reported if day >= case.returned_on and day <= case.closed_on and day not in absent)
        if f"实际到校{attended}个上学日" not in case.close_basis:
            problems.append(f"{who}: close basis {case.close_basis!r}, attendance shows {attended} days")
    return problems
