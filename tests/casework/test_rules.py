"""Illegal transitions (409), roles, scope (404), concurrency, query counts and the daily job."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from casework import services
from casework.models import CaseEvent, DropoutCase
from students.errors import InvalidInput, InvalidTransition
from students.models import Notification
from tests import factories as f
from tests.helpers import at, build_case, failed_contact, plan_input

pytestmark = pytest.mark.django_db
CASES = "/api/v1/dropout-cases/"
TODAY = dt.date(2026, 11, 25)

PLAN_BODY = {
    "reason_analysis": "厌学",
    "measures": ["home_visit"],
    "method": "家访",
    "target_return_on": "2026-12-31",
}
ACTIONS = {
    "submit-report": ("principal", {}),
    "verify": ("bureau", {}),
    "dismiss": ("bureau", {"reason": "false_report"}),
    "plan": ("principal", PLAN_BODY),
    "escalate": ("bureau", {}),
    "return": ("principal", {"returned_on": "2026-11-25", "placement": "original"}),
    "close": ("bureau", {}),
}
# Which states each action is legal in (everything else must answer 409).
LEGAL = {
    "submit-report": {"suspected"},
    "verify": {"reported"},
    "dismiss": {"suspected", "reported"},
    "plan": {"confirmed", "returning", "escalated"},
    "escalate": {"returning"},
    "return": {"returning", "escalated"},
    "close": set(),  # returned but not yet 20 attended days: refused too
}
STATES = ["suspected", "reported", "confirmed", "returning", "escalated", "returned", "closed"]


def body_for(action, world):
    who, body = ACTIONS[action]
    if action == "plan":
        body = {
            **body,
            "school_leader": world.principal.pk,
            "class_teacher": world.teacher.pk,
            "township_cadre": world.cadre.pk,
        }
    return getattr(world, who), body


ILLEGAL = [(action, state) for action in ACTIONS for state in STATES if state not in LEGAL[action]]


@pytest.mark.parametrize(("action", "state"), ILLEGAL)
def test_illegal_transitions_answer_409(world, case_in, api, state, action):
    case = case_in(state)
    events = CaseEvent.objects.filter(case=case).count()
    user, body = body_for(action, world)
    with at(TODAY):
        response = api.as_user(user).post(f"{CASES}{case.pk}/{action}/", body, format="json")
    assert response.status_code == 409, (state, action, response.content)
    assert response.json()["detail"]
    case.refresh_from_db()
    assert case.status == ("suspected" if state == "reported" else state)
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.parametrize(
    ("action", "who", "state"),
    [
        ("verify", "principal", "reported"),
        ("verify", "teacher", "reported"),
        ("dismiss", "principal", "reported"),
        ("submit-report", "teacher", "suspected"),
        ("close", "principal", "returned"),
        ("plan", "teacher", "confirmed"),
    ],
)
def test_wrong_role_is_refused(world, case_in, api, action, who, state):
    case = case_in(state)
    _, body = body_for(action, world)
    with at(TODAY):
        response = api.as_user(getattr(world, who)).post(f"{CASES}{case.pk}/{action}/", body, format="json")
    assert response.status_code == 409
    assert "岗位" in response.json()["detail"]


def test_activity_needs_an_open_persuasion_state(world, case_in, api):
    case = case_in("suspected")
    body = {"occurred_on": "2026-11-24", "kind": "phone", "outcome": "promised", "participants": "班主任"}
    with at(TODAY):
        assert api.as_user(world.teacher).post(f"{CASES}{case.pk}/activities/", body, format="json").status_code == 409


def test_a_student_has_at_most_one_open_case(world, case_in, api):
    case_in("suspected")
    with at(TODAY):
        response = api.as_user(world.teacher).post(CASES, {"student": world.students_a[0].pk}, format="json")
    assert response.status_code == 409
    assert "未结" in response.json()["detail"]


def test_dismissed_case_is_not_on_the_ledger_and_student_status_follows(world, case_in, api):
    case = case_in("reported")
    with at(TODAY):
        api.as_user(world.bureau).post(
            f"{CASES}{case.pk}/dismiss/", {"reason": "transferred", "note": "已转入邻县"}, format="json"
        )
    case.refresh_from_db()
    assert case.status == "dismissed"
    assert case.student.status == "transferred_out"
    assert not case.on_ledger


# --- scope -------------------------------------------------------------------------------------


def test_case_scope_three_people(world, case_in, api):
    case = case_in("confirmed")
    other = build_case(world, world.students_b[0], "suspected")
    for who in ("teacher2", "principal2", "outsider"):
        api.as_user(getattr(world, who))
        assert api.get(f"{CASES}{case.pk}/").status_code == 404
        assert case.pk not in {r["id"] for r in api.get(CASES).json()["results"]}
    assert {r["id"] for r in api.as_user(world.teacher2).get(CASES).json()["results"]} == {other.pk}
    assert {r["id"] for r in api.as_user(world.principal).get(CASES).json()["results"]} == {case.pk, other.pk}
    assert {r["id"] for r in api.as_user(world.bureau).get(CASES).json()["results"]} == {case.pk, other.pk}
    with at(TODAY):
        assert api.as_user(world.teacher2).post(f"{CASES}{case.pk}/plan/", {}, format="json").status_code in (400, 404)
        assert api.as_user(world.teacher2).post(f"{CASES}{case.pk}/verify/", {}, format="json").status_code == 404


def test_cadre_sees_residents_and_owned_cases_only(world, case_in, api):
    resident = case_in("suspected")  # class A students live in the cadre's township
    stranger = build_case(world, world.students_b[0], "confirmed")  # lives elsewhere
    api.as_user(world.cadre)
    assert {r["id"] for r in api.get(CASES).json()["results"]} == {resident.pk}
    with at(dt.date(2026, 11, 23)):
        # The cadre cannot be named for a student of another township (issue 12) …
        with pytest.raises(InvalidInput, match="乡镇干部"):
            services.make_plan(user=world.principal, case_id=stranger.pk, plan=plan_input(world))
        # … but stays the owner when the named student moves away afterwards.
        stranger.student.village = world.village
        stranger.student.save()
        services.make_plan(user=world.principal, case_id=stranger.pk, plan=plan_input(world))
        stranger.student.village = world.other_village
        stranger.student.save()
    assert {r["id"] for r in api.get(CASES).json()["results"]} == {resident.pk, stranger.pk}
    assert {r["id"] for r in api.get(CASES, {"owner": "me"}).json()["results"]} == {stranger.pk}
    # As an owner the cadre may act on it although the student is not their resident.
    with at(TODAY):
        body = {"occurred_on": "2026-11-25", "kind": "home_visit", "outcome": "promised", "participants": "村干部"}
        assert api.post(f"{CASES}{stranger.pk}/activities/", body, format="json").status_code == 201


def test_handover_moves_the_case_and_the_old_school_keeps_read_access(world, case_in, api):
    case = case_in("returning")
    with at(TODAY):
        moved = api.as_user(world.bureau).post(
            f"{CASES}{case.pk}/handover/", {"classroom": world.class_c.pk}, format="json"
        )
    assert moved.status_code == 200, moved.content
    assert moved.json()["school"] == world.school2.pk
    assert api.as_user(world.principal2).get(f"{CASES}{case.pk}/").status_code == 200
    # The old school still reads the case with its history...
    history = api.as_user(world.principal).get(f"{CASES}{case.pk}/")
    assert history.status_code == 200
    assert len(history.json()["events"]) >= 5
    # ...but can no longer steer it.
    with at(TODAY):
        assert api.as_user(world.principal).post(f"{CASES}{case.pk}/escalate/", {}, format="json").status_code == 409


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_verify_and_dismiss_cannot_both_succeed(world, term):
    case = build_case(world, world.students_a[0], "reported")
    barrier = threading.Barrier(2)
    outcomes = []

    def act(kind):
        try:
            barrier.wait()
            with at(TODAY):
                if kind == "verify":
                    services.verify_case(user=world.bureau, case_id=case.pk)
                else:
                    services.dismiss_case(user=world.bureau, case_id=case.pk, reason="false_report")
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("409")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(k,)) for k in ("verify", "dismiss")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["409", "ok"]
    assert CaseEvent.objects.filter(case=case, to_status__in=["confirmed", "dismissed"]).count() == 1


# --- list query counts -------------------------------------------------------------------------


def test_case_list_queries_constant_in_rows(world, term, api):
    def count_for(n_students):
        students = [f.StudentFactory(classroom=world.class_a, village=world.village) for _ in range(n_students)]
        for s in students:
            build_case(world, s, "returning")
        api.as_user(world.bureau).get(CASES)
        with CaptureQueriesContext(connection) as ctx:
            rows = api.get(CASES, {"page_size": 100}).json()["results"]
        return len(rows), len(ctx.captured_queries)

    small_rows, small = count_for(2)
    big_rows, big = count_for(12)
    assert (small_rows, big_rows) == (2, 14)
    assert small == big


# --- the daily job -----------------------------------------------------------------------------


def test_daily_job_marks_overdue_and_reminds_once(world, case_in):
    case = case_in("returning", day=dt.date(2026, 11, 2))
    assert case.due_kind == "contact"
    with at(TODAY):
        first = services.daily_deadlines()
        second = services.daily_deadlines()
    case.refresh_from_db()
    assert case.next_due_on < TODAY
    assert first["reminders"] >= 3  # the plan's owners and the principal
    assert second["reminders"] == 0
    owners = set(Notification.objects.filter(kind="case_overdue").values_list("user__username", flat=True))
    assert {"principal", "teacher", "cadre"} <= owners
    assert "teacher2" not in owners


def test_daily_job_queries_are_constant_in_the_number_of_open_cases(world, term):
    def queries_with(n_each: int) -> int:
        for state in ("suspected", "confirmed", "returning", "returned"):
            for _ in range(n_each):
                build_case(world, f.StudentFactory(classroom=world.class_a, village=world.village), state)
        with at(TODAY):
            services.daily_deadlines()  # deadlines settled and reminders sent: the next run only reads
            with CaptureQueriesContext(connection) as ctx:
                result = services.daily_deadlines()
        assert result == {"refreshed": 0, "reminders": 0}
        return len(ctx.captured_queries)

    assert queries_with(1) == queries_with(4)  # 4 open cases, then 20


def test_daily_job_runs_as_celery_task(world, case_in):
    from casework.tasks import daily_case_deadlines

    case_in("returning", day=dt.date(2026, 11, 2))
    with at(TODAY):
        result = daily_case_deadlines.delay().get()
    assert result["reminders"] >= 3


def test_overdue_filter(world, case_in, api):
    late = case_in("returning", day=dt.date(2026, 11, 2))
    fresh = build_case(world, world.students_a[1], "suspected", day=TODAY)
    with at(TODAY):
        rows = api.as_user(world.principal).get(CASES, {"overdue": "true"}).json()["results"]
        assert [r["id"] for r in rows] == [late.pk]
        rows = api.as_user(world.principal).get(CASES, {"overdue": "false"}).json()["results"]
        assert [r["id"] for r in rows] == [fresh.pk]


def test_escalation_after_thirty_days_without_three_failures(world, case_in, api):
    case = case_in("returning", day=dt.date(2026, 10, 20))
    with at(TODAY):
        services.add_activity(user=world.teacher, case_id=case.pk, activity=failed_contact(TODAY))
        assert "超过30天" in services.escalation_proposal(DropoutCase.objects.get(pk=case.pk))


def test_case_event_rows_are_immutable(world, case_in):
    event = CaseEvent.objects.filter(case=case_in("suspected")).first()
    event.note = "改写历史"
    with pytest.raises(ValueError, match="immutable"):
        event.save()


def test_a_plan_may_name_only_people_holding_the_right_post(world, case_in, api):
    """Issue 12, item 3: naming principal2 (another school) or the superuser as the plan's school
    leader would hand them the case and the student's record. Refused with a Chinese message."""
    from students.models import User

    case = case_in("confirmed")
    superuser = User.objects.create_superuser("root-x", password="x")
    base = {
        "reason_analysis": "厌学",
        "measures": ["home_visit"],
        "method": "家访",
        "target_return_on": "2026-12-31",
        "school_leader": world.principal.pk,
        "class_teacher": world.teacher.pk,
        "township_cadre": world.cadre.pk,
    }
    with at(TODAY):
        for field, person, words in (
            ("school_leader", world.principal2, "校领导"),
            ("school_leader", superuser, "校领导"),
            ("class_teacher", world.principal2, "班主任"),
            ("township_cadre", world.cadre2, "乡镇干部"),
            ("village_cadre", world.teacher, "村干部"),
        ):
            answer = api.as_user(world.principal).post(
                f"{CASES}{case.pk}/plan/", {**base, field: person.pk}, format="json"
            )
            assert answer.status_code == 400, (field, person)
            assert words in answer.json()["detail"]
        assert not case.plans.exists()
        assert api.as_user(world.principal2).get(f"{CASES}{case.pk}/").status_code == 404
        assert api.as_user(world.principal).post(f"{CASES}{case.pk}/plan/", base, format="json").status_code == 200
