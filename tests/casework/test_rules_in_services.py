"""Pages ask the services what a user may do; the services enforce the same rule (one place)."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from casework import services
from casework.models import CaseEvent, CountyPolicy, FollowUp
from students.errors import InvalidInput
from students.models import RiskFlag, Student
from tests import factories as f

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def red_flag(student, **fields) -> RiskFlag:
    defaults = {"level": "red", "rule_code": "consecutive_absence", "evidence_text": "连续3个上学日旷课"}
    return f.RiskFlagFactory(student=student, **(defaults | fields))


# --- opening a case: the button and the service agree -----------------------------------------


def test_report_button_and_service_refuse_a_graduated_student(world, term, today, client):
    student = world.students_a[0]
    Student.objects.filter(pk=student.pk).update(status=Student.Status.GRADUATED)
    student.refresh_from_db()
    assert not services.can_open_case(world.teacher, student)
    client.force_login(world.teacher)
    assert "报告疑似辍学" not in html(client.get(reverse("student-detail", args=[student.pk])))
    with pytest.raises(InvalidInput, match="不能报告疑似辍学"):
        services.open_case(user=world.teacher, student_id=student.pk)


def test_only_an_undismissed_red_flag_opens_a_case_in_one_click(world, term, today, client):
    student = world.students_a[0]
    orange = red_flag(student, level="orange", rule_code="recent_unexcused")
    dismissed = red_flag(student, status=RiskFlag.Status.DISMISSED)
    red = red_flag(student)
    assert services.can_open_case(world.teacher, student, red)
    assert not services.can_open_case(world.teacher, student, orange)
    assert not services.can_open_case(world.teacher, student, dismissed)

    client.force_login(world.teacher)
    assert "一键转为疑似辍学个案" in html(client.get(reverse("risk-flag-detail", args=[red.pk])))
    assert "一键转为疑似辍学个案" not in html(client.get(reverse("risk-flag-detail", args=[orange.pk])))
    for flag in (orange, dismissed):
        with pytest.raises(InvalidInput, match="红色预警"):
            services.open_case(user=world.teacher, student_id=student.pk, flag_id=flag.pk)
    case = services.open_case(user=world.teacher, student_id=student.pk, flag_id=red.pk)
    assert case.source_flag == red


def test_a_teacher_who_is_also_a_cadre_sees_no_button_for_a_resident_of_another_school(world, term, today, client):
    # The cadre post shows them the resident; only the education line may report for the school.
    f.PostFactory(user=world.teacher, role="cadre", county=world.county, township=world.township)
    resident = world.students_c[-1]
    client.force_login(world.teacher)
    page = client.get(reverse("student-detail", args=[resident.pk]))
    assert page.status_code == 200
    assert "报告疑似辍学" not in html(page)
    assert not services.can_open_case(world.teacher, resident)


# --- escalation: the page offers exactly what the service accepts ------------------------------


def test_escalation_is_offered_to_a_school_leader_only_once_it_is_due(world, term, case_in):
    case = case_in("returning")
    assert services.escalation_proposal(case) == ""
    assert not services.available_actions(world.principal, case)["escalate"]
    assert services.available_actions(world.bureau, case)["escalate"]
    with pytest.raises(services.InvalidTransition):
        services.escalate_case(user=world.principal, case_id=case.pk)

    assert services.available_actions(world.principal, case, proposal="已3次劝返未果")["escalate"]


# --- follow-ups leave a trail -----------------------------------------------------------------


def test_completing_a_follow_up_writes_a_case_event(world, term, case_in):
    case = case_in("returned")
    follow_up = case.follow_ups.filter(done_on__isnull=True).first()
    assert follow_up is not None
    before = CaseEvent.objects.filter(case=case).count()
    services.complete_follow_up(user=world.principal, follow_up_id=follow_up.pk, note="已到校")
    event = CaseEvent.objects.filter(case=case).order_by("-pk").first()
    assert CaseEvent.objects.filter(case=case).count() == before + 1
    assert event.action == "完成复学跟踪"
    assert event.by == world.principal
    assert "已到校" in event.note
    assert str(FollowUp.Kind(follow_up.kind).label) in event.note


# --- the admin goes through the services and is scoped ------------------------------------------


def admin_request(user, method="get", data=None):
    request = getattr(RequestFactory(), method)("/admin/", data or {})
    request.user = user
    request.session = {}
    request._messages = _Messages()
    return request


class _Messages:
    def __init__(self):
        self.messages = []

    def add(self, level, message, extra_tags=""):
        self.messages.append(str(message))


def test_follow_up_admin_is_read_only_and_completes_through_the_service(world, term, case_in):
    case = case_in("returned")
    follow_up = case.follow_ups.filter(done_on__isnull=True).first()
    model_admin = site._registry[FollowUp]
    request = admin_request(world.principal)
    assert not model_admin.has_change_permission(request, follow_up)
    assert not model_admin.has_add_permission(request)
    model_admin.mark_done(request, FollowUp.objects.filter(pk=follow_up.pk))
    follow_up.refresh_from_db()
    assert follow_up.done_on is not None
    assert CaseEvent.objects.filter(case=case, action="完成复学跟踪").exists()


def test_county_policy_admin_lists_only_the_bureaus_own_county(world):
    mine, _ = CountyPolicy.objects.get_or_create(county=world.county)
    other, _ = CountyPolicy.objects.get_or_create(county=f.CountyFactory())
    model_admin = site._registry[CountyPolicy]
    world.bureau.is_staff = True
    listed = set(model_admin.get_queryset(admin_request(world.bureau)))
    assert listed == {mine}
    assert other not in set(model_admin.get_queryset(admin_request(world.principal)))


def test_risk_flag_admin_actions_go_through_the_flag_service(world, term):
    flag = red_flag(world.students_a[0])
    model_admin = site._registry[RiskFlag]
    request = admin_request(world.principal)
    assert not model_admin.has_change_permission(request, flag)
    model_admin.resolve(request, RiskFlag.objects.filter(pk=flag.pk))
    flag.refresh_from_db()
    assert flag.status == RiskFlag.Status.RESOLVED
    assert flag.handled_by == world.principal
    # A second resolve is an illegal move: the service refuses and the admin says so.
    model_admin.resolve(request, RiskFlag.objects.filter(pk=flag.pk))
    assert any("不能执行此操作" in m for m in request._messages.messages)


def test_completed_follow_up_due_date_is_in_the_trail(world, term, case_in):
    case = case_in("returned")
    follow_up = case.follow_ups.filter(done_on__isnull=True).order_by("due_on").first()
    services.complete_follow_up(user=world.principal, follow_up_id=follow_up.pk)
    event = CaseEvent.objects.filter(case=case, action="完成复学跟踪").get()
    assert f"{follow_up.due_on:%Y-%m-%d}" in event.note
