"""Report run machinery: same request → same run, regenerate keeps the old, done runs never change."""

import pytest

from reporting import building, periods, selectors, services
from reporting.models import ReportRun
from students.errors import InvalidInput, OutOfScope

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_builder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    calls = []

    def build(run, progress):
        calls.append(run.pk)
        progress(50)
        if getattr(build, "explode", False):
            raise RuntimeError("boom")
        return building.BuildResult(content=b"xlsx-bytes", filename="r.xlsx", data={"n": len(calls)}, row_count=3)

    previous = services.BUILDERS.get("county_weekly")
    services.BUILDERS["county_weekly"] = build
    yield build, calls
    if previous is None:
        services.BUILDERS.pop("county_weekly")
    else:
        services.BUILDERS["county_weekly"] = previous


def test_request_twice_gives_the_same_run_and_regenerate_keeps_the_old(
    world, fake_builder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = services.request_run(user=world.bureau, kind="county_weekly", period="2026-W47")
    assert created
    first.refresh_from_db()
    assert first.status == "done"
    assert first.progress == 100
    import hashlib

    assert first.checksum == hashlib.sha256(b"xlsx-bytes").hexdigest()
    assert first.file.read() == b"xlsx-bytes"
    assert first.data_as_of is not None
    again, created = services.request_run(user=world.bureau, kind="county_weekly", period="2026-W47")
    assert (again.pk, created) == (first.pk, False)
    with django_capture_on_commit_callbacks(execute=True):
        newer, created = services.request_run(
            user=world.bureau, kind="county_weekly", period="2026-W47", regenerate=True
        )
    assert created
    assert newer.generation == 2
    assert ReportRun.objects.filter(kind="county_weekly").count() == 2
    first.refresh_from_db()
    assert first.data == {"n": 1}


def test_a_finished_run_is_never_changed(world, fake_builder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.request_run(user=world.bureau, kind="county_weekly", period="2026-W47")
    run = ReportRun.objects.get(pk=run.pk)
    run.row_count = 999
    with pytest.raises(ValueError, match="never changed"):
        run.save()
    assert services.execute_run(run.pk).row_count == 3  # executing again leaves it as it was


def test_failed_build_is_marked_failed_and_can_be_requested_again(
    world, fake_builder, django_capture_on_commit_callbacks
):
    build, _calls = fake_builder
    build.explode = True
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.request_run(user=world.bureau, kind="county_weekly", period="2026-W47")
    run.refresh_from_db()
    assert run.status == "failed"
    assert "boom" in run.error
    build.explode = False
    with django_capture_on_commit_callbacks(execute=True):
        retry, created = services.request_run(user=world.bureau, kind="county_weekly", period="2026-W47")
    assert created
    assert retry.generation == 2


@pytest.mark.parametrize("period", ["2026-11", "2026-W99", "nonsense", "2030-W01"])
def test_bad_periods_are_refused(world, period):
    with pytest.raises(InvalidInput):
        services.request_run(user=world.bureau, kind="county_weekly", period=period)


def test_scope_is_checked(world):
    with pytest.raises(OutOfScope):
        services.request_run(user=world.principal2, kind="school_weekly", period="2026-W47", scope_id=world.school.pk)
    with pytest.raises(OutOfScope):
        services.request_run(user=world.principal, kind="county_weekly", period="2026-W47", scope_id=world.county.pk)
    run, _ = services.request_run(user=world.principal, kind="school_weekly", period="2026-W47")
    assert run.scope_id == world.school.pk
    assert list(selectors.runs_visible_to(world.principal2)) == []
    assert list(selectors.runs_visible_to(world.bureau)) == [run]


def test_period_bounds():
    import datetime as dt

    assert periods.period_bounds("2026-W47") == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert periods.period_bounds("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert periods.previous_iso_week(dt.date(2026, 11, 23)) == "2026-W47"
