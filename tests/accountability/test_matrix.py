"""The 包保 matrix, its gaps and the leading groups (issue 13, item 1)."""

import pytest

from accountability.matrix import selectors, services
from accountability.models import LeadingGroup, Responsibility
from students.models import Post
from tests import factories as f
from tests.helpers import build_case

pytestmark = pytest.mark.django_db
RESP = "/api/v1/responsibilities/"
GAPS = "/api/v1/responsibilities/gaps/"
GROUPS = "/api/v1/leading-groups/"


@pytest.fixture
def year(world, term, today):
    return term.school_year


def row(person, line, kind, target, **extra):
    return {"person": person.pk, "line": line, "target_kind": kind, "target": target.pk, **extra}


# --- naming people -------------------------------------------------------------------------------


def test_principal_names_a_teacher_and_the_students_cadre_for_a_student(world, year, api):
    s = world.students_a[0]
    answer = api.as_user(world.principal).post(RESP, row(world.teacher, "education", "student", s), format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["target_name"] == s.name
    assert answer.json()["school_year"] == year.pk
    answer = api.post(RESP, row(world.cadre, "administrative", "student", s), format="json")
    assert answer.status_code == 201, answer.json()
    rows = Responsibility.objects.filter(student=s)
    assert {(r.person_id, r.line, r.owner_school_id) for r in rows} == {
        (world.teacher.pk, "education", world.school.pk),
        (world.cadre.pk, "administrative", world.school.pk),
    }
    assert rows.first().history.count() == 1  # audit trail


@pytest.mark.parametrize(
    ("person", "line", "why"),
    [
        ("principal2", "education", "本校"),  # a principal of another school
        ("cadre", "education", "本校"),  # a cadre on the education line
        ("bureau", "education", "本校"),
        ("cadre2", "administrative", "乡镇"),  # a cadre of another township
        ("teacher", "administrative", "乡镇"),
        ("outsider", "education", "本校"),
    ],
)
def test_only_a_person_holding_the_right_post_may_be_named(world, year, api, person, line, why):
    answer = api.as_user(world.principal).post(
        RESP, row(getattr(world, person), line, "student", world.students_a[0]), format="json"
    )
    assert answer.status_code == 400
    assert why in answer.json()["detail"]
    assert not Responsibility.objects.exists()


def test_out_of_scope_targets_do_not_exist_and_seen_ones_are_not_editable(world, year, api):
    s = world.students_a[0]
    assert api.as_user(world.principal2).post(RESP, row(world.teacher, "education", "student", s)).status_code == 404
    assert api.as_user(world.cadre2).post(RESP, row(world.teacher, "education", "student", s)).status_code == 404
    # The class teacher sees the student but the matrix is kept by the school's leaders: 409.
    assert api.as_user(world.teacher).post(RESP, row(world.teacher, "education", "student", s)).status_code == 409
    # The county side is the bureau's.
    town = row(world.cadre, "administrative", "township", world.township)
    assert api.as_user(world.principal).post(RESP, town).status_code == 409
    assert api.as_user(world.outsider).post(RESP, town).status_code == 404
    assert api.as_user(world.bureau).post(RESP, town).status_code == 201
    assert api.as_user(world.bureau).post(RESP, row(world.cadre2, "administrative", "township", world.township))
    assert Responsibility.objects.count() == 1


def test_grades_and_classes_are_led_by_school_leaders_and_the_class_by_its_teacher(world, year, api):
    api.as_user(world.principal)
    assert api.post(RESP, row(world.principal, "education", "grade", world.class_a.grade)).status_code == 201
    assert api.post(RESP, row(world.teacher, "education", "classroom", world.class_a)).status_code == 201
    assert api.post(RESP, row(world.teacher, "education", "classroom", world.class_b)).status_code == 400
    assert api.post(RESP, row(world.principal, "administrative", "classroom", world.class_b)).status_code == 400
    assert api.post(RESP, row(world.principal, "education", "classroom", world.class_c)).status_code == 404


def test_naming_twice_is_refused_and_removal_keeps_history(world, year, api):
    body = row(world.teacher, "education", "student", world.students_a[0])
    assert api.as_user(world.principal).post(RESP, body).status_code == 201
    again = api.post(RESP, body)
    assert again.status_code == 409
    assert "已是" in again.json()["detail"]
    pk = Responsibility.objects.get().pk
    assert api.as_user(world.principal2).delete(f"{RESP}{pk}/").status_code == 404
    assert api.as_user(world.teacher).delete(f"{RESP}{pk}/").status_code == 404
    assert api.as_user(world.principal).delete(f"{RESP}{pk}/").status_code == 204
    assert not Responsibility.objects.exists()
    assert Responsibility.history.filter(id=pk, history_type="-").exists()


def test_who_sees_which_rows(world, year, api):
    services.add_responsibility(
        user=world.principal,
        person_id=world.teacher.pk,
        line="education",
        target_kind="student",
        target_id=world.students_a[0].pk,
    )
    services.add_responsibility(
        user=world.principal2,
        person_id=world.principal2.pk,
        line="education",
        target_kind="school",
        target_id=world.school2.pk,
    )
    services.add_responsibility(
        user=world.bureau,
        person_id=world.cadre.pk,
        line="administrative",
        target_kind="township",
        target_id=world.township.pk,
    )

    def seen(user):
        return {r["target_name"] for r in api.as_user(user).get(RESP).json()["results"]}

    assert seen(world.bureau) == {world.students_a[0].name, world.school2.name, world.township.name}
    assert seen(world.principal) == {world.students_a[0].name}
    assert seen(world.principal2) == {world.school2.name}
    assert seen(world.teacher) == {world.students_a[0].name}
    assert seen(world.teacher2) == set()
    assert seen(world.cadre) == {world.students_a[0].name, world.township.name}
    assert seen(world.cadre2) == set()
    assert seen(world.outsider) == set()
    assert api.as_user(world.bureau).get(RESP, {"school": "abc"}).status_code == 400


# --- gaps ----------------------------------------------------------------------------------------


def gap_students(user, **params):
    return {g["student"]: sorted(g["missing"]) for g in api_get(user, GAPS, params)["students"]}


def api_get(user, url, params):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    answer = client.get(url, params)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_an_at_risk_student_with_nobody_on_a_line_is_a_gap_until_both_lines_are_covered(world, year):
    red = f.RiskFlagFactory(student=world.students_a[0], level="red")
    f.RiskFlagFactory(student=world.students_a[1], level="yellow")  # yellow is not "at risk" here
    f.RiskFlagFactory(student=world.students_a[2], level="orange", status="dismissed")
    both = ["administrative", "education"]
    assert gap_students(world.principal) == {red.student_id: both}
    services.add_responsibility(
        user=world.principal,
        person_id=world.teacher.pk,
        line="education",
        target_kind="student",
        target_id=red.student_id,
    )
    assert gap_students(world.principal) == {red.student_id: ["administrative"]}
    # The cadre covering the student's home village covers them on the administrative line.
    f.PostFactory(user=world.cadre2, role=Post.Role.CADRE, county=world.county, village=world.village)
    services.add_responsibility(
        user=world.bureau,
        person_id=world.cadre.pk,
        line="administrative",
        target_kind="village",
        target_id=world.village.pk,
    )
    assert gap_students(world.principal) == {}
    assert gap_students(world.bureau) == {}


def test_an_open_case_is_covered_by_its_plan_and_a_suspected_one_is_a_gap(world, year):
    planned = build_case(world, world.students_a[0], "returning")
    suspected = build_case(world, world.students_a[1], "suspected")
    assert gap_students(world.bureau) == {suspected.student_id: ["administrative", "education"]}
    found = selectors.gaps(world.bureau).students
    assert found[0].reasons == ["case"]
    chain = selectors.chains([planned.student], year)[planned.student_id]
    assert {link.kind for link in chain.education} == {"plan"}
    assert chain.missing == []


def test_classes_without_a_leader_until_the_class_or_its_grade_is_covered(world, year):
    leaderless = {c["name"] for c in api_get(world.principal, GAPS, {})["classrooms"]}
    assert leaderless == {str(world.class_a), str(world.class_b)}
    services.add_responsibility(
        user=world.principal,
        person_id=world.teacher.pk,
        line="education",
        target_kind="classroom",
        target_id=world.class_a.pk,
    )
    assert {c["name"] for c in api_get(world.principal, GAPS, {})["classrooms"]} == {str(world.class_b)}
    services.add_responsibility(
        user=world.principal,
        person_id=world.principal.pk,
        line="education",
        target_kind="grade",
        target_id=world.class_b.grade_id,
    )
    assert api_get(world.principal, GAPS, {})["classrooms"] == []
    assert {c["name"] for c in api_get(world.bureau, GAPS, {})["classrooms"]} == {str(world.class_c)}
    assert {c["name"] for c in api_get(world.principal2, GAPS, {})["classrooms"]} == {str(world.class_c)}


def test_gaps_are_the_managers_list(world, year):
    f.RiskFlagFactory(student=world.students_a[0], level="red")
    for user in (world.teacher, world.cadre, world.outsider):
        found = api_get(user, GAPS, {})
        assert (found["students"], found["classrooms"]) == ([], [])
    assert gap_students(world.principal2) == {}
    assert api_get(world.principal, GAPS, {"school": world.school2.pk})["count"] == 0


# --- leading groups ------------------------------------------------------------------------------


def test_principal_sets_up_the_leading_group_and_changes_it(world, year, api):
    body = {
        "school": world.school.pk,
        "leader": world.principal.pk,
        "duties": "组长全面负责,副组长分管日常",
        "members": [{"user": world.teacher.pk, "duty": "deputy", "task": "七年级"}, {"user": world.bureau.pk}],
    }
    answer = api.as_user(world.principal).post(GROUPS, body, format="json")
    assert answer.status_code == 200, answer.json()
    assert {m["user"]: m["duty"] for m in answer.json()["members"]} == {
        world.teacher.pk: "deputy",
        world.bureau.pk: "member",
    }
    body["members"] = [{"user": world.teacher2.pk}]
    assert api.post(GROUPS, body, format="json").status_code == 200
    group = LeadingGroup.objects.get()
    assert [m.user_id for m in group.members.all()] == [world.teacher2.pk]
    assert group.school_year == year
    assert group.history.count() == 2


@pytest.mark.parametrize(
    ("who", "change", "status"),
    [
        ("principal", {"members": [{"user": "principal2"}]}, 400),  # another school's principal
        ("principal", {"leader": "cadre"}, 400),
        ("principal", {"members": [{"user": "teacher"}, {"user": "teacher"}]}, 400),
        ("principal2", {}, 404),
        ("teacher", {}, 404),
        ("bureau", {}, 200),
    ],
)
def test_leading_group_refusals(world, year, api, who, change, status):
    body = {"school": world.school.pk, "leader": world.principal.pk, "members": []}
    for key, value in change.items():
        body[key] = (
            [{"user": getattr(world, m["user"]).pk} for m in value] if key == "members" else getattr(world, value).pk
        )
    assert api.as_user(getattr(world, who)).post(GROUPS, body, format="json").status_code == status
    assert LeadingGroup.objects.exists() == (status == 200)
    seen = api.as_user(world.principal2).get(GROUPS).json()["results"]
    assert seen == []
