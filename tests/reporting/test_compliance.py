"""Compliance metrics (issue 13, item 4) on hand-made data with known answers.

The world: school 1 with classes A (teacher) and B (teacher2), school 2 with class C. The clock is
Wednesday 2026-11-25, 10:00 (the ``today`` fixture); week 47 is Monday 11-16 to Sunday 11-22.
"""

import datetime as dt
import zoneinfo

import pytest

from accountability.policy import policy_for
from casework import services as case_services
from casework.models import CaseActivity
from reporting import compliance, metrics
from students.models import Classroom, DailyReportRevision, School
from tests import factories as f
from tests.helpers import at, plan_input

pytestmark = pytest.mark.django_db
D = dt.date
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
W47 = (D(2026, 11, 16), D(2026, 11, 22))


def moment(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def collect(world, start, end, **kwargs):
    return compliance.collect(School.objects.filter(county=world.county), start, end, **kwargs)


def school_value(result, school, code):
    return next(row for row in result.schools if row.key == school.pk).values[code]


def person_value(result, user, code):
    return next(row for row in result.people if row.key == user.pk).values[code]


@pytest.fixture
def setup(world, term, today):
    return world


def filed(classroom, day, at_moment, by, **kwargs):
    return f.DailyReportFactory(classroom=classroom, date=day, submitted_by=by, submitted_at=at_moment, **kwargs)


def test_report_on_time_counts_first_filings_by_the_deadline(setup):
    world = setup
    days = [D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 18), D(2026, 11, 19), D(2026, 11, 20)]
    for day in days[:3]:
        filed(world.class_a, day, moment(day, 8), world.teacher)  # on time
    filed(world.class_a, days[3], moment(days[3], 10, 1), world.teacher)  # a minute late
    filed(world.class_a, days[4], moment(days[4] + dt.timedelta(days=3), 8), world.teacher)  # days later
    # A report filed on time and corrected at noon stays on time (its first filing counts).
    corrected = filed(world.class_b, days[0], moment(days[0], 12), world.teacher2, version=2)
    DailyReportRevision.objects.create(
        report=corrected, version=1, submitted_by=world.teacher2, submitted_at=moment(days[0], 9, 59), present_count=1
    )
    result = collect(world, *W47)
    value = school_value(result, world.school, "report_on_time")
    assert (value.numerator, value.denominator, value.value) == (4, 10, 40.0)  # 2 classes × 5 school days
    assert value.target == 95.0
    assert value.met is False
    assert person_value(result, world.teacher, "report_on_time").value == 60.0
    assert person_value(result, world.teacher2, "report_on_time").value == 20.0
    assert school_value(result, world.school2, "report_on_time").value == 0.0


def test_report_on_time_counts_only_days_whose_deadline_has_passed(setup):
    world = setup
    filed(world.class_a, D(2026, 11, 25), moment(D(2026, 11, 25), 8), world.teacher)
    early = moment(D(2026, 11, 25), 9)  # before today's 10:00 deadline: today is not yet due
    value = collect(world, D(2026, 11, 23), D(2026, 11, 25), as_of=early).schools[0].values["report_on_time"]
    assert value.denominator == 4  # 2 classes × Mon, Tue
    late = moment(D(2026, 11, 25), 10, 30)
    value = collect(world, D(2026, 11, 23), D(2026, 11, 25), as_of=late).schools[0].values["report_on_time"]
    assert (value.numerator, value.denominator) == (1, 6)


def test_an_empty_period_has_no_values(setup):
    result = collect(setup, D(2026, 11, 21), D(2026, 11, 22))  # a weekend
    values = result.schools[0].values
    for code in ("report_on_time", "flags_in_time", "deadlines_met", "home_visits", "activities_per_case"):
        assert values[code].value is None, code
        assert values[code].met is None
    # The National Day holiday: no school day either.
    assert collect(setup, D(2026, 10, 1), D(2026, 10, 7)).schools[0].values["report_on_time"].denominator == 0


def test_flags_handled_within_the_school_days_allowed(setup):
    world = setup
    assert policy_for(world.county.pk).flag_ack_school_days == 2
    a = world.students_a

    def flag(student, raised, handled=None, status="open"):
        return f.RiskFlagFactory(student=student, level="red", raised_at=raised, handled_at=handled, status=status)

    # Raised Friday: due the next school day (Monday 11-23); handled Monday → in time.
    flag(a[0], moment(D(2026, 11, 20), 18), moment(D(2026, 11, 23), 9), "acknowledged")
    # Raised Thursday: due Friday; handled Monday → late.
    flag(a[1], moment(D(2026, 11, 19), 18), moment(D(2026, 11, 23), 9), "resolved")
    # Raised Wednesday 11-18, still open: due 11-19, passed → missed.
    flag(a[2], moment(D(2026, 11, 18), 18))
    # Raised today, still open: not yet due → not counted.
    flag(world.students_b[0], moment(D(2026, 11, 25), 8))
    # Raised before the period: not counted.
    flag(world.students_b[1], moment(D(2026, 11, 10), 8))
    result = collect(world, D(2026, 11, 16), D(2026, 11, 25))
    value = school_value(result, world.school, "flags_in_time")
    assert (value.numerator, value.denominator, value.value) == (1, 3, 33.33)
    assert person_value(result, world.teacher, "flags_in_time").denominator == 3
    assert person_value(result, world.teacher2, "flags_in_time").denominator == 0


def test_flag_deadline_skips_the_national_day_holiday(setup):
    world = setup
    # Raised on the last school day before the holiday (09-30): due on the first school day after it,
    # 10-08 (the 2026 holiday is 10-01 to 10-07). Handled then: in time; a day later: late.
    for student, handled in ((world.students_a[0], D(2026, 10, 8)), (world.students_a[1], D(2026, 10, 9))):
        f.RiskFlagFactory(
            student=student,
            level="red",
            raised_at=moment(D(2026, 9, 30), 18),
            handled_at=moment(handled, 9),
            status="acknowledged",
        )
    value = school_value(collect(world, D(2026, 9, 28), D(2026, 10, 16)), world.school, "flags_in_time")
    assert (value.numerator, value.denominator) == (1, 2)


def test_case_deadlines_count_working_days(setup):
    world = setup
    a, b = world.students_a, world.students_b
    with at(D(2026, 11, 16)):
        met = case_services.open_case(
            user=world.principal,
            student_id=a[0].pk,
            form=case_services.ReportForm(reason="work", last_attended_on=D(2026, 11, 13)),
        )
        missed = case_services.open_case(
            user=world.principal, student_id=a[1].pk, form=case_services.ReportForm(reason="work")
        )
        planned_late = case_services.open_case(
            user=world.principal,
            student_id=b[0].pk,
            form=case_services.ReportForm(reason="work", last_attended_on=D(2026, 11, 13)),
        )
    with at(D(2026, 11, 18)):  # due 11-19 (3 working days after 11-16)
        case_services.submit_report(user=world.principal, case_id=met.pk)
    with at(D(2026, 11, 17)):
        case_services.submit_report(user=world.principal, case_id=planned_late.pk)
        case_services.verify_case(user=world.bureau, case_id=planned_late.pk)
    with at(D(2026, 11, 25)):  # the plan was due 11-24 (5 working days after 11-17)
        case_services.make_plan(user=world.principal, case_id=planned_late.pk, plan=plan_input(world, student=b[0]))
    value = school_value(collect(world, D(2026, 11, 16), D(2026, 11, 25)), world.school, "deadlines_met")
    # Reports: met (1), missed (unreported, due 11-19), met (planned_late reported 11-17); plan: late.
    assert (value.numerator, value.denominator) == (2, 4)
    assert value.value == 50.0
    assert missed.pk  # the unreported case is the missed one


def test_activities_and_home_visits_of_the_cases_in_hand(setup):
    world = setup
    a = world.students_a
    cases = []
    for student in a[:2]:
        with at(D(2026, 11, 16)):
            case = case_services.open_case(
                user=world.principal,
                student_id=student.pk,
                form=case_services.ReportForm(reason="work", last_attended_on=D(2026, 11, 13)),
            )
            case_services.submit_report(user=world.principal, case_id=case.pk)
            case_services.verify_case(user=world.bureau, case_id=case.pk)
            case_services.make_plan(user=world.principal, case_id=case.pk, plan=plan_input(world, student=student))
        cases.append(case)
    with at(D(2026, 11, 20)):
        for kind in ("home_visit", "phone", "phone"):
            case_services.add_activity(
                user=world.teacher,
                case_id=cases[0].pk,
                activity=case_services.ActivityInput(
                    occurred_on=D(2026, 11, 19), kind=kind, outcome="refused", participants="班主任"
                ),
            )
    result = collect(world, W47[0], W47[1])
    activities = school_value(result, world.school, "activities_per_case")
    assert (activities.numerator, activities.denominator, activities.value) == (3, 2, 1.5)
    assert activities.met is False  # the target is 2 per case
    visits = school_value(result, world.school, "home_visits")
    assert (visits.numerator, visits.denominator, visits.value) == (1, 2, 50.0)
    assert person_value(result, world.teacher, "home_visits").value == 50.0
    # The week before: the cases were not yet in hand.
    before = collect(world, D(2026, 11, 9), D(2026, 11, 15))
    assert school_value(before, world.school, "activities_per_case").denominator == 0
    assert CaseActivity.objects.count() == 3


def test_dropout_rate_and_retention_are_the_reports_numbers(setup):
    world = setup
    with at(D(2026, 11, 16)):
        case = case_services.open_case(
            user=world.principal,
            student_id=world.students_a[0].pk,
            form=case_services.ReportForm(reason="work", last_attended_on=D(2026, 11, 13)),
        )
        case_services.submit_report(user=world.principal, case_id=case.pk)
        case_services.verify_case(user=world.bureau, case_id=case.pk)
    result = collect(world, *W47)
    reports = metrics.collect(Classroom.objects.filter(grade__school=world.school), *W47, by_class=False)
    unit = reports.schools[0]
    rate = school_value(result, world.school, "dropout_rate")
    assert rate.value == unit.dropout_rate
    assert rate.value > 0
    assert rate.target == unit.target
    assert rate.met is (unit.dropout_rate <= unit.target)
    assert school_value(result, world.school, "retention_rate").value == unit.retention_rate
    no_dropout = school_value(result, world.school, "no_dropout_classes")
    assert (no_dropout.numerator, no_dropout.denominator, no_dropout.met) == (1, 2, False)
    assert person_value(result, world.teacher, "no_dropout_classes").value == 0.0
    assert person_value(result, world.teacher2, "no_dropout_classes").value == 100.0
    assert school_value(result, world.school2, "no_dropout_classes").met is True


def test_every_value_carries_its_formula(setup):
    row = collect(setup, *W47).schools[0].to_dict()
    assert {m["code"] for m in row["metrics"]} == {m.code for m in compliance.METRICS}
    assert all(m["formula"] for m in row["metrics"])


def test_weekly_signoff_on_time_is_the_sign_off_chains_own_definition(setup):
    from accountability.signoffs import services as signoffs

    world = setup
    with at(D(2026, 11, 9)):  # W45 due 11-10: on time
        signoffs.sign_week(user=world.principal, school_id=world.school.pk, week="2026-W45")
    with at(D(2026, 11, 19)):  # W46 due 11-17: late
        signoffs.sign_week(user=world.principal, school_id=world.school.pk, week="2026-W46")
    # W47 (due 11-24) was not signed at all by today, 11-25.
    result = collect(world, D(2026, 11, 2), D(2026, 11, 22))
    value = school_value(result, world.school, "signoff_on_time")
    assert (value.numerator, value.denominator, value.value) == (1, 3, 33.33)
    assert school_value(result, world.school2, "signoff_on_time").numerator == 0
