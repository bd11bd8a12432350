"""Attendance and early-warning pages: take attendance, duty leader view, flags."""

import datetime as dt

import pytest
from django.urls import reverse

from students.attendance import risk
from students.models import DailyReport, RiskFlag
from tests import factories as f
from tests.helpers import report

pytestmark = pytest.mark.django_db


def test_teacher_takes_attendance_on_the_page(world, term, today, client):
    client.force_login(world.teacher)
    url = reverse("attendance-take", args=[world.class_a.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "尚未上报" in html
    for student in world.students_a:
        assert student.name in html
    a = world.students_a[0]
    response = client.post(url, {"date": today.isoformat(), f"kind_{a.pk}": "unexcused", f"note_{a.pk}": "电话未接通"})
    assert response.status_code == 302
    row = DailyReport.objects.get(classroom=world.class_a, date=today)
    assert row.present_count == 2
    after = client.get(response["Location"]).content.decode()
    assert "已上报(第1版)" in after
    assert "已提交" in after


def test_teacher_corrects_and_stale_form_is_refused(world, term, today, client):
    client.force_login(world.teacher)
    url = reverse("attendance-take", args=[world.class_a.pk])
    a, b = world.students_a[:2]
    client.post(url, {"date": today.isoformat(), f"kind_{a.pk}": "sick"})
    client.post(url, {"date": today.isoformat(), "version": "1", f"kind_{b.pk}": "sick"})
    assert DailyReport.objects.get().version == 2
    stale = client.post(url, {"date": today.isoformat(), "version": "1"}, follow=True).content.decode()
    assert "已被他人更新" in stale
    assert DailyReport.objects.get().version == 2


def test_weekend_page_says_no_report_needed(world, term, today, client):
    client.force_login(world.teacher)
    page = client.get(reverse("attendance-take", args=[world.class_a.pk]), {"date": "2026-11-22"})
    assert "周末" in page.content.decode()


def test_other_teacher_cannot_open_the_class(world, term, today, client):
    client.force_login(world.teacher2)
    assert client.get(reverse("attendance-take", args=[world.class_a.pk])).status_code == 404
    client.force_login(world.cadre)
    assert client.get(reverse("attendance-take", args=[world.class_a.pk])).status_code == 404


def test_duty_view_shows_reported_missing_and_absentees(world, term, today, client):
    client.force_login(world.teacher)
    a = world.students_a[0]
    client.post(
        reverse("attendance-take", args=[world.class_a.pk]), {"date": today.isoformat(), f"kind_{a.pk}": "unknown"}
    )
    client.force_login(world.principal)
    html = client.get(reverse("attendance-duty")).content.decode()
    assert world.class_a.name in html
    assert world.class_b.name in html
    assert "未上报" in html
    assert a.name in html
    assert "须当天联系家长" in html  # unknown absence, family not contacted


def test_duty_view_is_scoped(world, term, today, client):
    client.force_login(world.principal2)
    html = client.get(reverse("attendance-duty"), {"school": world.school.pk}).content.decode()
    assert world.school2.name in html
    assert world.school.name not in html
    client.force_login(world.outsider)
    assert client.get(reverse("attendance-duty")).status_code == 404


def test_flag_pages_and_actions(world, term, client):
    flag = risk.raise_manual_flag(
        user=world.teacher, student_id=world.students_a[0].pk, category="weary", level="red", note="不愿上学"
    )
    client.force_login(world.teacher)
    listing = client.get(reverse("risk-flags")).content.decode()
    assert world.students_a[0].name in listing
    detail = client.get(reverse("risk-flag-detail", args=[flag.pk])).content.decode()
    assert "不愿上学" in detail
    client.post(reverse("risk-flag-action", args=[flag.pk, "dismiss"]), {"note": ""})
    assert RiskFlag.objects.get().status == "open"  # a reason is required
    client.post(reverse("risk-flag-action", args=[flag.pk, "resolve"]), {"note": "已谈心"})
    assert RiskFlag.objects.get().status == "resolved"
    client.force_login(world.teacher2)
    assert client.get(reverse("risk-flag-detail", args=[flag.pk])).status_code == 404
    assert world.students_a[0].name not in client.get(reverse("risk-flags")).content.decode()


def test_manual_flag_from_student_page_form(world, client):
    client.force_login(world.teacher)
    s = world.students_a[0]
    response = client.post(
        reverse("risk-flag-create", args=[s.pk]), {"category": "family_change", "level": "orange", "note": "父母离异"}
    )
    assert response.status_code == 302
    assert RiskFlag.objects.get().evidence_text == "家庭变故:父母离异"
    client.force_login(world.teacher2)
    assert (
        client.post(
            reverse("risk-flag-create", args=[s.pk]), {"category": "weary", "level": "red", "note": "x"}
        ).status_code
        == 404
    )


def test_student_page_shows_term_calendar_and_flag_history(world, term, today, client):
    s = world.students_a[0]
    report(world.class_a, dt.date(2026, 11, 23), {s: "unexcused"}, by=world.teacher)
    report(world.class_a, dt.date(2026, 11, 24), by=world.teacher)
    risk.raise_manual_flag(user=world.teacher, student_id=s.pk, category="weary", level="orange", note="不想上学")
    client.force_login(world.teacher)
    html = client.get(reverse("student-detail", args=[s.pk])).content.decode()
    assert "已报告 2 天,缺勤 1 天" in html
    assert 'class="d unexcused" title="2026-11-23' in html
    assert 'class="d present" title="2026-11-24' in html
    assert "厌学:不想上学" in html


def test_home_shows_my_tasks_and_marks_them_read(world, client):
    from students.models import Notification

    f.NotificationFactory(
        user=world.teacher, key="k1", kind="not_reported", text="七年级(1)班 11月25日的考勤还没有上报"
    )
    f.NotificationFactory(user=world.teacher2, key="k1", kind="not_reported", text="别人的提醒")
    client.force_login(world.teacher)
    html = client.get(reverse("home")).content.decode()
    assert "今日待办" in html
    assert "考勤还没有上报" in html
    assert "别人的提醒" not in html
    note = Notification.objects.get(user=world.teacher)
    client.post(reverse("notifications-read"), {"id": [note.pk, Notification.objects.get(user=world.teacher2).pk]})
    assert Notification.objects.get(user=world.teacher).read_at is not None
    assert Notification.objects.get(user=world.teacher2).read_at is None
    assert "今日待办" not in client.get(reverse("home")).content.decode()


def test_bureau_changes_a_rule_parameter_as_a_new_version(world, client):
    from students.models import RiskRule

    client.force_login(world.principal)
    html = client.get(reverse("risk-rules")).content.decode()
    assert "连续3个及以上上学日" in html
    assert 'name="days"' not in html  # principals read the rules, the bureau sets them
    client.force_login(world.bureau)
    response = client.post(reverse("risk-rules"), {"code": "consecutive_absence", "days": "4", "level": "red"})
    assert response.status_code == 302
    rule = RiskRule.objects.filter(county=world.county, code="consecutive_absence", active=True).get()
    assert (rule.version, rule.params["days"]) == (2, 4)
    assert "连续4个及以上上学日" in client.get(reverse("risk-rules")).content.decode()
    client.post(reverse("risk-rules"), {"code": "consecutive_absence", "days": "-1", "level": "red"})
    assert RiskRule.objects.filter(county=world.county, code="consecutive_absence").count() == 2
    client.force_login(world.outsider)
    assert client.get(reverse("risk-rules")).status_code == 404


def test_the_saved_banner_explains_a_roster_changed_since_the_report(world, term, today, client):
    """Issue 12 item 11: the banner's 应到 (the report's) and the live bar's (the roster now) differ
    only when the roster changed after the report; the page says so and which one a correction uses."""
    from students.models import Student
    from tests.helpers import report

    report(world.class_a, today, [], by=world.teacher)
    client.force_login(world.teacher)
    url = reverse("attendance-take", args=[world.class_a.pk])
    assert 'id="roster-changed"' not in client.get(url).content.decode()
    Student.objects.filter(pk=world.students_a[2].pk).update(status=Student.Status.TRANSFERRED_OUT)
    page = client.get(url).content.decode()
    assert 'id="roster-changed"' in page
    assert "上报时在读 3 人,现在读 2 人" in page
