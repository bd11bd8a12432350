"""Shared fixtures. ``world`` is a small county with the six demo roles of DESIGN.md §8.

Helpers that tests call directly live in ``tests/helpers.py``; factories in ``tests/factories.py``.
"""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from students.models import Post

from . import factories as f
from .helpers import World, at


def make_world() -> World:
    county = f.CountyFactory()
    township = f.TownshipFactory(county=county, name="清溪镇")
    village = f.VillageFactory(township=township, name="石门村")
    other_township = f.TownshipFactory(county=county, name="白沙乡")
    other_village = f.VillageFactory(township=other_township, name="柳树村")
    school = f.SchoolFactory(county=county, township=township, name="清溪镇中学", code="S00001")
    school2 = f.SchoolFactory(county=county, township=other_township, name="白沙乡中学", code="S00002")
    class_a = f.ClassroomFactory(grade=f.GradeFactory(school=school, level=7), number=1)
    class_b = f.ClassroomFactory(grade=f.GradeFactory(school=school, level=7), number=2)
    class_c = f.ClassroomFactory(grade=f.GradeFactory(school=school2, level=7), number=1)
    # Class A students live in 清溪镇 (the cadre's township); class B and C students elsewhere.
    students_a = [f.StudentFactory(classroom=class_a, village=village) for _ in range(3)]
    students_b = [f.StudentFactory(classroom=class_b, village=other_village) for _ in range(3)]
    students_c = [f.StudentFactory(classroom=class_c, village=other_village) for _ in range(2)]
    # One class C student lives in the cadre's township: the cadre sees them, not their classmates.
    students_c.append(f.StudentFactory(classroom=class_c, village=village))

    def person(username, role, **scope):
        user = f.UserFactory(username=username)
        f.PostFactory(user=user, role=role, county=county, **scope)
        return user

    return World(
        county=county,
        township=township,
        village=village,
        other_township=other_township,
        other_village=other_village,
        school=school,
        school2=school2,
        class_a=class_a,
        class_b=class_b,
        class_c=class_c,
        students_a=students_a,
        students_b=students_b,
        students_c=students_c,
        bureau=person("bureau", Post.Role.BUREAU),
        principal=person("principal", Post.Role.PRINCIPAL, school=school),
        teacher=person("teacher", Post.Role.CLASS_TEACHER, classroom=class_a),
        teacher2=person("teacher2", Post.Role.CLASS_TEACHER, classroom=class_b),
        principal2=person("principal2", Post.Role.PRINCIPAL, school=school2),
        cadre=person("cadre", Post.Role.CADRE, township=township),
        outsider=f.UserFactory(username="outsider"),
    )


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` authenticates it."""

    class Client(APIClient):
        def as_user(self, user):
            self.force_authenticate(user=user)
            return self

    return Client()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_calendars():
    """Calendars are cached per county in-process; tests build their own counties."""
    from students.calendar import forget_calendars

    forget_calendars()
    yield
    forget_calendars()


@pytest.fixture
def today():
    """Freeze the clock on a school day: Wednesday 2026-11-25, 10:00 in Shanghai."""
    day = dt.date(2026, 11, 25)
    with at(day):
        yield day


@pytest.fixture
def term(world):
    """The autumn term 2026 of the world's county."""
    return f.TermFactory(school_year=f.SchoolYearFactory(county=world.county))
