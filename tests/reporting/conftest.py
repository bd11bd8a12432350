"""Reporting's shared fixtures."""

import datetime as dt

import pytest

from tests.helpers import report


@pytest.fixture
def attendance(world, term):
    """Class A reported Monday–Friday of W47, one student absent (旷课) on Monday."""
    monday = dt.date(2026, 11, 16)
    for n in range(5):
        report(world.class_a, monday + dt.timedelta(days=n), [world.students_a[0]] if n == 0 else [], by=world.teacher)
    return world
