"""The demo's case plans (casework/demo.py): every step of a state has happened by the time the demo is built."""

import datetime as dt
import random
import zoneinfo

import pytest
import time_machine

from casework import demo
from students.calendar import SchoolCalendar

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", demo.FIRST_SCHOOL_STATES)
@pytest.mark.parametrize(
    "as_of",
    [dt.date(2026, 10, 30), dt.date(2026, 11, 13), dt.date(2026, 11, 25), dt.date(2026, 12, 2), dt.date(2026, 12, 18)],
)
def test_no_step_is_planned_later_than_now_on_a_demo_built_today(world, term, state, as_of):
    """Built at 07:00 on a school day, before anyone is at work: every step is on an earlier day."""
    calendar = SchoolCalendar(world.county.pk)
    days = calendar.school_days(calendar.term_of(as_of)[0], as_of)
    seven = dt.datetime.combine(as_of, dt.time(7), tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(seven, tick=False):
        timelines = [demo._fit(state, days, as_of, 20, random.Random(seed)) for seed in range(30)]
    fitted = [t for t in timelines if t is not None]  # None: the term so far is too short for the state
    assert fitted or as_of < dt.date(2026, 11, 1)
    late = [t["end"] for t in fitted if t["end"] >= as_of]
    assert late == []
