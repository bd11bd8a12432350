"""What tests of every folder call directly: the clock, cases in any state, reports on file, Celery.

Fixtures stay in the conftest.py files; a test file imports helpers from here, never from a conftest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import socket
import time
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest
import time_machine

from casework import services
from casework.models import DropoutCase
from reporting.models import ReportRun
from students.models import AbsenceKind, Classroom, DailyReport, School, Student, Township, User, Village

from . import factories as f

if TYPE_CHECKING:
    from celery import Celery

    from students.models import County

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CASE_STATES = ("suspected", "reported", "confirmed", "returning", "escalated", "returned", "closed")
"""The states ``build_case`` reaches, in lifecycle order ('reported' = suspected with the report sent)."""


@dataclasses.dataclass
class World:
    """A small county with the six demo roles of DESIGN.md §8 (built by the ``world`` fixture)."""

    county: County
    township: Township
    village: Village
    other_township: Township
    other_village: Village
    school: School
    school2: School
    class_a: Classroom
    class_b: Classroom
    class_c: Classroom  # in school2
    students_a: list[Student]
    students_b: list[Student]
    students_c: list[Student]
    bureau: User
    principal: User
    teacher: User
    teacher2: User
    principal2: User
    cadre: User
    cadre2: User  # the township cadre of other_township (where class B students live)
    outsider: User  # a user with no post at all


def at(day: dt.date) -> time_machine.travel:
    """Travel to 10:00 in Shanghai on ``day`` (the clock keeps ticking): ``with at(day): ...``."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI), tick=True)


def plan_input(
    world: World, target: dt.date = dt.date(2026, 12, 31), student: Student | None = None
) -> services.PlanInput:
    """A plan owned by the world's principal, class teacher and the cadre of ``student``'s township
    (the world's cadre unless the student lives in other_township), aiming at ``target``."""
    lives_elsewhere = student is not None and student.village.township_id == world.other_township.pk
    return services.PlanInput(
        reason_analysis="厌学",
        measures=["home_visit", "counselling"],
        method="家访谈心",
        target_return_on=target,
        school_leader_id=world.principal.pk,
        class_teacher_id=world.teacher.pk,
        township_cadre_id=(world.cadre2 if lives_elsewhere else world.cadre).pk,
    )


def failed_contact(day: dt.date) -> services.ActivityInput:
    """A phone call on ``day`` that reached nobody (counts towards escalation)."""
    return services.ActivityInput(occurred_on=day, kind="phone", outcome="unreachable", participants="班主任")


def build_case(world: World, student: Student, state: str, *, day: dt.date = dt.date(2026, 11, 23)) -> DropoutCase:
    """A case for ``student`` driven through the services to ``state`` (one of ``CASE_STATES``) on ``day``."""
    target = CASE_STATES.index(state)
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
            services.make_plan(user=world.principal, case_id=case.pk, plan=plan_input(world, student=student))
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


def report(
    classroom: Classroom,
    day: dt.date,
    absent: Mapping[Student, str] | Iterable[Student] = (),
    *,
    by: User,
    enrolled: int | None = None,
    kind: str = AbsenceKind.UNEXCUSED,
) -> DailyReport:
    """``classroom``'s daily report for ``day`` on file, as if ``by`` had submitted it that day.

    ``absent`` maps each absent student to an absence kind, or lists absent students who all get
    ``kind``; empty is a 零报告 (everyone present). ``enrolled`` defaults to the class's enrolled
    students now. The row is written directly (no calendar checks, no risk evaluation): for past
    days a teacher could no longer submit.
    """
    kinds = dict(absent) if isinstance(absent, Mapping) else dict.fromkeys(absent, kind)
    counts: dict[str, int] = {"absent_count": len(kinds)}
    if enrolled is not None:
        counts["enrolled_count"] = enrolled
    row = f.DailyReportFactory(classroom=classroom, date=day, submitted_by=by, **counts)
    for student, absence_kind in kinds.items():
        f.AbsenceFactory(report=row, student=student, kind=absence_kind)
    return row


@contextlib.contextmanager
def celery_configured(**conf: Any) -> Iterator[Celery]:
    """Reconfigure the Celery app for one test and drop its cached broker pools and result backend."""
    from config.celery import app

    def reset() -> None:
        from kombu import pools

        pools.reset()  # kombu keeps connection and producer pools per broker URL, process-wide
        app._pool = None
        app.amqp._producer_pool = None
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    previous = {key: app.conf[key] for key in conf}
    app.conf.update(conf)
    reset()
    try:
        yield app
    finally:
        app.conf.update(previous)
        reset()


# --- report runs built by a real worker ---------------------------------------------------------

W47 = "2026-W47"
DEADLINE_SECONDS = 60


def wait_for(run_id: int, *statuses: str) -> ReportRun:
    """Poll the run until it reaches one of ``statuses`` (bounded by a deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        run = ReportRun.objects.get(pk=run_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {run.status} ({run.progress}%) after {DEADLINE_SECONDS}s")
        time.sleep(0.1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a private server, or to play an outage)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
