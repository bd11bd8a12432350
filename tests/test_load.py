"""make load's own parts on the test database (no wrk, no gunicorn): the bare write, the bodies,
the parsing of the Lua's result file and the database check, so that they cannot silently break."""

import datetime as dt
import random
import re

import pytest
from django.urls import Resolver404, resolve

from bench.load.bare import BARE_PATH, Invalid, bare_submit
from bench.load.bodies import (
    KINDS,
    MAX_ABSENCES,
    WrkResult,
    build_bodies,
    clear_days,
    current_week_school_days,
    earlier_school_days,
    enrolled_by_class,
    verify,
)
from students.calendar import SchoolCalendar
from students.models import Absence, DailyReport

# The Lua finds the (class, day) of a 2xx answer with these patterns (bench/load/submit.lua).
CLASSROOM = re.compile(r'"classroom":\s*(\d+)')
DATE = re.compile(r'"date":\s*"([\d-]+)"')


def result_text(bodies, sent: int, answered_ok: list, nthreads: int = 1, status: int = 201) -> str:
    """What submit.lua writes for one thread that sent ``sent`` bodies and got 2xx for ``answered_ok``."""
    lines = ["summary 1000000 3 100 0 0 0 0 0", "latency 1000 2000 3000 1500 4000"]
    lines.append(f"thread 1 {len(bodies)} {sent} {len(answered_ok)} 0")
    lines.append(f"status {status} {len(answered_ok)}")
    lines += [f"ok {b.classroom} {b.day.isoformat()} {status}" for b in answered_ok]
    return "\n".join(lines)


def test_bare_write_upserts_the_report_and_replaces_the_absences(world):
    day = dt.date(2026, 11, 20)
    a, b, c = world.students_a[:3]
    report_id, version = bare_submit(
        classroom_id=world.class_a.pk,
        day=day,
        absences=[(a.pk, "sick", "发烧"), (b.pk, "unexcused", "")],
        submitted_by=world.bureau.pk,
    )
    report = DailyReport.objects.get(pk=report_id)
    assert (version, report.school_id, report.date, report.submitted_by_id) == (
        1,
        world.school.pk,
        day,
        world.bureau.pk,
    )
    assert (report.enrolled_count, report.present_count) == (len(world.students_a), len(world.students_a) - 2)
    assert set(report.absences.values_list("student_id", "kind", "note", "date")) == {
        (a.pk, "sick", "发烧", day),
        (b.pk, "unexcused", "", day),
    }

    again = bare_submit(
        classroom_id=world.class_a.pk, day=day, absences=[(c.pk, "personal", "")], submitted_by=world.bureau.pk
    )
    assert again == (report_id, 2)
    assert list(Absence.objects.filter(report_id=report_id).values_list("student_id", flat=True)) == [c.pk]

    stranger = world.students_b[0]
    with pytest.raises(Invalid):
        bare_submit(classroom_id=world.class_a.pk, day=day, absences=[(stranger.pk, "sick", "")], submitted_by=1)
    with pytest.raises(Invalid):
        bare_submit(classroom_id=999_999, day=day, absences=[], submitted_by=1)
    assert DailyReport.objects.count() == 1


@pytest.mark.urls("bench.load.urls")
def test_bare_endpoint_answers_201_naming_class_and_day_without_auth(world, client):
    body = {
        "classroom": world.class_b.pk,
        "date": "2026-11-20",
        "submitted_by": world.bureau.pk,
        "absences": [{"student": world.students_b[0].pk, "kind": "unknown", "note": ""}],
    }
    response = client.post(BARE_PATH, body, content_type="application/json")
    assert response.status_code == 201, response.content
    text = response.content.decode()
    assert CLASSROOM.search(text).group(1) == str(world.class_b.pk)
    assert DATE.search(text).group(1) == "2026-11-20"
    bad = client.post(
        BARE_PATH, {**body, "absences": [{"student": 1, "kind": "late"}]}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_the_bare_route_is_not_in_the_production_urls():
    with pytest.raises(Resolver404):
        resolve(BARE_PATH, urlconf="config.urls")
    assert resolve(BARE_PATH, urlconf="bench.load.urls").url_name == "load-bare-attendance"


def test_bodies_are_first_submits_of_distinct_class_days(world, term, today):
    calendar = SchoolCalendar(world.county.pk)
    week = current_week_school_days(calendar, today)
    assert week == [dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)]
    earlier = earlier_school_days(calendar, week[0], 4)
    assert earlier == [dt.date(2026, 11, 17), dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]

    pupils = enrolled_by_class()
    bodies = build_bodies(pupils, week, random.Random(1))
    assert len(bodies) == len({b.key for b in bodies}) == len(pupils) * len(week)
    for body in bodies:
        students = [s for s, _kind, _note in body.absences]
        assert len(students) <= MAX_ABSENCES
        assert set(students) <= set(pupils[body.classroom])
        assert {kind for _s, kind, _note in body.absences} <= set(KINDS)

    bare_submit(classroom_id=world.class_a.pk, day=week[0], absences=[], submitted_by=world.bureau.pk)
    assert clear_days(week) == 1
    assert not DailyReport.objects.exists()


def test_the_project_endpoint_names_class_and_day_as_the_lua_expects(world, term, today, api):
    response = api.as_user(world.bureau).post(
        "/api/v1/attendance/", {"classroom": world.class_a.pk, "date": today.isoformat()}, format="json"
    )
    assert response.status_code == 201
    text = response.content.decode()
    assert CLASSROOM.search(text).group(1) == str(world.class_a.pk)
    assert DATE.search(text).group(1) == today.isoformat()


def test_the_database_check(world, term, today):
    pupils = enrolled_by_class()
    bodies = build_bodies(pupils, current_week_school_days(SchoolCalendar(world.county.pk), today), random.Random(2))
    assert len(bodies) >= 6

    def write(body):
        bare_submit(
            classroom_id=body.classroom, day=body.day, absences=list(body.absences), submitted_by=world.bureau.pk
        )

    # Sent the first 5: 3 answered 2xx, 1 written but still in flight at the stop, 1 not written.
    for body in bodies[:4]:
        write(body)
    result = WrkResult.parse(result_text(bodies, sent=5, answered_ok=bodies[:3]))
    assert (result.rate, result.p50_us, result.p99_us, result.ok, result.in_flight) == (3.0, 1000, 3000, 3, 2)
    check = verify(bodies, result, nthreads=1)
    assert check.ok, check.line()
    assert (check.confirmed_ok, check.unconfirmed_written, check.in_flight) == (3, 1, 2)

    # A non-2xx answer that wrote anyway: more unconfirmed reports than requests in flight.
    result.threads = [(1, len(bodies), 5, 5, 0)]
    assert not verify(bodies, result, nthreads=1).ok

    # A body never sent that has a report; a confirmed one that is not a first submit.
    result = WrkResult.parse(result_text(bodies, sent=5, answered_ok=bodies[:3]))
    write(bodies[5])
    assert verify(bodies, result, nthreads=1).unsent_written == 1
    DailyReport.objects.filter(classroom_id=bodies[5].classroom, date=bodies[5].day).delete()
    write(bodies[0])  # version 2
    check = verify(bodies, result, nthreads=1)
    assert (check.ok, check.wrong_content, check.confirmed_ok) == (False, 1, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_database_can_be_settled_before_measuring():
    """make load asks for a CHECKPOINT: scripts/with-services.sh lets the kc role do so (PostgreSQL 15+)."""
    from django.db import connection

    from bench.core import checkpoint

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        version = int(cursor.fetchone()[0])
    assert checkpoint() is (version >= 150000)
