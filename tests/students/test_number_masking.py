"""Issue 12, item 1: the 学籍号 ("G" + the 身份证号) is masked wherever the 身份证号 is.

Teachers and cadres see both numbers masked but for their last four characters: API, student and
case pages, the printed forms, the student's history, search results, ledgers and weekly reports.
Principals and the bureau see them whole.
"""

import pytest
from django.test import Client
from django.urls import reverse

from students import idnumber
from tests.helpers import build_case

pytestmark = pytest.mark.django_db


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def student(world):
    return world.students_a[0]


@pytest.fixture
def case(world, term, student):
    return build_case(world, student, "suspected")


def test_the_api_masks_the_student_no_for_a_teacher(world, api, student):
    for url in (reverse("api-student-detail", args=[student.pk]), reverse("api-student-list")):
        body = api.as_user(world.teacher).get(url).content.decode()
        assert student.student_no not in body, url
        assert student.id_number not in body, url
    row = api.as_user(world.teacher).get(reverse("api-student-detail", args=[student.pk])).json()
    assert row["student_no"] == idnumber.mask(student.student_no)


def test_pages_and_printed_forms_mask_it_for_a_teacher(world, student, case):
    urls = [
        reverse("student-list"),
        reverse("student-detail", args=[student.pk]),
        reverse("classroom-detail", args=[student.classroom_id]),
        reverse("home"),
        reverse("case-detail", args=[case.pk]),
        reverse("case-report", args=[case.pk]),
        reverse("case-print-report", args=[case.pk]),
    ]
    for url in urls:
        text = page(world.teacher, url)
        assert student.student_no not in text, url
        assert student.id_number not in text, url
    assert idnumber.mask(student.student_no) in page(world.teacher, reverse("student-detail", args=[student.pk]))
    # A search by the whole number finds the student and lists the number masked (the page echoes
    # only what the teacher typed, in the search box and links).
    found = page(world.teacher, reverse("student-list") + f"?q={student.student_no}")
    assert f">{idnumber.mask(student.student_no)}<" in found


def test_the_history_masks_a_former_student_no(world, student):
    old = student.student_no
    student.student_no = "G431226201301019999"
    student.save()
    text = page(world.teacher, reverse("student-detail", args=[student.pk]))
    assert old not in text
    assert idnumber.mask(old) in text


def test_a_cadre_sees_it_masked_too(world, api, student):
    body = api.as_user(world.cadre).get(reverse("api-student-list")).content.decode()
    assert student.student_no not in body
    assert idnumber.mask(student.student_no) in body


def test_principal_and_bureau_see_it_whole(world, api, student, case):
    for user in (world.principal, world.bureau):
        row = api.as_user(user).get(reverse("api-student-detail", args=[student.pk])).json()
        assert row["student_no"] == student.student_no
        assert student.student_no in page(user, reverse("case-print-report", args=[case.pk]))
