"""Attendance and warning rules asked of their service by pages, admin and each other."""

import pytest
from django.urls import reverse

from students.attendance import risk
from students.errors import OutOfScope
from students.models import Post, RiskRule
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_only_the_bureau_changes_early_warning_rules_even_when_the_service_is_called_directly(world, term):
    for user in (world.principal, world.teacher, world.cadre, world.outsider):
        assert not risk.can_change_rules(user, world.county.pk)
        with pytest.raises(OutOfScope):
            risk.update_rule(county=world.county, code="consecutive_absence", params={"days": 2}, level="red", by=user)
    assert not RiskRule.objects.filter(county=world.county, version__gt=1).exists()
    assert risk.can_change_rules(world.bureau, world.county.pk)
    rule = risk.update_rule(
        county=world.county, code="consecutive_absence", params={"days": 2}, level="red", by=world.bureau
    )
    assert rule.version == 2


def test_flag_page_offers_exactly_the_moves_the_service_accepts(world, term, client):
    flag = f.RiskFlagFactory(student=world.students_a[0], level="red", rule_code="consecutive_absence")
    assert risk.flag_actions(flag) == {"acknowledge": True, "resolve": True, "dismiss": True}
    risk.handle_flag(user=world.teacher, flag_id=flag.pk, action="acknowledge")
    flag.refresh_from_db()
    assert risk.flag_actions(flag) == {"acknowledge": False, "resolve": True, "dismiss": True}
    client.force_login(world.teacher)
    page = client.get(reverse("risk-flag-detail", args=[flag.pk])).content.decode()
    assert reverse("risk-flag-action", args=[flag.pk, "resolve"]) in page
    assert reverse("risk-flag-action", args=[flag.pk, "acknowledge"]) not in page

    risk.handle_flag(user=world.teacher, flag_id=flag.pk, action="resolve")
    flag.refresh_from_db()
    assert not any(risk.flag_actions(flag).values())
    page = client.get(reverse("risk-flag-detail", args=[flag.pk])).content.decode()
    assert reverse("risk-flag-action", args=[flag.pk, "dismiss"]) not in page


def test_class_teachers_of_classrooms_come_from_one_lookup(world):
    f.PostFactory(
        user=f.UserFactory(username="co", display_name="副班主任"), role="class_teacher", classroom=world.class_a
    )
    names = Post.objects.class_teachers().filter(classroom__in=[world.class_a, world.class_b]).names_by_classroom()
    assert names[world.class_a.pk][0] == str(world.teacher)
    assert "副班主任" in names[world.class_a.pk]
    assert names[world.class_b.pk] == [str(world.teacher2)]
    assert names[world.class_c.pk] == []


def test_history_names_of_former_places_only_for_a_student_in_scope(world):
    from students import scoping

    student = world.students_a[0]
    wanted = {"school": {world.school2.pk}, "classroom": {world.class_c.pk}, "village": set()}
    names = scoping.history_names(world.teacher, student, wanted)
    assert names["school"] == {world.school2.pk: str(world.school2)}
    assert names["classroom"] == {world.class_c.pk: str(world.class_c)}
    assert scoping.history_names(world.teacher2, student, wanted) == {}
    assert scoping.history_names(world.outsider, student, wanted) == {}


def test_one_manageable_classroom_follows_the_queryset_rule(world):
    from students import scoping

    f.PostFactory(user=world.cadre, role="class_teacher", county=world.county, classroom=world.class_c)
    people = [
        world.bureau,
        world.principal,
        world.teacher,
        world.teacher2,
        world.principal2,
        world.cadre,
        world.outsider,
    ]
    for user in people:
        scoping.forget_scope(user)
        expected = set(scoping.manageable_classrooms(user).values_list("pk", flat=True))
        for classroom in (world.class_a, world.class_b, world.class_c):
            found = scoping.manageable_classroom(user, classroom.pk)
            assert (found is not None) == (classroom.pk in expected), (user, classroom)
    assert scoping.manageable_classroom(world.bureau, 10**9) is None
