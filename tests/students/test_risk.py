"""Risk rules: streaks over school days only, windows, chronic absence, no duplicates, handling."""

import datetime as dt

import pytest

from students.attendance import risk
from students.models import Notification, RiskFlag, RiskRule
from tests.helpers import report

pytestmark = pytest.mark.django_db
D = dt.date


def evaluate(world, as_of):
    return risk.evaluate(county_id=world.county.pk, as_of=as_of)


def flags(student, code=None):
    qs = RiskFlag.objects.filter(student=student)
    return list(qs.filter(rule_code=code) if code else qs)


def test_streak_across_a_weekend_is_three_school_days(world, term):
    s = world.students_a[0]
    for day in (D(2026, 11, 19), D(2026, 11, 20), D(2026, 11, 23)):  # Thu, Fri, (weekend), Mon
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 23))
    [flag] = flags(s, "consecutive_absence")
    assert flag.level == "red"
    assert flag.evidence["dates"] == ["2026-11-19", "2026-11-20", "2026-11-23"]
    assert flag.evidence["rule_version"] == 1
    assert flag.rule_version == 1
    assert "11-19、11-20、11-23" in flag.evidence_text


def test_streak_across_national_day_holiday(world, term):
    s = world.students_a[0]
    report(world.class_a, D(2026, 9, 30), {s: "unknown"}, by=world.teacher)
    report(world.class_a, D(2026, 10, 8), {s: "unexcused"}, by=world.teacher)  # Oct 1-7 official holiday between
    report(world.class_a, D(2026, 10, 9), {s: "unknown"}, by=world.teacher)
    evaluate(world, D(2026, 10, 9))
    [flag] = flags(s, "consecutive_absence")
    assert flag.evidence["dates"] == ["2026-09-30", "2026-10-08", "2026-10-09"]


def test_makeup_workday_counts_as_a_school_day(world, term):
    s, t = world.students_a[:2]
    # s is present on the Saturday make-up workday 10-10: the streak breaks.
    report(world.class_a, D(2026, 10, 8), {s: "unexcused", t: "unexcused"}, by=world.teacher)
    report(world.class_a, D(2026, 10, 9), {s: "unexcused", t: "unexcused"}, by=world.teacher)
    report(world.class_a, D(2026, 10, 10), {t: "unexcused"}, by=world.teacher)
    report(world.class_a, D(2026, 10, 12), {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 10, 12))
    assert flags(s, "consecutive_absence") == []
    [flag] = flags(t, "consecutive_absence")
    assert flag.evidence["dates"] == ["2026-10-08", "2026-10-09", "2026-10-10"]


def test_sick_leave_does_not_count_toward_a_streak(world, term):
    s = world.students_a[0]
    for day, kind in ((D(2026, 11, 18), "sick"), (D(2026, 11, 19), "unexcused"), (D(2026, 11, 20), "unexcused")):
        report(world.class_a, day, {s: kind}, by=world.teacher)
    evaluate(world, D(2026, 11, 20))
    assert flags(s, "consecutive_absence") == []


def test_three_unexcused_in_twenty_school_days_is_orange(world, term):
    s = world.students_a[0]
    days = [D(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
    for day in days:
        report(world.class_a, day, {s: "unexcused"} if day.day in (2, 6, 12) else {}, by=world.teacher)
    evaluate(world, D(2026, 11, 13))
    [flag] = flags(s, "recent_unexcused")
    assert flag.level == "orange"
    assert flag.evidence["dates"] == ["2026-11-02", "2026-11-06", "2026-11-12"]


def test_chronic_absence_is_yellow(world, term):
    s = world.students_a[0]
    days = [D(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
    for day in days:
        report(world.class_a, day, {s: "sick"} if day.day == 4 else {}, by=world.teacher)
    evaluate(world, D(2026, 11, 13))
    [flag] = flags(s, "chronic_absence")
    assert flag.level == "yellow"
    assert flag.evidence["rate"] == 0.1
    assert "缺勤率10%" in flag.evidence_text


def test_evaluating_twice_raises_no_duplicates(world, term):
    s = world.students_a[0]
    for day in (D(2026, 11, 18), D(2026, 11, 19), D(2026, 11, 20)):
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    first = evaluate(world, D(2026, 11, 20))
    second = evaluate(world, D(2026, 11, 20))
    risk.nightly(as_of=D(2026, 11, 20))
    assert first.raised == 2  # red streak and orange window
    assert second.raised == 0
    assert RiskFlag.objects.filter(student=s).count() == 2


def test_growing_streak_updates_the_open_flag(world, term):
    s = world.students_a[0]
    for day in (D(2026, 11, 17), D(2026, 11, 18), D(2026, 11, 19)):
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 19))
    report(world.class_a, D(2026, 11, 20), {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 20))
    [flag] = flags(s, "consecutive_absence")
    assert len(flag.evidence["dates"]) == 4


def test_resolved_situation_is_not_raised_again(world, term):
    s = world.students_a[0]
    for day in (D(2026, 11, 17), D(2026, 11, 18), D(2026, 11, 19)):
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 19))
    flag = flags(s, "consecutive_absence")[0]
    risk.handle_flag(user=world.teacher, flag_id=flag.pk, action="resolve", note="已家访,学生返校")
    evaluate(world, D(2026, 11, 19))
    assert len(flags(s, "consecutive_absence")) == 1
    # A new streak later is a new situation.
    report(world.class_a, D(2026, 11, 20), by=world.teacher)
    for day in (D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25)):
        report(world.class_a, day, {s: "unknown"}, by=world.teacher)
    evaluate(world, D(2026, 11, 25))
    assert len(flags(s, "consecutive_absence")) == 2


def test_changed_parameters_make_a_new_version_used_by_new_flags(world, term):
    rule = risk.update_rule(
        county=world.county, code="consecutive_absence", params={"days": 2}, level="red", by=world.bureau
    )
    assert rule.version == 2
    assert RiskRule.objects.filter(county=world.county, code="consecutive_absence").count() == 2
    s = world.students_a[0]
    report(world.class_a, D(2026, 11, 19), {s: "unexcused"}, by=world.teacher)
    report(world.class_a, D(2026, 11, 20), {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 20))
    [flag] = flags(s, "consecutive_absence")
    assert flag.rule_version == 2
    assert "v2" in flag.evidence_text
    assert "连续2个" in risk.explain("consecutive_absence", flag.evidence["params"])


def test_red_flag_notifies_the_class_teacher_once(world, term):
    s = world.students_a[0]
    for day in (D(2026, 11, 18), D(2026, 11, 19), D(2026, 11, 20)):
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    evaluate(world, D(2026, 11, 20))
    evaluate(world, D(2026, 11, 20))
    notes = Notification.objects.filter(user=world.teacher, kind="risk_red")
    assert notes.count() == 1
    assert s.name in notes.get().text
    assert not Notification.objects.filter(user=world.teacher2).exists()


def test_nightly_reminds_classes_that_did_not_report(world, term):
    report(world.class_a, D(2026, 11, 25), by=world.teacher)  # class A reported, class B did not
    assert risk.remind_not_reported(county_id=world.county.pk, day=D(2026, 11, 25)) == 1
    assert risk.remind_not_reported(county_id=world.county.pk, day=D(2026, 11, 25)) == 0
    note = Notification.objects.get(kind="not_reported")
    assert note.user == world.teacher2
    assert world.class_b.name in note.text
    assert risk.remind_not_reported(county_id=world.county.pk, day=D(2026, 11, 22)) == 0  # Sunday


def test_nightly_task_runs_through_celery(world, term):
    from students.attendance.tasks import nightly_risk_evaluation

    s = world.students_a[0]
    for day in (D(2026, 11, 18), D(2026, 11, 19), D(2026, 11, 20)):
        report(world.class_a, day, {s: "unexcused"}, by=world.teacher)
    summary = nightly_risk_evaluation.delay("2026-11-20").get()
    assert summary[str(world.county.pk)]["raised"] == 2


# --- hand-raised flags, handling, scoping ---------------------------------------------------


def test_manual_flag_and_no_duplicate_open_flag_of_same_category(world, api):
    s = world.students_a[0]
    api.as_user(world.teacher)
    payload = {"student": s.pk, "category": "weary", "level": "orange", "note": "上课睡觉,多次说不想读书"}
    created = api.post("/api/v1/risk-flags/", payload, format="json")
    assert created.status_code == 201
    assert created.json()["evidence_text"].startswith("厌学")
    again = api.post("/api/v1/risk-flags/", payload, format="json")
    assert again.status_code == 400
    assert "同类别" in again.json()["detail"]
    other = api.post("/api/v1/risk-flags/", {**payload, "category": "family_change"}, format="json")
    assert other.status_code == 201


def test_flag_handling_transitions(world, api):
    flag = risk.raise_manual_flag(
        user=world.teacher, student_id=world.students_a[0].pk, category="learning", level="yellow", note="数学跟不上"
    )
    api.as_user(world.teacher)
    base = f"/api/v1/risk-flags/{flag.pk}/"
    assert api.post(base + "dismiss/", {}, format="json").status_code == 400  # a reason is required
    assert api.post(base + "acknowledge/", {}, format="json").json()["status"] == "acknowledged"
    assert api.post(base + "acknowledge/", {}, format="json").status_code == 409
    resolved = api.post(base + "resolve/", {"note": "已安排结对辅导"}, format="json").json()
    assert resolved["status"] == "resolved"
    assert resolved["handled_by"] == world.teacher.pk
    assert api.post(base + "dismiss/", {"note": "误报"}, format="json").status_code == 409


def test_flags_are_scoped(world, term, api):
    s = world.students_a[0]
    flag = risk.raise_manual_flag(user=world.teacher, student_id=s.pk, category="weary", level="red", note="厌学")
    assert api.as_user(world.teacher2).get(f"/api/v1/risk-flags/{flag.pk}/").status_code == 404
    assert api.as_user(world.teacher2).post(f"/api/v1/risk-flags/{flag.pk}/resolve/", {}).status_code == 404
    assert api.as_user(world.teacher2).get("/api/v1/risk-flags/").json()["count"] == 0
    assert api.as_user(world.principal2).get("/api/v1/risk-flags/").json()["count"] == 0
    assert api.as_user(world.principal).get("/api/v1/risk-flags/", {"level": "red"}).json()["count"] == 1
    assert api.as_user(world.principal).get("/api/v1/risk-flags/", {"level": "yellow"}).json()["count"] == 0
    assert api.as_user(world.bureau).get("/api/v1/risk-flags/", {"school": world.school.pk}).json()["count"] == 1
    assert api.as_user(world.cadre).get("/api/v1/risk-flags/").json()["count"] == 1
    outsider = api.as_user(world.teacher2).post(
        "/api/v1/risk-flags/", {"student": s.pk, "category": "weary", "level": "red", "note": "x"}, format="json"
    )
    assert outsider.status_code == 404


def test_students_filter_by_open_risk_level(world, api):
    s = world.students_a[0]
    risk.raise_manual_flag(user=world.teacher, student_id=s.pk, category="weary", level="red", note="厌学")
    rows = api.as_user(world.teacher).get("/api/v1/students/", {"risk_level": "red"}).json()["results"]
    assert [r["id"] for r in rows] == [s.pk]


def test_flag_list_query_count_constant(world, api, django_assert_max_num_queries):
    for student in world.students_a + world.students_b:
        risk.raise_manual_flag(user=world.principal, student_id=student.pk, category="weary", level="red", note="x")
    api.as_user(world.principal)
    api.get("/api/v1/risk-flags/")
    with django_assert_max_num_queries(3):
        assert api.get("/api/v1/risk-flags/").json()["count"] == 6
