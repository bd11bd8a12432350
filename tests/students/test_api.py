"""API v1: auth, me, schools, classrooms, students — scoped for the three people of every test."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from students.models import Post, Student
from tests import factories as f
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def pks(objs):
    return {obj.pk for obj in objs}


# --- auth ------------------------------------------------------------------------------------


def test_token_login_then_token_auth_works(world, client):
    response = client.post(
        reverse("api-token"), {"username": "teacher", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "teacher"


def test_token_login_with_wrong_password_is_refused_in_chinese(world, client):
    response = client.post(
        reverse("api-token"), {"username": "teacher", "password": "wrong"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "密码错误" in response.json()["detail"]


def test_anonymous_gets_no_data(world, client):
    for name in ("api-student-list", "api-school-list", "api-classroom-list", "api-me"):
        assert client.get(reverse(name)).status_code in (401, 403)


def test_me_lists_posts_and_scopes(world, api):
    data = api.as_user(world.principal).get(reverse("api-me")).json()
    assert data["roles"] == ["principal"]
    assert data["scopes"]["schools"] == [world.school.pk]
    assert data["posts"][0]["scope"] == {"level": "school", "id": world.school.pk, "name": world.school.name}
    assert data["sees_full_id_numbers"] is True


def test_expired_post_gives_no_scope(world, api):
    Post.objects.filter(user=world.teacher).update(end_date="2021-01-01")
    response = api.as_user(world.teacher).get(reverse("api-student-list"))
    assert ids(response) == set()


# --- students: owner, colleague, outsider ---------------------------------------------------


def test_teacher_sees_only_own_class_students(world, api):
    api.as_user(world.teacher)
    assert ids(api.get(reverse("api-student-list"))) == pks(world.students_a)


def test_teacher2_cannot_see_teachers_students(world, api):
    api.as_user(world.teacher2)
    assert ids(api.get(reverse("api-student-list"))) == pks(world.students_b)
    for student in world.students_a:
        assert api.get(reverse("api-student-detail", args=[student.pk])).status_code == 404
    # Not even through search or a filter naming the other class.
    name = world.students_a[0].name
    assert pks(world.students_a).isdisjoint(ids(api.get(reverse("api-student-list"), {"q": name})))
    assert ids(api.get(reverse("api-student-list"), {"classroom": world.class_a.pk})) == set()


def test_outsider_sees_nothing(world, api):
    api.as_user(world.outsider)
    for name in ("api-student-list", "api-school-list", "api-classroom-list"):
        response = api.get(reverse(name))
        assert response.json()["count"] == 0
    assert api.get(reverse("api-student-detail", args=[world.students_a[0].pk])).status_code == 404
    assert api.get(reverse("api-school-detail", args=[world.school.pk])).status_code == 404
    assert api.get(reverse("api-classroom-detail", args=[world.class_a.pk])).status_code == 404


def test_principal_sees_own_school_only(world, api):
    api.as_user(world.principal)
    assert ids(api.get(reverse("api-student-list"))) == pks(world.students_a + world.students_b)
    assert ids(api.get(reverse("api-school-list"))) == {world.school.pk}
    assert ids(api.get(reverse("api-classroom-list"))) == {world.class_a.pk, world.class_b.pk}


def test_principal2_sees_nothing_of_principals_school(world, api):
    api.as_user(world.principal2)
    assert ids(api.get(reverse("api-student-list"))) == pks(world.students_c)
    assert ids(api.get(reverse("api-school-list"))) == {world.school2.pk}
    assert api.get(reverse("api-school-detail", args=[world.school.pk])).status_code == 404
    assert api.get(reverse("api-classroom-detail", args=[world.class_a.pk])).status_code == 404
    assert api.get(reverse("api-student-detail", args=[world.students_a[0].pk])).status_code == 404
    assert ids(api.get(reverse("api-student-list"), {"school": world.school.pk})) == set()


def test_bureau_sees_whole_county(world, api):
    api.as_user(world.bureau)
    everyone = world.students_a + world.students_b + world.students_c
    assert ids(api.get(reverse("api-student-list"))) == pks(everyone)
    assert ids(api.get(reverse("api-school-list"))) == {world.school.pk, world.school2.pk}


def test_bureau_of_another_county_sees_nothing(world, api):
    other = f.CountyFactory(name="别县", code="999999")
    stranger = f.UserFactory(username="other-bureau")
    f.PostFactory(user=stranger, role=Post.Role.BUREAU, county=other)
    api.as_user(stranger)
    assert ids(api.get(reverse("api-student-list"))) == set()
    assert ids(api.get(reverse("api-school-list"))) == set()


def test_cadre_sees_residents_of_their_township_only(world, api):
    api.as_user(world.cadre)
    residents = [*world.students_a, world.students_c[-1]]
    assert ids(api.get(reverse("api-student-list"))) == pks(residents)
    assert api.get(reverse("api-student-detail", args=[world.students_b[0].pk])).status_code == 404
    # Schools and classrooms their residents attend, nothing else.
    assert ids(api.get(reverse("api-school-list"))) == {world.school.pk, world.school2.pk}
    assert ids(api.get(reverse("api-classroom-list"))) == {world.class_a.pk, world.class_c.pk}


def test_village_cadre_sees_only_their_village(world, api):
    neighbour_village = f.VillageFactory(township=world.township, name="河口村")
    moved = world.students_a[0]
    moved.village = neighbour_village
    moved.save()
    village_cadre = f.UserFactory(username="village-cadre")
    f.PostFactory(user=village_cadre, role=Post.Role.CADRE, county=world.county, village=neighbour_village)
    assert ids(api.as_user(village_cadre).get(reverse("api-student-list"))) == {moved.pk}


def test_user_with_two_posts_sees_the_union(world, api):
    f.PostFactory(user=world.teacher, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_c)
    api.as_user(world.teacher)
    assert ids(api.get(reverse("api-student-list"))) == pks(world.students_a + world.students_c)


def test_school_enrolled_count_counts_only_visible_students(world, api):
    rows = api.as_user(world.teacher).get(reverse("api-school-list")).json()["results"]
    assert len(rows) == 1
    assert rows[0]["enrolled_count"] == len(world.students_a)


# --- filters and search ----------------------------------------------------------------------


def test_filters_by_school_classroom_and_status(world, api):
    api.as_user(world.bureau)
    assert ids(api.get(reverse("api-student-list"), {"school": world.school2.pk})) == pks(world.students_c)
    assert ids(api.get(reverse("api-student-list"), {"classroom": world.class_b.pk})) == pks(world.students_b)
    quitter = world.students_b[0]
    quitter.status = Student.Status.SUSPENDED
    quitter.save()
    assert ids(api.get(reverse("api-student-list"), {"status": "suspended"})) == {quitter.pk}
    assert api.get(reverse("api-student-list"), {"status": "nonsense"}).status_code == 400


def test_search_by_name_pinyin_initials_and_student_no(world, api):
    target = f.StudentFactory(classroom=world.class_a, name="欧阳娜娜")
    api.as_user(world.teacher)
    assert target.pk in ids(api.get(reverse("api-student-list"), {"q": "欧阳"}))
    assert ids(api.get(reverse("api-student-list"), {"q": "oynn"})) == {target.pk}
    assert ids(api.get(reverse("api-student-list"), {"q": "OYNN"})) == {target.pk}
    assert ids(api.get(reverse("api-student-list"), {"q": "ouyang"})) == {target.pk}
    assert ids(api.get(reverse("api-student-list"), {"q": target.student_no})) == {target.pk}


def test_student_carries_contract_fields(world, api):
    student = world.students_a[0]
    row = api.as_user(world.teacher).get(reverse("api-student-detail", args=[student.pk])).json()
    assert row["id"] == student.pk
    assert row["name"] == student.name
    assert row["school"] == world.school.pk
    assert row["classroom"] == world.class_a.pk


def test_list_is_paginated(world, api):
    for _ in range(5):
        f.StudentFactory(classroom=world.class_a)
    data = api.as_user(world.teacher).get(reverse("api-student-list"), {"page_size": 3}).json()
    assert data["count"] == 8
    assert len(data["results"]) == 3
    assert data["next"] is not None
    assert data["previous"] is None


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "masked"), [("teacher", True), ("cadre", True), ("principal", False), ("bureau", False)]
)
def test_id_number_masked_for_teachers_and_cadres(world, api, who, masked):
    student = world.students_a[0]
    shown = api.as_user(getattr(world, who)).get(reverse("api-student-detail", args=[student.pk])).json()["id_number"]
    if masked:
        assert shown == "*" * 14 + student.id_number[-4:]
    else:
        assert shown == student.id_number


def test_principal_who_is_also_class_teacher_sees_full_numbers(world, api):
    f.PostFactory(user=world.teacher, role=Post.Role.PRINCIPAL, county=world.county, school=world.school)
    student = world.students_a[0]
    shown = api.as_user(world.teacher).get(reverse("api-student-detail", args=[student.pk])).json()["id_number"]
    assert shown == student.id_number


# --- query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher", "principal", "bureau", "cadre"])
def test_student_list_query_count_constant_in_page_size(world, api, who):
    for _ in range(40):
        f.GuardianFactory(student=f.StudentFactory(classroom=world.class_a, village=world.village))
    api.as_user(getattr(world, who))
    url = reverse("api-student-list")
    api.get(url)  # warm up: the user's scope is resolved once and cached on the user object

    counts = []
    for size in (2, 40):
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(url, {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 4


def test_student_detail_query_count_pinned(world, api, django_assert_max_num_queries):
    student = world.students_a[0]
    for _ in range(3):
        f.GuardianFactory(student=student)
    api.as_user(world.teacher)
    with django_assert_max_num_queries(3):
        response = api.get(reverse("api-student-detail", args=[student.pk]))
    assert len(response.json()["guardians"]) == 3


def test_school_and_classroom_lists_query_count_pinned(world, api, django_assert_max_num_queries):
    api.as_user(world.bureau)
    with django_assert_max_num_queries(3):
        assert api.get(reverse("api-school-list")).status_code == 200
    with django_assert_max_num_queries(3):
        assert api.get(reverse("api-classroom-list")).status_code == 200


# --- docs ------------------------------------------------------------------------------------


def test_openapi_schema_and_swagger_ui_are_served_locally(world, client):
    client.force_login(world.principal)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/students/import/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()


def test_schema_and_docs_need_a_signed_in_user(world, client, api):
    """Issue 12, item 10: the API's description is not open to anyone."""
    for url in ("/api/schema/", "/api/docs/"):
        assert client.get(url).status_code in (401, 403), url
    token = api.as_user(world.bureau).get("/api/schema/")
    assert token.status_code == 200


def test_answers_holding_personal_data_are_not_stored(world, client, api):
    """Issue 12, item 10: pages and API answers for a signed-in user carry Cache-Control: no-store."""
    client.force_login(world.teacher)
    for response in (
        client.get("/students/"),
        client.get("/api/v1/students/"),
        api.as_user(world.teacher).get("/api/v1/me/"),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_pages_carry_a_content_security_policy_with_the_nonce_of_their_scripts(world, client):
    """Issue 12, item 10: no inline script runs unless the page put the request's nonce on it."""
    client.force_login(world.teacher)
    take = client.get(reverse("attendance-take", args=[world.class_a.pk])).content.decode()
    # The attendance page's script is a file (static/js/attendance.js): nothing inline at all.
    assert "<script>" not in take
    assert "<script nonce=" not in take
    client.force_login(world.principal)
    response = client.get(reverse("report-list"))  # its script is inline, with the nonce
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    nonce = directives["script-src"].split("'nonce-")[1].split("'")[0]
    html = response.content.decode()
    inline = html.count("<script>") + html.count("<script nonce=")
    assert inline >= 1
    assert html.count(f'<script nonce="{nonce}">') == inline
    assert "'unsafe-inline'" not in directives["script-src"]


def test_swagger_ui_starts_from_a_script_file(world, client):
    """The docs page has no inline script (CSP): its start-up script is a request of its own."""
    client.force_login(world.principal)
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
