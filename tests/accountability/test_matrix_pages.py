"""The 包保 page (issue 13, item 1): gaps with a form to fill each, the leading group, the rows."""

import pytest
from django.urls import reverse

from accountability.models import LeadingGroup, Responsibility
from tests import factories as f

pytestmark = pytest.mark.django_db
URL = reverse("accountability:matrix")


@pytest.fixture
def year(world, term, today):
    return term.school_year


def test_principal_fills_a_gap_from_the_page_and_it_is_gone(world, year, client):
    student = world.students_a[0]
    f.RiskFlagFactory(student=student, level="red")
    client.force_login(world.principal)
    page = client.get(URL).content.decode()
    assert f'data-gap-student="{student.pk}"' in page
    assert 'data-gap-count="3"' in page  # the student, and classes A and B with no leader
    answer = client.post(
        URL,
        {
            "action": "add",
            "target_kind": "student",
            "target": student.pk,
            "line": "education",
            "person": world.teacher.pk,
        },
    )
    assert answer.status_code == 302
    assert Responsibility.objects.filter(student=student, person=world.teacher, line="education").exists()
    client.post(
        URL,
        {"action": "add", "target": f"classroom:{world.class_a.pk}", "line": "education", "person": world.teacher.pk},
    )
    client.post(
        URL,
        {
            "action": "add",
            "target": f"grade:{world.class_b.grade_id}",
            "line": "education",
            "person": world.principal.pk,
        },
    )
    page = client.get(URL).content.decode()
    assert "data-gap-classroom" not in page
    assert f'data-gap-student="{student.pk}"' in page  # the administrative line is still open
    client.post(
        URL,
        {
            "action": "add",
            "target_kind": "student",
            "target": student.pk,
            "line": "administrative",
            "person": world.cadre.pk,
        },
    )
    page = client.get(URL).content.decode()
    assert 'id="no-gaps"' in page


def test_a_refused_name_is_a_message_and_nothing_is_written(world, year, client):
    client.force_login(world.principal)
    answer = client.post(
        URL,
        {
            "action": "add",
            "target_kind": "student",
            "target": world.students_a[0].pk,
            "line": "education",
            "person": world.principal2.pk,
        },
        follow=True,
    )
    assert "本校" in answer.content.decode()
    assert not Responsibility.objects.exists()
    # Another school's student does not exist for principal2's page.
    client.force_login(world.principal2)
    answer = client.post(
        URL,
        {
            "action": "add",
            "target_kind": "student",
            "target": world.students_a[0].pk,
            "line": "education",
            "person": world.principal2.pk,
        },
    )
    assert answer.status_code == 404


def test_leading_group_from_the_page(world, year, client):
    client.force_login(world.principal)
    assert 'id="no-group"' in client.get(URL).content.decode()
    client.post(
        URL,
        {
            "action": "group",
            "leader": world.principal.pk,
            "members": [world.teacher.pk, world.teacher2.pk],
            "duties": "全面负责",
        },
    )
    group = LeadingGroup.objects.get()
    assert sorted(m.user_id for m in group.members.all()) == sorted([world.teacher.pk, world.teacher2.pk])
    assert "全面负责" in client.get(URL).content.decode()


def test_teacher_and_cadre_see_their_own_rows_only(world, year, client):
    from accountability.matrix import services

    services.add_responsibility(
        user=world.principal,
        person_id=world.teacher.pk,
        line="education",
        target_kind="student",
        target_id=world.students_a[1].pk,
    )
    client.force_login(world.teacher)
    page = client.get(URL).content.decode()
    assert world.students_a[1].name in page
    assert "包保责任明细" not in page
    client.force_login(world.cadre)
    assert 'id="no-rows"' in client.get(URL).content.decode()
    assert client.post(URL, {"action": "remove", "row": Responsibility.objects.get().pk}).status_code == 404
    assert Responsibility.objects.exists()
