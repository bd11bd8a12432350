"""Server-rendered pages of the org tree and people, for the three people of every scoping test.

The owner sees; a colleague with another scope gets 404 on details and finds nothing in lists and
searches; an outsider (no post) sees empty states and 404s.
"""

import re

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from students import idnumber
from students.models import Post, Student
from tests import factories as f
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def _default_language_afterwards(settings):
    """A request in English leaves English active in this thread; put the default back."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def visit(client):
    """``visit(user, url, **query)`` → the response, fetched by ``user`` logged in on the test client."""

    def get(user, url, **query):
        client.force_login(user, backend=MODEL_BACKEND)
        return client.get(url, query)

    return get


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def link(obj) -> str:
    return f'href="{obj.get_absolute_url()}"'


def shows(response, objs) -> bool:
    page = html(response)
    return all(link(obj) in page for obj in objs)


def hides(response, objs) -> bool:
    page = html(response)
    return not any(link(obj) in page for obj in objs)


def student_links(page: str) -> int:
    return len(re.findall(r'href="/students/\d+/"', page))


def url(name, *args) -> str:
    return reverse(name, args=args)


# --- home ------------------------------------------------------------------------------------


def test_class_teacher_home_lists_own_class_students(world, visit):
    response = visit(world.teacher, url("home"))
    page = html(response)
    assert world.class_a.name in page
    assert "七年级(1)班" in page
    assert shows(response, world.students_a)
    assert hides(response, world.students_b + world.students_c)


def test_principal_home_lists_school_classes_with_class_teachers(world, visit):
    response = visit(world.principal, url("home"))
    page = html(response)
    assert shows(response, [world.class_a, world.class_b])
    assert hides(response, [world.class_c])
    assert ">teacher<" in page
    assert ">teacher2<" in page
    assert hides(response, world.students_a)  # classes, not students


def test_bureau_home_is_a_county_overview_of_schools(world, visit):
    response = visit(world.bureau, url("home"))
    assert shows(response, [world.school, world.school2])
    assert "全县学校概览" in html(response)


def test_cadre_home_lists_residents_of_their_township_only(world, visit):
    response = visit(world.cadre, url("home"))
    resident_c = world.students_c[2]
    assert shows(response, [*world.students_a, resident_c])
    assert hides(response, world.students_b + world.students_c[:2])
    assert world.village.name in html(response)


def test_outsider_home_says_no_post(world, visit):
    page = html(visit(world.outsider, url("home")))
    assert "您还没有岗位任职,请联系管理员" in page


def test_user_with_several_posts_sees_a_section_for_each(world, visit):
    f.PostFactory(user=world.principal, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_a)
    page = html(visit(world.principal, url("home")))
    assert 'id="my-class"' in page
    assert 'id="school-classes"' in page
    assert 'id="county-schools"' not in page


def test_teacher_of_several_classes_sees_a_list_of_them(world, visit):
    f.PostFactory(user=world.teacher, role=Post.Role.SUBJECT_TEACHER, county=world.county, classroom=world.class_b)
    response = visit(world.teacher, url("home"))
    assert 'id="my-classes"' in html(response)
    assert shows(response, [world.class_a, world.class_b])
    assert hides(response, [world.class_c])


def test_home_requires_login(client, world):
    response = client.get(url("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(url("login"))


# --- schools ---------------------------------------------------------------------------------


def test_school_list_is_scoped(world, visit):
    assert shows(visit(world.bureau, url("school-list")), [world.school, world.school2])
    principal = visit(world.principal, url("school-list"))
    assert shows(principal, [world.school])
    assert hides(principal, [world.school2])
    principal2 = visit(world.principal2, url("school-list"))
    assert shows(principal2, [world.school2])
    assert hides(principal2, [world.school])
    # The cadre sees the schools their residents attend.
    assert shows(visit(world.cadre, url("school-list")), [world.school, world.school2])


def test_outsider_school_list_is_empty(world, visit):
    response = visit(world.outsider, url("school-list"))
    assert "暂无学校" in html(response)
    assert hides(response, [world.school, world.school2])


def test_school_list_search(world, visit):
    response = visit(world.bureau, url("school-list"), q="白沙")
    assert shows(response, [world.school2])
    assert hides(response, [world.school])


def test_school_detail_owner_colleague_outsider(world, visit):
    response = visit(world.principal, url("school-detail", world.school.pk))
    assert world.school.name in html(response)
    assert shows(response, [world.class_a, world.class_b])
    assert visit(world.principal2, url("school-detail", world.school.pk)).status_code == 404
    assert visit(world.outsider, url("school-detail", world.school.pk)).status_code == 404


def test_class_teacher_sees_only_own_class_on_school_page(world, visit):
    response = visit(world.teacher, url("school-detail", world.school.pk))
    assert shows(response, [world.class_a])
    assert hides(response, [world.class_b])


def test_school_page_shows_enrolled_counts_and_class_teacher(world, visit):
    page = html(visit(world.bureau, url("school-detail", world.school.pk)))
    assert ">teacher<" in page
    assert '<td class="text-end">3</td>' in page


# --- classrooms ------------------------------------------------------------------------------


def test_classroom_detail_owner_colleague_outsider(world, visit):
    response = visit(world.teacher, url("classroom-detail", world.class_a.pk))
    assert "七年级(1)班" in html(response)
    assert shows(response, world.students_a)
    assert visit(world.teacher2, url("classroom-detail", world.class_a.pk)).status_code == 404
    assert visit(world.outsider, url("classroom-detail", world.class_a.pk)).status_code == 404
    assert visit(world.principal2, url("classroom-detail", world.class_a.pk)).status_code == 404


def test_cadre_sees_only_their_residents_in_another_school_class(world, visit):
    response = visit(world.cadre, url("classroom-detail", world.class_c.pk))
    assert shows(response, [world.students_c[2]])
    assert hides(response, world.students_c[:2])
    assert visit(world.cadre, url("classroom-detail", world.class_b.pk)).status_code == 404


def test_classroom_page_query_count_does_not_grow_with_class_size(world, visit, client):
    classroom = f.ClassroomFactory(grade=world.class_a.grade, number=9)
    f.PostFactory(user=world.teacher, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=classroom)
    students = [f.StudentFactory(classroom=classroom, village=world.village) for _ in range(5)]
    for student in students:
        student.left_behind = True
        student.save()
    client.force_login(world.teacher, backend=MODEL_BACKEND)
    target = url("classroom-detail", classroom.pk)
    assert client.get(target).status_code == 200  # the scope is read once, then cached

    with CaptureQueriesContext(connection) as small:
        assert client.get(target).status_code == 200
    f.StudentFactory.create_batch(25, classroom=classroom, village=world.village)
    with CaptureQueriesContext(connection) as large:
        response = client.get(target)
    assert response.status_code == 200
    assert student_links(response.content.decode()) == 30
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(large) <= 10


def test_student_list_query_count_does_not_grow(world, visit, client):
    client.force_login(world.bureau, backend=MODEL_BACKEND)
    client.get(url("student-list"))  # the scope is read once, then cached
    with CaptureQueriesContext(connection) as small:
        client.get(url("student-list"))
    f.StudentFactory.create_batch(20, classroom=world.class_b)
    with CaptureQueriesContext(connection) as large:
        client.get(url("student-list"))
    assert len(large) == len(small)


# --- students --------------------------------------------------------------------------------


def test_student_list_is_scoped(world, visit):
    everyone = world.students_a + world.students_b + world.students_c
    assert shows(visit(world.bureau, url("student-list")), everyone)
    teacher = visit(world.teacher, url("student-list"))
    assert shows(teacher, world.students_a)
    assert hides(teacher, world.students_b + world.students_c)
    teacher2 = visit(world.teacher2, url("student-list"))
    assert shows(teacher2, world.students_b)
    assert hides(teacher2, world.students_a + world.students_c)
    principal = visit(world.principal, url("student-list"))
    assert shows(principal, world.students_a + world.students_b)
    assert hides(principal, world.students_c)
    cadre = visit(world.cadre, url("student-list"))
    assert shows(cadre, [*world.students_a, world.students_c[2]])
    assert hides(cadre, world.students_b + world.students_c[:2])


def test_outsider_student_list_is_empty(world, visit):
    response = visit(world.outsider, url("student-list"))
    assert "暂无学生" in html(response)
    assert hides(response, world.students_a + world.students_b + world.students_c)


@pytest.fixture
def zhuge(world):
    return f.StudentFactory(classroom=world.class_a, village=world.village, name="诸葛亮", student_no="G99887766554433")


@pytest.mark.parametrize("q", ["诸葛", "zgl", "ZG", "zhuge", "G99887766554433", "g99887766554433"])
def test_student_search_by_name_pinyin_initials_and_student_no(world, visit, zhuge, q):
    response = visit(world.teacher, url("student-list"), q=q)
    assert shows(response, [zhuge])
    assert hides(response, world.students_a)


def test_search_never_finds_students_out_of_scope(world, visit, zhuge):
    for q in ("诸葛", "zgl", "G99887766554433"):
        response = visit(world.teacher2, url("student-list"), q=q)
        assert hides(response, [zhuge])
        assert "没有符合条件的学生" in html(response)


def test_student_list_status_and_class_filters(world, visit):
    dropped = world.students_b[0]
    dropped.status = Student.Status.DROPPED_OUT
    dropped.save()
    response = visit(world.principal, url("student-list"), status="dropped_out")
    assert shows(response, [dropped])
    assert hides(response, world.students_a + world.students_b[1:])

    response = visit(world.principal, url("student-list"), classroom=world.class_b.pk)
    assert shows(response, world.students_b)
    assert hides(response, world.students_a)
    # Filtering on a class outside the scope finds nothing rather than leaking it.
    response = visit(world.teacher, url("student-list"), classroom=world.class_b.pk)
    assert hides(response, world.students_b)
    assert f'value="{world.class_b.pk}"' not in html(response)


def test_student_list_ignores_garbage_filters(world, visit):
    response = visit(world.teacher, url("student-list"), classroom="x", school="'", status="nope", page="zz")
    assert shows(response, world.students_a)


def test_student_detail_owner_colleague_outsider(world, visit):
    student = world.students_a[0]
    assert student.name in html(visit(world.teacher, url("student-detail", student.pk)))
    assert visit(world.teacher2, url("student-detail", student.pk)).status_code == 404
    assert visit(world.outsider, url("student-detail", student.pk)).status_code == 404
    assert visit(world.principal2, url("student-detail", student.pk)).status_code == 404
    assert visit(world.cadre, url("student-detail", world.students_b[0].pk)).status_code == 404
    assert visit(world.cadre, url("student-detail", world.students_c[2].pk)).status_code == 200
    assert visit(world.bureau, url("student-detail", world.students_c[0].pk)).status_code == 200


def test_404_page_is_chinese(world, visit):
    response = visit(world.teacher2, url("student-detail", world.students_a[0].pk))
    assert response.status_code == 404
    assert "页面不存在或您无权查看" in response.content.decode()


@pytest.mark.parametrize(("who", "full"), [("teacher", False), ("cadre", False), ("principal", True), ("bureau", True)])
def test_id_number_masked_for_teachers_and_cadres(world, visit, who, full):
    student = world.students_a[0]
    page = html(visit(getattr(world, who), url("student-detail", student.pk)))
    masked = idnumber.mask(student.id_number)
    assert (student.id_number in page) is full
    assert (masked in page) is not full
    assert student.id_number[-4:] in page


def test_student_detail_shows_guardians_groups_and_history(world, visit):
    student = world.students_a[0]
    f.GuardianFactory(student=student, name="张建国", relation="父亲", phone="13912345678")
    student.left_behind = True
    student.status = Student.Status.SUSPENDED
    old_id = student.id_number
    student.id_number = idnumber.make_id_number("431226", student.birth_date, 777, False)
    student.save()

    page = html(visit(world.teacher, url("student-detail", student.pk)))
    assert "张建国" in page
    assert "13912345678" in page
    assert "留守" in page
    assert "变更记录" in page
    assert "建立学生档案" in page
    assert re.search(r"学籍状态</span>\s*在读\s*<i class=\"bi bi-arrow-right\"></i>\s*休学", page)
    # The history masks ID numbers exactly like the basic information does.
    assert old_id not in page
    assert student.id_number not in page
    assert idnumber.mask(old_id) in page

    page = html(visit(world.principal, url("student-detail", student.pk)))
    assert old_id in page
    assert student.id_number in page


def test_student_detail_history_names_the_new_class(world, visit):
    student = world.students_a[0]
    student.classroom = world.class_b
    student.save()
    page = html(visit(world.principal, url("student-detail", student.pk)))
    assert world.class_a.name in page
    assert world.class_b.name in page


# --- pagination ------------------------------------------------------------------------------


def test_pagination_keeps_filters(world, visit):
    f.StudentFactory.create_batch(60, classroom=world.class_a, village=world.village)
    first = visit(world.teacher, url("student-list"), status="enrolled")
    page = html(first)
    assert student_links(page) == 50
    assert "status=enrolled&amp;page=2" in page

    second = html(visit(world.teacher, url("student-list"), status="enrolled", page=2))
    assert student_links(second) == 63 - 50
    assert "status=enrolled&amp;page=1" in second


def test_home_sections_paginate_independently(world, visit):
    f.StudentFactory.create_batch(55, classroom=world.class_a, village=world.village)
    page = html(visit(world.teacher, url("home")))
    assert student_links(page) == 50
    assert "students_page=2" in page


# --- login, lockout, language ----------------------------------------------------------------


def test_login_page_is_chinese(client, world):
    page = html(client.get(url("login")))
    assert "用户名" in page
    assert "密码" in page
    assert 'lang="zh-hans"' in page


def test_login_with_bad_password_shows_chinese_error(client, world):
    page = html(client.post(url("login"), {"username": "teacher", "password": "wrong"}))
    assert "用户名或密码错误" in page


def test_login_then_home(client, world):
    response = client.post(url("login"), {"username": "teacher", "password": PASSWORD})
    assert response.status_code == 302
    assert "七年级(1)班" in html(client.get(response["Location"]))


def test_repeated_failed_logins_lock_the_account(client, world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url("login"), {"username": "teacher", "password": "wrong"})
    response = client.post(url("login"), {"username": "teacher", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多,账号已被暂时锁定,请30分钟后再试或联系管理员" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_language_switch_to_english(client, world):
    client.force_login(world.teacher, backend=MODEL_BACKEND)
    assert "我的班级" in html(client.get(url("home")))
    response = client.post(reverse("set_language"), {"language": "en", "next": url("home")})
    assert response.status_code == 302
    page = html(client.get(url("home")))
    assert 'lang="en"' in page
    assert "My class" in page
    assert "我的班级" not in page
    assert "Dropout Control" in page


def test_pagination_include_also_takes_a_plain_page_named_page(rf):
    """Other apps' pages pass a plain Paginator page as ``page``; the other filters still survive."""
    request = rf.get("/flags/", {"level": "red", "page": "2"})
    plain = Paginator(list(range(120)), 50).get_page(2)
    with translation.override("zh-hans"):
        out = render_to_string("includes/pagination.html", {"page": plain}, request=request)
    assert "level=red&amp;page=3" in out
    assert "level=red&amp;page=1" in out
    assert "第 2 / 3 页" in out


def test_english_browser_still_gets_chinese_until_switched(world, client):
    client.force_login(world.principal)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "首页" in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Home" in html
