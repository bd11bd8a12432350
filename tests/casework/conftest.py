"""Cases in any state, driven through the services exactly as users would."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from casework import services
from casework.models import DropoutCase

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ORDER = ["suspected", "reported", "confirmed", "returning", "escalated", "returned", "closed"]


def at(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI), tick=True)


def plan_input(world, target=dt.date(2026, 12, 31)) -> services.PlanInput:
    return services.PlanInput(
        reason_analysis="厌学",
        measures=["home_visit", "counselling"],
        method="家访谈心",
        target_return_on=target,
        school_leader_id=world.principal.pk,
        class_teacher_id=world.teacher.pk,
        township_cadre_id=world.cadre.pk,
    )


def failed_contact(day):
    return services.ActivityInput(occurred_on=day, kind="phone", outcome="unreachable", participants="班主任")


def build_case(world, student, state: str, *, day=dt.date(2026, 11, 23)) -> DropoutCase:
    """A case for ``student`` moved to ``state`` ('reported' = suspected with the report sent)."""
    target = ORDER.index(state)
    with at(day):
        case = services.open_case(
            user=world.principal,
            student_id=student.pk,
            form=services.ReportForm(reason="learning", last_attended_on=day - dt.timedelta(days=5)),
        )
        if target >= 1:
            services.submit_report(user=world.principal, case_id=case.pk)
        if target >= 2:
            services.verify_case(user=world.bureau, case_id=case.pk)
        if target >= 3:
            services.make_plan(user=world.principal, case_id=case.pk, plan=plan_input(world))
        if target >= 4 and state != "returned":
            for _ in range(3):
                services.add_activity(user=world.teacher, case_id=case.pk, activity=failed_contact(day))
            services.escalate_case(user=world.principal, case_id=case.pk)
        if target >= 5:
            services.record_return(user=world.principal, case_id=case.pk, returned_on=day, placement="original")
        if target >= 6:
            DropoutCase.objects.filter(pk=case.pk).update(status="closed")
    case.refresh_from_db()
    return case


@pytest.fixture
def case_in(world, term):
    def make(state, student=None, **kwargs):
        return build_case(world, student or world.students_a[0], state, **kwargs)

    return make
