"""One student from three absent days to a closed case, checking the ledger at every step."""

import datetime as dt

import pytest

from casework.models import CaseEvent, DropoutCase, FollowUp
from students.calendar import SchoolCalendar
from students.models import RiskFlag, Student
from tests.helpers import at, report

pytestmark = pytest.mark.django_db
D = dt.date
CASES = "/api/v1/dropout-cases/"


def ledger_ids(api, world):
    rows = api.as_user(world.bureau).get(CASES, {"page_size": 200}).json()["results"]
    return {r["student"] for r in rows if r["status"] in DropoutCase.LEDGER_STATUSES}


def plan_body(world, target):
    return {
        "reason_analysis": "厌学,沉迷网络,父母在外务工由祖母照看",
        "measures": ["home_visit", "counselling", "tutoring"],
        "method": "班主任与村干部共同家访,心理老师谈心",
        "target_return_on": target.isoformat(),
        "school_leader": world.principal.pk,
        "class_teacher": world.teacher.pk,
        "township_cadre": world.cadre.pk,
    }


def activity(day, kind, outcome):
    return {"occurred_on": day.isoformat(), "kind": kind, "outcome": outcome, "participants": "班主任、村干部"}


def test_walk_from_absence_to_closed_case(world, term, api, django_capture_on_commit_callbacks):
    s = world.students_a[0]
    # Three unexcused school days: Monday and Tuesday on file, Wednesday submitted by the teacher.
    report(world.class_a, D(2026, 11, 23), [s], by=world.teacher)
    report(world.class_a, D(2026, 11, 24), [s], by=world.teacher)
    with at(D(2026, 11, 25)):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.as_user(world.teacher).post(
                "/api/v1/attendance/",
                {
                    "classroom": world.class_a.pk,
                    "date": "2026-11-25",
                    "absences": [{"student": s.pk, "kind": "unexcused"}],
                },
                format="json",
            )
        assert response.status_code == 201
        flag = RiskFlag.objects.get(student=s, level="red")

        # One click from the flag: a suspected case prefilled with the evidence.
        created = api.as_user(world.teacher).post(CASES, {"student": s.pk, "flag": flag.pk}, format="json")
        assert created.status_code == 201, created.content
        case = created.json()
        assert case["status"] == "suspected"
        assert case["last_attended_on"] == "2026-11-22"
        assert "11-23、11-24、11-25" in case["measures_taken"]
        assert case["due_kind"] == "report"
        assert case["next_due_on"] == "2026-11-30"  # 3 working days after Wednesday
        assert s.pk not in ledger_ids(api, world)
        assert RiskFlag.objects.get(pk=flag.pk).status == "acknowledged"
        url = f"{CASES}{case['id']}/"

        api.as_user(world.teacher).post(
            url + "report/",
            {"reason": "learning", "whereabouts": "home", "family_situation": "父母外出务工"},
            format="json",
        )
        submitted = api.as_user(world.principal).post(url + "submit-report/", {}, format="json")
        assert submitted.status_code == 200, submitted.content
        assert submitted.json()["due_kind"] == "verify"

        verified = api.as_user(world.bureau).post(url + "verify/", {"note": "经核实属实"}, format="json")
        assert verified.json()["status"] == "confirmed"
        assert s.pk in ledger_ids(api, world)
        assert Student.objects.get(pk=s.pk).status == "dropped_out"

        planned = api.as_user(world.principal).post(url + "plan/", plan_body(world, D(2026, 12, 4)), format="json")
        assert planned.status_code == 200, planned.content
        assert planned.json()["status"] == "returning"
        assert planned.json()["plan"]["version"] == 1

        # The cadre owns the plan and may log contacts although the class is not theirs.
        for day, kind, outcome in (
            (D(2026, 11, 25), "phone", "unreachable"),
            (D(2026, 11, 25), "home_visit", "refused"),
        ):
            assert (
                api.as_user(world.cadre)
                .post(url + "activities/", activity(day, kind, outcome), format="json")
                .status_code
                == 201
            )
        assert api.as_user(world.principal).post(url + "escalate/", {}, format="json").status_code == 409
        api.as_user(world.teacher).post(
            url + "activities/", activity(D(2026, 11, 25), "interview", "not_returned"), format="json"
        )
        detail = api.as_user(world.principal).get(url).json()
        assert detail["escalation_proposal"] == "已3次劝返未果"
        escalated = api.as_user(world.principal).post(url + "escalate/", {}, format="json")
        assert escalated.json()["status"] == "escalated"
        assert escalated.json()["plan"]["lead_is_township"] is True
        assert s.pk in ledger_ids(api, world)

    with at(D(2026, 11, 30)):
        api.as_user(world.cadre).post(
            url + "activities/", activity(D(2026, 11, 30), "joint", "returned"), format="json"
        )
        returned = api.as_user(world.principal).post(
            url + "return/", {"returned_on": "2026-11-30", "placement": "original", "buddy": "同桌王芳"}, format="json"
        )
        assert returned.json()["status"] == "returned"
        assert Student.objects.get(pk=s.pk).status == "enrolled"
        assert FollowUp.objects.filter(case_id=case["id"], kind="check_in").count() == 4
        assert s.pk in ledger_ids(api, world)  # still on the ledger until struck off

    calendar = SchoolCalendar(world.county.pk)
    school_days = calendar.school_days(D(2026, 11, 30), D(2027, 1, 15))
    for day in school_days[:19]:
        report(world.class_a, day, by=world.teacher)
    with at(school_days[19]):
        refused = api.as_user(world.bureau).post(url + "close/", {}, format="json")
        assert refused.status_code == 409
        assert "实际到校19个上学日" in refused.json()["detail"]
        report(world.class_a, school_days[19], by=world.teacher)
        assert api.as_user(world.principal).post(url + "close/", {}, format="json").status_code == 409  # bureau only
        closed = api.as_user(world.bureau).post(url + "close/", {}, format="json")
        assert closed.status_code == 200, closed.content
        assert closed.json()["status"] == "closed"
        assert "20个上学日" in closed.json()["close_basis"]
        assert s.pk not in ledger_ids(api, world)

    trail = list(CaseEvent.objects.filter(case_id=case["id"]).values_list("to_status", flat=True))
    assert trail == ["suspected", "suspected", "suspected", "confirmed", "returning", "escalated", "returned", "closed"]


def test_closing_before_twenty_attended_days_is_refused(world, term, api):
    from casework import services

    s = world.students_a[1]
    with at(D(2026, 11, 23)):
        case = services.open_case(
            user=world.teacher,
            student_id=s.pk,
            form=services.ReportForm(reason="poverty", last_attended_on=D(2026, 11, 18)),
        )
        services.submit_report(user=world.principal, case_id=case.pk)
        services.verify_case(user=world.bureau, case_id=case.pk)
        services.make_plan(
            user=world.principal,
            case_id=case.pk,
            plan=services.PlanInput(
                reason_analysis="家庭困难",
                measures=["aid"],
                method="资助",
                target_return_on=D(2026, 11, 30),
                school_leader_id=world.principal.pk,
                class_teacher_id=world.teacher.pk,
                township_cadre_id=world.cadre.pk,
            ),
        )
        services.record_return(user=world.principal, case_id=case.pk, returned_on=D(2026, 11, 23), placement="original")
    # 20 reports, but the student was absent on one of them: 19 attended days.
    days = SchoolCalendar(world.county.pk).school_days(D(2026, 11, 23), D(2027, 1, 15))[:20]
    for i, day in enumerate(days):
        report(world.class_a, day, [s] if i == 5 else [], by=world.teacher)
    with at(days[-1]):
        response = api.as_user(world.bureau).post(f"{CASES}{case.pk}/close/", {}, format="json")
    assert response.status_code == 409
    assert "19" in response.json()["detail"]
    assert DropoutCase.objects.get(pk=case.pk).status == "returned"


def test_second_dropout_reopens_a_linked_new_case(world, term):
    from casework import services

    s = world.students_a[2]
    with at(D(2026, 11, 23)):
        first = services.open_case(user=world.teacher, student_id=s.pk)
        first.status = DropoutCase.Status.CLOSED  # as if consolidated and struck off earlier
        first.save()
        second = services.open_case(user=world.teacher, student_id=s.pk)
    assert second.previous_case_id == first.pk
    assert second.status == "suspected"


# --- the 限期返校通知书 (issue 12, item 6) -------------------------------------------------------


def test_notice_through_the_api_with_its_default_number(world, case_in, api):
    """The default 文号 is long (school code, year, case number): the event must still be written."""
    case = case_in("returning")
    response = api.as_user(world.principal).post(f"/api/v1/dropout-cases/{case.pk}/notice/")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.notice_number == f"{case.school.code}-{case.notice_issued_on:%Y}-{case.pk:04d}"
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert event.action == "发出限期返校通知书"
    assert case.notice_number in event.note


def test_a_notice_number_too_long_is_refused_in_chinese(world, case_in):
    from casework import services
    from students.errors import InvalidInput

    case = case_in("returning")
    with pytest.raises(InvalidInput, match="文号"):
        services.issue_notice(user=world.principal, case_id=case.pk, number="清" * 41)
    case.refresh_from_db()
    assert case.notice_number == ""


# --- early warnings once the student is off the roll (issue 12, items 11 and 14) ----------------


def test_confirming_a_dropout_closes_the_students_open_warnings(world, term):
    """A confirmed dropout is the case's business: their warnings leave the risk lists and counts."""
    from casework import services
    from students.attendance import risk

    s, other = world.students_a[0], world.students_a[1]
    room = s.classroom
    for day in (D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 18)):
        report(room, day, {s: "unexcused", other: "unexcused"}, by=world.teacher)
    risk.evaluate(county_id=world.county.pk, as_of=D(2026, 11, 18))
    assert RiskFlag.objects.filter(student=s, status="open").count() >= 2  # red and orange
    with at(D(2026, 11, 18)):
        case = services.open_case(user=world.teacher, student_id=s.pk, form=services.ReportForm(reason="work"))
    with at(D(2026, 11, 19)):
        services.update_report(user=world.principal, case_id=case.pk, changes={"last_attended_on": D(2026, 11, 13)})
        services.submit_report(user=world.principal, case_id=case.pk)
        services.verify_case(user=world.bureau, case_id=case.pk)

    assert not RiskFlag.objects.filter(student=s, status__in=RiskFlag.OPEN_STATUSES).exists()
    resolved = RiskFlag.objects.filter(student=s, status="resolved")
    assert resolved.count() >= 2
    assert {f.handled_by_id for f in resolved} == {world.bureau.pk}
    assert all("辍学" in f.handling_note for f in resolved)
    assert all(f.history.latest().status == "resolved" for f in resolved)  # the audit trail has it
    # The classmate's warnings are untouched, and the flags do not come back on the next evaluation.
    assert RiskFlag.objects.filter(student=other, status="open").count() >= 2
    risk.evaluate(county_id=world.county.pk, as_of=D(2026, 11, 19))
    assert not RiskFlag.objects.filter(student=s, status__in=RiskFlag.OPEN_STATUSES).exists()
