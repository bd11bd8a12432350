"""A reminder disappears when its reason does (issue 12 item 12)."""

import pytest
from django.urls import reverse

from casework.models import DropoutCase
from students.attendance import risk
from students.models import Notification, RiskFlag
from tests import factories as f
from tests.helpers import build_case

pytestmark = pytest.mark.django_db


def _tasks(client) -> list[str]:
    return [note.text for note in client.get(reverse("home")).context["tasks"]]


def test_the_not_reported_reminder_goes_once_the_class_reports(world, term, today, client, api):
    assert risk.remind_not_reported(county_id=world.county.pk, day=today) >= 1
    client.force_login(world.teacher)
    assert any("考勤还没有上报" in text for text in _tasks(client))

    answer = api.as_user(world.teacher).post(
        reverse("api-attendance-list"),
        {"classroom": world.class_a.pk, "date": today.isoformat(), "absences": []},
        format="json",
    )
    assert answer.status_code == 201

    assert not any("考勤还没有上报" in text for text in _tasks(client))
    note = Notification.objects.get(user=world.teacher, kind="not_reported")
    assert note.read_at is not None  # and it stays gone
    # Another class's reminder (teacher2 has not reported) is untouched.
    client.force_login(world.teacher2)
    assert any("考勤还没有上报" in text for text in _tasks(client))


def test_a_red_flag_reminder_goes_once_the_flag_is_handled(world, today, client):
    flag = f.RiskFlagFactory(student=world.students_a[0], level="red", situation_key="since:2026-11-20")
    Notification.objects.create(
        user=world.teacher,
        key=f"flag:{flag.student_id}:{flag.rule_code}:{flag.situation_key}",
        kind="risk_red",
        text="红色预警:测试",
    )
    client.force_login(world.teacher)
    assert "红色预警:测试" in _tasks(client)
    risk.handle_flag(user=world.teacher, flag_id=flag.pk, action="resolve")
    assert RiskFlag.objects.get(pk=flag.pk).status == RiskFlag.Status.RESOLVED
    assert "红色预警:测试" not in _tasks(client)


def test_an_overdue_reminder_goes_once_the_step_is_done(world, term, today, client):
    case = build_case(world, world.students_a[0], "confirmed")
    DropoutCase.objects.filter(pk=case.pk).update(next_due_on=today.replace(day=20), due_kind="plan")
    Notification.objects.create(
        user=world.principal,
        key=f"overdue:{case.pk}:plan:{today.replace(day=20)}",
        kind="case_overdue",
        text="逾期:制定方案",
    )
    client.force_login(world.principal)
    assert "逾期:制定方案" in _tasks(client)
    DropoutCase.objects.filter(pk=case.pk).update(next_due_on=today.replace(day=30), due_kind="contact")
    assert "逾期:制定方案" not in _tasks(client)


def test_reminders_of_unknown_form_stay(world, client):
    Notification.objects.create(user=world.teacher, key="custom:1", kind="custom", text="自定义提醒")
    Notification.objects.create(user=world.teacher, key="not-reported:x:y", kind="not_reported", text="旧格式")
    client.force_login(world.teacher)
    assert {"自定义提醒", "旧格式"} <= set(_tasks(client))
