"""Shared fixtures, and the one place that decides whether real services are required.

``world`` is a small county with the six demo roles of DESIGN.md §8. Helpers that tests call
directly live in ``tests/helpers.py``; factories in ``tests/factories.py``.

Real services: tests marked ``postgres`` (row locking, concurrency), ``celery_worker`` (a real
worker against Redis) and ``browser`` (a real Chromium) need them. A developer's quick ``pytest``
(SQLite, no Redis) skips those tests; under ``make test`` (scripts/with-services.sh exports
``KC_REQUIRE_SERVICES=1``) and in CI (``CI`` set) a missing service fails them instead, so a broken
setup cannot pass silently.
"""

import datetime as dt
import os
from pathlib import Path
from typing import NoReturn

import pytest
from rest_framework.test import APIClient

from students.models import Post

from . import factories as f
from .helpers import World, at

pytest_plugins = ["pytester"]  # tests/test_services_required.py runs pytest inside pytest

REQUIRE_SERVICES = "KC_REQUIRE_SERVICES"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


# --- real services ----------------------------------------------------------------------------


def _switched_on(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def services_required() -> str:
    """Why real services are required here ("" when they are not): ``CI`` or ``KC_REQUIRE_SERVICES`` set."""
    if _switched_on(os.environ.get("CI")):
        return "CI is set"
    if _switched_on(os.environ.get(REQUIRE_SERVICES)):
        return f"{REQUIRE_SERVICES} is set, as make test and scripts/with-services.sh do"
    return ""


def missing_service(what: str) -> NoReturn:
    """The test cannot run without ``what``: fail when services are required, else skip."""
    why = services_required()
    if why:
        pytest.fail(f"{what}, and real services are required ({why})", pytrace=False)
    pytest.skip(f"{what} (run through scripts/with-services.sh or make test)")


def require_postgres() -> None:
    """Skip or fail (see ``missing_service``) unless the test database is PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        missing_service(f"needs PostgreSQL but the database is {connection.vendor} (DATABASE_URL not set)")


def require_redis() -> str:
    """The Redis URL; skip or fail (see ``missing_service``) when there is none."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        missing_service("needs Redis but REDIS_URL is not set")
    return url


def require_chromium() -> Path:
    """Chromium's path; skip or fail (see ``missing_service``) when it is not installed."""
    if not CHROMIUM.exists():
        missing_service(f"needs Chromium but there is none at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    return CHROMIUM


REQUIREMENTS = {"postgres": require_postgres, "celery_worker": require_redis, "browser": require_chromium}


@pytest.fixture(autouse=True)
def _real_services(request: pytest.FixtureRequest) -> None:
    """A test marked ``postgres``, ``celery_worker`` or ``browser`` checks its service before its own fixtures.

    A fixture rather than a setup hook, so that a skip is reported at the test, not here.
    """
    for marker, require in REQUIREMENTS.items():
        if request.node.get_closest_marker(marker):
            require()


@pytest.fixture
def redis_url() -> str:
    """The real Redis of ``make test`` (mark the test ``celery_worker``)."""
    return require_redis()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """The real Chromium of ``make test`` (mark the test ``browser``)."""
    return require_chromium()


# --- the world --------------------------------------------------------------------------------


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
        cadre2=person("cadre2", Post.Role.CADRE, township=other_township),
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
    from students.calendar import forget_calendars, forget_record

    forget_calendars()
    forget_record()
    yield
    forget_calendars()
    forget_record()


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


@pytest.fixture
def own_redis_db(worker_id) -> str:
    """A database of the suite's real Redis for this test process alone (2, 3, … per xdist worker), flushed."""
    import redis

    number = 2 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
    url = require_redis().rsplit("/", 1)[0] + f"/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def redis_cache(settings, own_redis_db):
    """The cache on the suite's real Redis, configured as production configures it."""
    from django.core.cache import cache

    from config.settings.base import cache_settings

    settings.CACHES = cache_settings(own_redis_db)
    cache.clear()
    yield cache
    cache.clear()
    cache.close()
