"""Bad input is a 400 (or 404) with a Chinese message and writes nothing; never a 500 (issue 12 item 7).

Each case is one that answered 500 before: text longer than its column, NUL characters in search
boxes and in JSON, ids that are not numbers, JSON bodies that are not objects, impossible periods
and rule parameters.
"""

import datetime as dt

import pytest
from django.urls import reverse

from casework.models import CaseActivity, CaseEvent, DropoutCase, ReturnPlan
from reporting.models import ReportRun
from students.models import RiskFlag, RiskRule, Student
from tests import factories as f
from tests.helpers import build_case, plan_input

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (CaseActivity, CaseEvent, DropoutCase, ReturnPlan, ReportRun, RiskFlag, Student)
    }


def _refused(response, *codes: int) -> str:
    assert response.status_code in (codes or (400,)), (response.status_code, response.content[:300])
    text = response.content.decode()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text[:300]  # a Chinese message
    return text


@pytest.fixture
def returning(world, term, today):
    """A case in 劝返中 with its plan, for the plan / activity / return inputs."""
    return build_case(world, world.students_a[0], "returning", day=TODAY)


# --- text longer than its column ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [("participants", 200), ("next_step", 200)],
)
def test_activity_text_over_its_limit_is_refused_and_nothing_written(world, returning, api, field, limit):
    before = _counts()
    body = {"occurred_on": str(TODAY), "kind": "phone", "outcome": "unreachable", "participants": "班主任"}
    body[field] = "长" * (limit + 1)
    response = api.as_user(world.teacher).post(reverse("api-case-activities", args=[returning.pk]), body, format="json")
    text = _refused(response)
    assert str(limit) in text
    assert _counts() == before


def test_plan_method_over_its_limit_is_refused(world, returning, api):
    before = _counts()
    plan = plan_input(world, student=world.students_a[0])
    body = {
        "reason_analysis": plan.reason_analysis,
        "measures": plan.measures,
        "method": "法" * 201,
        "target_return_on": str(plan.target_return_on),
        "school_leader": plan.school_leader_id,
        "class_teacher": plan.class_teacher_id,
        "township_cadre": plan.township_cadre_id,
    }
    response = api.as_user(world.principal).post(reverse("api-case-plan", args=[returning.pk]), body, format="json")
    assert "200" in _refused(response)
    assert _counts() == before


def test_return_buddy_over_its_limit_is_refused(world, returning, api):
    before = _counts()
    body = {"returned_on": str(TODAY), "placement": "original", "buddy": "伴" * 301}
    response = api.as_user(world.principal).post(reverse("api-case-return-", args=[returning.pk]), body, format="json")
    assert "300" in _refused(response)
    assert _counts() == before
    assert DropoutCase.objects.get(pk=returning.pk).status == returning.status


def test_a_note_over_its_limit_is_refused_not_cut(world, returning, api):
    flag = f.RiskFlagFactory(student=world.students_a[1])
    before = _counts()
    response = api.as_user(world.teacher).post(
        reverse("api-riskflag-acknowledge", args=[flag.pk]), {"note": "注" * 301}, format="json"
    )
    assert "300" in _refused(response)
    flag.refresh_from_db()
    assert flag.status == RiskFlag.Status.OPEN
    assert _counts() == before


def test_a_long_name_is_kept_whole_with_its_pinyin(world, api):
    """21 × 壮 is a name within the 50-character limit: it is saved (its pinyin is 126 letters)."""
    student = world.students_a[0]
    student.name = "壮" * 21
    student.save()
    student.refresh_from_db()
    assert student.name_pinyin == "zhuang" * 21
    assert student.name_initials == "z" * 21


# --- NUL characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["student-list", "case-list", "school-list", "risk-flags"])
def test_nul_in_a_search_box_is_a_400(world, client, url_name):
    client.force_login(world.bureau)
    _refused(client.get(reverse(url_name), {"q": "张\x00"}))


def test_nul_in_the_api_search_is_a_400(world, api):
    _refused(api.as_user(world.bureau).get(reverse("api-student-list"), {"q": "\x00"}))


def test_nul_in_a_json_note_is_a_400_and_nothing_written(world, returning, api):
    flag = f.RiskFlagFactory(student=world.students_a[1])
    before = _counts()
    response = api.as_user(world.teacher).post(
        reverse("api-riskflag-dismiss", args=[flag.pk]), {"note": "误报\x00"}, format="json"
    )
    _refused(response)
    response = api.as_user(world.bureau).post(
        reverse("api-case-activities", args=[returning.pk]),
        {"occurred_on": str(TODAY), "kind": "phone", "outcome": "unreachable", "participants": "班\x00主任"},
        format="json",
    )
    _refused(response)
    assert _counts() == before


# --- ids that are not numbers --------------------------------------------------------------------


def test_non_numeric_ids_in_filters(world, client, api):
    client.force_login(world.bureau)
    assert client.get(reverse("risk-flags"), {"school": "abc"}).status_code in (200, 400)
    assert client.get(reverse("attendance-duty"), {"school": "abc"}).status_code in (200, 400, 404)
    assert client.get(reverse("dashboard-school"), {"school": "abc"}).status_code in (200, 400, 404)
    api.as_user(world.bureau)
    for name in ("api-attendance-missing", "api-student-list", "api-case-list", "api-riskflag-list"):
        response = api.get(reverse(name), {"school": "abc", "classroom": "x", "student": "1e3"})
        assert response.status_code in (200, 400), (name, response.status_code)


def test_non_numeric_ids_in_action_urls(world, returning, api):
    api.as_user(world.bureau)
    for name in ("api-case-verify", "api-case-detail", "api-case-plan", "api-riskflag-acknowledge", "api-report-sign"):
        url = reverse(name, args=[returning.pk]).replace(f"/{returning.pk}/", "/abc/")
        response = api.post(url, {}, format="json")
        assert response.status_code == 404, (url, response.status_code)
        assert api.get(url.replace("abc", "１２")).status_code == 404  # full-width digits are not ids either


# --- JSON bodies that are not objects ------------------------------------------------------------


@pytest.mark.parametrize("body", ["[]", "[1, 2]", "7", '"text"', "null", "{"])
def test_flag_actions_take_only_json_objects(world, api, body):
    flag = f.RiskFlagFactory(student=world.students_a[1])
    response = api.as_user(world.teacher).post(
        reverse("api-riskflag-resolve", args=[flag.pk]), body, content_type="application/json"
    )
    _refused(response)
    flag.refresh_from_db()
    assert flag.status == RiskFlag.Status.OPEN


@pytest.mark.parametrize("body", [[], 7])
def test_case_actions_take_only_json_objects(world, returning, api, body):
    before = _counts()
    response = api.as_user(world.bureau).post(reverse("api-case-activities", args=[returning.pk]), body, format="json")
    _refused(response)
    assert _counts() == before


# --- periods and rule parameters -----------------------------------------------------------------


@pytest.mark.parametrize("period", ["0000-01", "0000-W01", "9999-W53", "2026-13", "2026-W00", "２０２６-11"])
def test_impossible_periods_are_refused(world, api, period):
    before = _counts()
    response = api.as_user(world.bureau).post(
        reverse("api-report-generate"),
        {"kind": "county_weekly" if "W" in period else "county_monthly", "period": period, "scope": world.county.pk},
        format="json",
    )
    _refused(response)
    assert _counts() == before


def test_a_teacher_may_not_generate_a_county_report(world, api):
    before = _counts()
    response = api.as_user(world.teacher).post(
        reverse("api-report-generate"),
        {"kind": "county_weekly", "period": "2026-W47", "scope": world.county.pk},
        format="json",
    )
    assert response.status_code in (403, 404)
    assert _counts() == before


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "NaN", "1.5", "0"])
def test_rule_parameters_must_be_finite_and_in_range(world, client, value):
    client.force_login(world.bureau)
    client.get(reverse("risk-rules"))  # the county's rules, version 1
    versions = RiskRule.objects.count()
    response = client.post(
        reverse("risk-rules"), {"code": "chronic_absence", "rate": value, "min_days": "10", "level": "yellow"}
    )
    assert response.status_code == 302
    assert RiskRule.objects.count() == versions
    page = client.get(reverse("risk-rules")).content.decode()
    assert "参数须为正数" in page or "缺勤率须在 0 到 1 之间" in page
