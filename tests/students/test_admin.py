"""Django admin: everything for superusers, scoped for staff who are not."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from students import idnumber
from tests import factories as f

pytestmark = pytest.mark.django_db


def make_staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="students"))
    return user


def test_superuser_sees_every_student(world, client):
    admin = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    page = client.get(reverse("admin:students_student_changelist"))
    assert page.status_code == 200
    for student in world.students_a + world.students_c:
        assert student.student_no in page.content.decode()


def test_staff_principal_sees_only_own_school_in_admin(world, client):
    client.force_login(make_staff(world.principal))
    page = client.get(reverse("admin:students_student_changelist")).content.decode()
    for student in world.students_a + world.students_b:
        assert student.student_no in page
    for student in world.students_c:
        assert student.student_no not in page
    outside = world.students_c[0]
    assert client.get(reverse("admin:students_student_change", args=[outside.pk])).status_code == 302
    schools = client.get(reverse("admin:students_school_changelist")).content.decode()
    assert world.school.name in schools
    assert world.school2.name not in schools


def test_staff_teacher_sees_masked_id_numbers_in_admin(world, client):
    client.force_login(make_staff(world.teacher))
    page = client.get(reverse("admin:students_student_changelist")).content.decode()
    student = world.students_a[0]
    assert student.id_number not in page
    assert "*" * 14 + student.id_number[-4:] in page
    change = client.get(reverse("admin:students_student_change", args=[student.pk])).content.decode()
    assert student.id_number not in change
    # The 全国学籍号 is "G" + the 身份证号: masked the same way, and no search by its digits.
    assert student.student_no not in page
    assert student.student_no not in change
    assert idnumber.mask(student.student_no) in page
    found = client.get(reverse("admin:students_student_changelist"), {"q": student.student_no[:12]})
    assert found.context["cl"].result_count == 0


def test_admin_search_by_pinyin_initials(world, client):
    admin = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    target = f.StudentFactory(classroom=world.class_a, name="欧阳娜娜")
    client.force_login(admin)
    page = client.get(reverse("admin:students_student_changelist"), {"q": "oynn"}).content.decode()
    assert target.student_no in page


def test_every_admin_page_opens_for_a_superuser(world, client):
    from django.contrib import admin

    from students.attendance import risk

    risk.raise_manual_flag(
        user=world.teacher, student_id=world.students_a[0].pk, category="weary", level="red", note="x"
    )
    client.force_login(f.UserFactory(username="root", is_superuser=True, is_staff=True))
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change
