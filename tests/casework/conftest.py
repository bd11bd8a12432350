"""Casework's own fixtures. Cases are built by ``tests.helpers.build_case`` (through the services)."""

import pytest

from casework.models import ScreeningRun
from casework.screening import services as screening
from tests.helpers import build_case


@pytest.fixture
def case_in(world, term):
    """``case_in(state, student=None, day=...)``: a case of ``student`` (default: a0) in ``state``."""

    def make(state, student=None, **kwargs):
        return build_case(world, student or world.students_a[0], state, **kwargs)

    return make


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Files a test writes (registers, evidence) go to a folder of its own, never the project's media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def run_import(django_capture_on_commit_callbacks, media):
    """``run_import(user, upload, **kwargs)``: a register imported and compared (its job runs on commit)."""

    def run(user, upload, **kwargs) -> ScreeningRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = screening.start_import(user=user, upload=upload, **kwargs)
        run.refresh_from_db()
        return run

    return run
