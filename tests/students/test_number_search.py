"""Issue 12, item 2: a masked 身份证号 / 学籍号 cannot be recovered by searching.

A teacher sees ``**************0013`` but could ask ``?q=<first 13 digits><d>`` for d = 0…9 and
watch which answer holds the student. Roles that see masked numbers find by the whole number
only; roles that see full numbers (bureau, principal) keep the prefix search.
"""

import pytest
from django.urls import reverse

from casework.selectors import case_list
from students.selectors import student_list
from tests.helpers import build_case

pytestmark = pytest.mark.django_db
STUDENTS = reverse("api-student-list")


def found(api, user, q) -> set[int]:
    response = api.as_user(user).get(STUDENTS, {"q": q})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("number", ["id_number", "student_no"])
def test_a_teacher_cannot_walk_the_digits_of_a_masked_number(world, api, number):
    student = world.students_a[0]
    value = getattr(student, number)
    head = value[:-5]
    hits = [d for d in "0123456789" if student.pk in found(api, world.teacher, head + d)]
    assert hits == []  # no answer tells the next digit
    assert found(api, world.teacher, value) == {student.pk}  # the whole number still finds the student


def test_the_page_and_the_case_list_follow_the_same_rule(world, term):
    student = world.students_a[0]
    prefix = student.id_number[:14]
    assert not student_list(world.teacher, q=prefix).filter(pk=student.pk).exists()
    assert student_list(world.teacher, q=student.id_number).filter(pk=student.pk).exists()
    case = build_case(world, student, "suspected")
    assert case.pk not in {c.pk for c in case_list(world.teacher, q=student.student_no[:12])}
    assert case.pk in {c.pk for c in case_list(world.teacher, q=student.student_no)}
    assert case.pk in {c.pk for c in case_list(world.principal, q=student.student_no[:12])}


def test_roles_that_see_full_numbers_keep_the_prefix_search(world, api):
    student = world.students_a[0]
    assert student.pk in found(api, world.principal, student.id_number[:10])
    assert student.pk in found(api, world.bureau, student.student_no[:8])
