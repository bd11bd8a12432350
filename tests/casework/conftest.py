"""Casework's own fixtures. Cases are built by ``tests.helpers.build_case`` (through the services)."""

import pytest

from tests.helpers import build_case


@pytest.fixture
def case_in(world, term):
    """``case_in(state, student=None, day=...)``: a case of ``student`` (default: a0) in ``state``."""

    def make(state, student=None, **kwargs):
        return build_case(world, student or world.students_a[0], state, **kwargs)

    return make
