"""Daily attendance reports: submit, correct, reject, concurrency, query counts, broker outage."""

import datetime as dt
import threading
import time

import pytest
from django.db import connections
from django.urls import reverse

from students.calendar import is_working_day
from students.models import Absence, DailyReport, DailyReportRevision
from tests import factories as f
from tests.helpers import celery_configured, report

pytestmark = pytest.mark.django_db
URL = "/api/v1/attendance/"
D = dt.date


def body(classroom, day, absences=(), version=None):
    data = {"classroom": classroom.pk, "date": day.isoformat(), "absences": list(absences)}
    if version is not None:
        data["version"] = version
    return data


def absent(student, kind="unexcused", note=""):
    return {"student": student.pk, "kind": kind, "note": note}


def test_first_submit_creates_version_one(world, term, today, api):
    a, b = world.students_a[:2]
    response = api.as_user(world.teacher).post(
        URL, body(world.class_a, today, [absent(a), absent(b, "sick")]), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["version"] == 1
    assert data["enrolled_count"] == 3
    assert data["present_count"] == 1
    assert data["submitted_by"] == world.teacher.pk
    assert {(x["student"], x["kind"]) for x in data["absences"]} == {(a.pk, "unexcused"), (b.pk, "sick")}
    assert DailyReport.objects.count() == 1


def test_zero_report_is_reported_and_not_missing(world, term, today, api):
    api.as_user(world.principal)
    missing = api.get(reverse("api-attendance-missing"), {"date": today.isoformat()}).json()
    assert {row["id"] for row in missing["results"]} == {world.class_a.pk, world.class_b.pk}
    assert api.post(URL, body(world.class_a, today), format="json").status_code == 201
    missing = api.get(reverse("api-attendance-missing"), {"date": today.isoformat()}).json()
    assert {row["id"] for row in missing["results"]} == {world.class_b.pk}
    assert DailyReport.objects.get().present_count == 3


def test_missing_is_scoped(world, term, today, api):
    results = api.as_user(world.teacher2).get(reverse("api-attendance-missing"), {"date": today.isoformat()}).json()
    assert [row["id"] for row in results["results"]] == [world.class_b.pk]
    results = api.as_user(world.outsider).get(reverse("api-attendance-missing"), {"date": today.isoformat()}).json()
    assert results["count"] == 0


def test_resubmitting_same_content_is_a_harmless_retry(world, term, today, api):
    api.as_user(world.teacher)
    payload = body(world.class_a, today, [absent(world.students_a[0])])
    assert api.post(URL, payload, format="json").status_code == 201
    again = api.post(URL, payload, format="json")
    assert again.status_code == 200
    assert again.json()["version"] == 1
    assert DailyReportRevision.objects.count() == 1


def test_correction_makes_new_version_and_keeps_the_old(world, term, today, api):
    api.as_user(world.teacher)
    first = api.post(URL, body(world.class_a, today, [absent(world.students_a[0])]), format="json").json()
    second = api.post(URL, body(world.class_a, today, [absent(world.students_a[1], "sick")], version=1), format="json")
    assert second.status_code == 200
    assert second.json()["version"] == 2
    assert [x["student"] for x in second.json()["absences"]] == [world.students_a[1].pk]
    revisions = list(DailyReportRevision.objects.order_by("version").values_list("version", "absences"))
    assert revisions[0] == (
        1,
        [{"student": world.students_a[0].pk, "kind": "unexcused", "note": "", "family_contacted": False}],
    )
    assert revisions[1][0] == 2
    assert first["id"] == second.json()["id"]
    assert Absence.objects.count() == 1


def test_stale_correction_is_refused_with_the_current_version(world, term, today, api):
    api.as_user(world.teacher)
    api.post(URL, body(world.class_a, today, [absent(world.students_a[0])]), format="json")
    api.as_user(world.principal).post(
        URL, body(world.class_a, today, [absent(world.students_a[1])], version=1), format="json"
    )
    stale = api.as_user(world.teacher).post(
        URL, body(world.class_a, today, [absent(world.students_a[2])], version=1), format="json"
    )
    assert stale.status_code == 409
    assert "刷新" in stale.json()["detail"]
    assert stale.json()["current"]["version"] == 2
    assert stale.json()["current"]["absences"][0]["student"] == world.students_a[1].pk


def test_changing_an_existing_report_without_version_is_a_conflict(world, term, today, api):
    api.as_user(world.teacher)
    api.post(URL, body(world.class_a, today, [absent(world.students_a[0])]), format="json")
    response = api.post(URL, body(world.class_a, today, []), format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (D(2026, 11, 26), "未来"),  # tomorrow
        (D(2026, 11, 22), "周末"),  # Sunday of this week
        (D(2026, 11, 20), "本周"),  # last Friday: outside the correction window
    ],
)
def test_dates_refused(world, term, today, api, day, message):
    response = api.as_user(world.teacher).post(URL, body(world.class_a, day), format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert DailyReport.objects.count() == 0


def test_county_closure_refused(world, term, today, api):
    f.ClosureFactory(county=world.county, start_date=today, reason="暴雨停课")
    response = api.as_user(world.teacher).post(URL, body(world.class_a, today), format="json")
    assert response.status_code == 400
    assert "暴雨停课" in response.json()["detail"]


def test_official_holiday_refused_and_makeup_workday_accepted(world, term, api):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 10, 10, 9, 0), tick=True):
        api.as_user(world.teacher)
        holiday = api.post(URL, body(world.class_a, D(2026, 10, 7)), format="json")
        assert holiday.status_code == 400
        assert "法定节假日" in holiday.json()["detail"]
        makeup = api.post(URL, body(world.class_a, D(2026, 10, 10)), format="json")  # Saturday make-up workday
        assert makeup.status_code == 201


def test_student_of_another_class_refused(world, term, today, api):
    response = api.as_user(world.teacher).post(
        URL, body(world.class_a, today, [absent(world.students_b[0])]), format="json"
    )
    assert response.status_code == 400
    assert "不在本班" in response.json()["detail"]


def test_unknown_kind_refused(world, term, today, api):
    response = api.as_user(world.teacher).post(
        URL, body(world.class_a, today, [absent(world.students_a[0], "truant")]), format="json"
    )
    assert response.status_code == 400
    assert "未知的缺勤类别" in response.json()["detail"]


def test_class_outside_scope_is_not_found(world, term, today, api):
    assert api.as_user(world.teacher2).post(URL, body(world.class_a, today), format="json").status_code == 404
    assert api.as_user(world.principal2).post(URL, body(world.class_a, today), format="json").status_code == 404
    assert api.as_user(world.cadre).post(URL, body(world.class_a, today), format="json").status_code == 404
    assert DailyReport.objects.count() == 0


def test_reports_list_is_scoped(world, term, today, api):
    api.as_user(world.teacher).post(URL, body(world.class_a, today, [absent(world.students_a[0])]), format="json")
    api.as_user(world.teacher2).post(URL, body(world.class_b, today), format="json")
    mine = api.as_user(world.teacher).get(URL, {"date": today.isoformat()}).json()
    assert [r["classroom"] for r in mine["results"]] == [world.class_a.pk]
    school = api.as_user(world.principal).get(URL, {"date": today.isoformat()}).json()
    assert {r["classroom"] for r in school["results"]} == {world.class_a.pk, world.class_b.pk}
    assert api.as_user(world.principal2).get(URL).json()["count"] == 0
    report_id = mine["results"][0]["id"]
    assert api.as_user(world.teacher2).get(f"{URL}{report_id}/").status_code == 404


@pytest.mark.parametrize("size", [10, 60])
def test_submit_query_count_constant_in_class_size(world, term, today, api, size, django_assert_max_num_queries):
    classroom = f.ClassroomFactory(grade=world.class_a.grade, number=9)
    students = [f.StudentFactory(classroom=classroom) for _ in range(size)]
    f.PostFactory(user=world.teacher, county=world.county, classroom=classroom)
    api.as_user(world.teacher)
    api.get(URL)  # resolve and cache the user's scope and the calendar, as a running server has
    is_working_day(today)  # and the calendar of record (read once a minute)
    payload = body(classroom, today, [absent(s) for s in students[: size // 2]])
    with django_assert_max_num_queries(10):
        assert api.post(URL, payload, format="json").status_code == 201
    correction = body(classroom, today, [absent(s, "sick") for s in students[: size // 3]], version=1)
    with django_assert_max_num_queries(10):
        assert api.post(URL, correction, format="json").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_submits_make_exactly_one_report(world, term, today):
    from students.attendance import services as attendance

    barrier = threading.Barrier(4)
    outcomes = []

    def submit(kind):
        try:
            barrier.wait()
            result = attendance.submit_daily_report(
                user=world.teacher,
                classroom_id=world.class_a.pk,
                day=today,
                absences=[attendance.AbsenceInput(world.students_a[0].pk, kind)],
            )
            outcomes.append(("ok", result.created))
        except Exception as exc:
            outcomes.append(("error", type(exc).__name__))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=("unexcused",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert DailyReport.objects.filter(classroom=world.class_a, date=today).count() == 1
    assert sorted(outcomes) == [("ok", False), ("ok", False), ("ok", False), ("ok", True)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_corrections_cannot_both_succeed(world, term, today):
    from students.attendance import services as attendance
    from students.errors import Conflict

    attendance.submit_daily_report(user=world.teacher, classroom_id=world.class_a.pk, day=today, absences=[])
    barrier = threading.Barrier(2)
    outcomes = []

    def correct(student):
        try:
            barrier.wait()
            attendance.submit_daily_report(
                user=world.teacher,
                classroom_id=world.class_a.pk,
                day=today,
                absences=[attendance.AbsenceInput(student.pk, "sick")],
                version=1,
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=correct, args=(s,)) for s in world.students_a[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert DailyReport.objects.get().version == 2


def test_submit_does_not_wait_for_a_dead_broker(world, term, today, api, django_capture_on_commit_callbacks):
    with (
        celery_configured(broker_url="redis://127.0.0.1:1/0", task_always_eager=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        started = time.monotonic()
        response = api.as_user(world.teacher).post(
            URL, body(world.class_a, today, [absent(world.students_a[0])]), format="json"
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert DailyReport.objects.filter(classroom=world.class_a, date=today).exists()
    assert elapsed < 10  # a refused connection fails fast; the broker settings bound the retries


def test_submit_evaluates_risk_after_commit(world, term, today, api, django_capture_on_commit_callbacks):
    from students.models import RiskFlag

    student = world.students_a[0]
    for day in (D(2026, 11, 23), D(2026, 11, 24)):  # Monday, Tuesday of this week
        report(world.class_a, day, {student: "unknown"}, by=world.teacher)
    with django_capture_on_commit_callbacks(execute=True):
        api.as_user(world.teacher).post(URL, body(world.class_a, today, [absent(student)]), format="json")
    flag = RiskFlag.objects.get(student=student, rule_code="consecutive_absence")
    assert flag.level == "red"
    assert "11-23、11-24、11-25" in flag.evidence_text


def test_the_answers_absences_are_what_absence_out_documents(world, term, today, api):
    """ReportOut builds each absence by hand (speed); it must say exactly what AbsenceOut documents."""
    from students.attendance.api import AbsenceOut, ReportOut

    absences = [absent(world.students_a[0], "sick", "发烧"), absent(world.students_a[1], "unknown")]
    answer = api.as_user(world.teacher).post(URL, body(world.class_a, today, absences), format="json").json()
    saved = DailyReport.objects.get(classroom=world.class_a, date=today)
    documented = AbsenceOut(saved.absences.select_related("student"), many=True).data
    assert answer["absences"] == documented
    assert ReportOut(saved).data["absences"] == documented
    assert [a["kind_display"] for a in documented] == ["病假", "不明"]
