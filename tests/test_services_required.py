"""A missing service skips a developer's quick run and fails under ``make test`` and CI (tests/conftest.py).

Every check catches ``BaseException``: if the mechanism skipped where it must fail, the skip is
caught and the assertion fails, instead of this test being skipped itself.
"""

from collections.abc import Callable

import pytest
from django.db import connection

from tests.conftest import REQUIRE_SERVICES, missing_service, require_postgres, require_redis, services_required

QUICK_RUN: dict[str, str] = {}
MAKE_TEST = {REQUIRE_SERVICES: "1"}
CI = {"CI": "true"}


def environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Exactly ``env`` of the service switches (the run's own CI / KC_REQUIRE_SERVICES are dropped)."""
    for name in ("CI", REQUIRE_SERVICES):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def outcome(check: Callable[[], object]) -> tuple[type[BaseException] | None, str]:
    """What ``check`` ends with: the exception type it raised (None if it returned) and its message."""
    try:
        check()
    except BaseException as exc:  # pytest's skip and fail are BaseExceptions
        return type(exc), str(exc)
    return None, ""


@pytest.mark.parametrize(
    ("env", "required"),
    [
        (QUICK_RUN, False),
        (MAKE_TEST, True),
        (CI, True),
        ({"CI": "1"}, True),
        ({"CI": "false", REQUIRE_SERVICES: "0"}, False),
    ],
)
def test_services_are_required_under_make_test_and_ci(monkeypatch, env, required):
    environment(monkeypatch, env)
    assert bool(services_required()) is required


def test_a_quick_local_run_skips(monkeypatch):
    environment(monkeypatch, QUICK_RUN)
    kind, message = outcome(lambda: missing_service("needs a thing"))
    assert kind is pytest.skip.Exception
    assert "needs a thing" in message


@pytest.mark.parametrize("env", [MAKE_TEST, CI], ids=["make-test", "ci"])
def test_a_missing_service_fails_when_services_are_required(monkeypatch, env):
    environment(monkeypatch, env)
    kind, message = outcome(lambda: missing_service("needs a thing"))
    assert kind is pytest.fail.Exception
    assert "needs a thing" in message
    assert "real services are required" in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [(QUICK_RUN, pytest.skip.Exception), (MAKE_TEST, pytest.fail.Exception)],
    ids=["quick-run", "make-test"],
)
def test_sqlite_and_no_redis(monkeypatch, env, expected):
    environment(monkeypatch, env)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert outcome(require_postgres)[0] is expected
    assert outcome(require_redis)[0] is expected


def test_real_services_pass(monkeypatch):
    environment(monkeypatch, MAKE_TEST)
    monkeypatch.setattr(connection, "vendor", "postgresql")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert outcome(require_postgres) == (None, "")
    assert require_redis() == "redis://127.0.0.1:6379/0"


MARKED = """
import pytest

@pytest.mark.postgres
def test_row_locking():
    pass

@pytest.mark.celery_worker
def test_real_worker():
    pass

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("env", "outcomes"),
    [
        (QUICK_RUN, {"passed": 1, "skipped": 2}),
        (MAKE_TEST, {"passed": 1, "errors": 2}),
        (CI, {"passed": 1, "errors": 2}),
    ],
    ids=["quick-run", "make-test", "ci"],
)
def test_marked_tests_skip_or_fail_in_a_real_run(pytester, monkeypatch, env, outcomes):
    """The ``postgres`` and ``celery_worker`` markers, as a real pytest run reports them (SQLite, no Redis)."""
    environment(monkeypatch, env)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.delenv("REDIS_URL", raising=False)
    pytester.makeconftest(
        "from tests.conftest import _real_services  # noqa: F401\n"
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'postgres: needs PostgreSQL')\n"
        "    config.addinivalue_line('markers', 'celery_worker: needs Redis')\n"
    )
    pytester.makepyfile(MARKED)
    result = pytester.runpytest_inprocess("-p", "no:django", "-p", "no:cacheprovider", "--strict-markers", "-rs")
    result.assert_outcomes(**outcomes)
    if "errors" in outcomes:
        result.stdout.fnmatch_lines(["*needs PostgreSQL but the database is sqlite*real services are required*"])
    else:  # reported at the test, so a developer sees which tests did not run
        result.stdout.fnmatch_lines(["SKIPPED * test_marked_*.py:*: needs PostgreSQL*"])
