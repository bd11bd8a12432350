"""School days: weekends and official holidays off, make-up workdays on, county closures off."""

import datetime as dt

import pytest

from students.calendar import SchoolCalendar, add_working_days, is_working_day, working_days_between
from tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def calendar(db):
    term = f.TermFactory()
    f.ClosureFactory(county=term.school_year.county, start_date=D(2026, 11, 6), reason="暴雨停课")
    return SchoolCalendar(term.school_year.county_id)


def test_official_holiday_and_makeup_workday():
    assert not is_working_day(D(2026, 10, 1))  # National Day
    assert not is_working_day(D(2026, 10, 3))  # Saturday inside the holiday
    assert is_working_day(D(2026, 10, 10))  # Saturday make-up workday (调休)
    assert not is_working_day(D(2026, 11, 21))  # an ordinary Saturday
    assert is_working_day(D(2026, 11, 23))  # an ordinary Monday


def test_years_without_official_data_fall_back_to_weekdays():
    assert is_working_day(D(2027, 3, 3))  # Wednesday
    assert not is_working_day(D(2027, 3, 6))  # Saturday


def test_school_day_needs_term_and_no_closure(calendar):
    assert calendar.is_school_day(D(2026, 11, 23))
    assert not calendar.is_school_day(D(2026, 11, 6))
    assert calendar.why_not_school_day(D(2026, 11, 6)) == "该日期为本县停课日(暴雨停课)"
    assert not calendar.is_school_day(D(2026, 8, 20))
    assert calendar.why_not_school_day(D(2026, 8, 20)) == "该日期不在学期内"
    assert calendar.why_not_school_day(D(2026, 10, 1)) == "该日期为法定节假日"
    assert calendar.why_not_school_day(D(2026, 11, 21)) == "该日期为周末"
    assert calendar.is_school_day(D(2026, 10, 10))


def test_school_days_between_counts_across_holiday(calendar):
    days = calendar.school_days(D(2026, 9, 28), D(2026, 10, 12))
    # Sept 28-30 (Mon-Wed), Oct 1-7 National Day off, Oct 8-9 Thu-Fri, Oct 10 Saturday make-up,
    # Oct 11 Sunday off, Oct 12 Monday.
    expected = [(9, 28), (9, 29), (9, 30), (10, 8), (10, 9), (10, 10), (10, 12)]
    assert days == [D(2026, month, day) for month, day in expected]


def test_last_school_days_skip_weekend(calendar):
    assert calendar.last_school_days(D(2026, 11, 23), 3) == [D(2026, 11, 19), D(2026, 11, 20), D(2026, 11, 23)]


def test_working_day_deadlines():
    # Three working days after Friday 2026-11-20 is Wednesday 2026-11-25.
    assert add_working_days(D(2026, 11, 20), 3) == D(2026, 11, 25)
    assert working_days_between(D(2026, 11, 20), D(2026, 11, 25)) == 3
