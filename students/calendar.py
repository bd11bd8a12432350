"""School days and working days.

Working days follow the State Council's official calendar (``chinesecalendar``): weekends and
official holidays are off, official make-up workdays (调休) are on. A school day is a working
day inside a term that is not a county closure. Every "N days" rule counts school days; every
deadline counts working days.
"""

import datetime as dt
import functools
import logging
import time

import chinese_calendar
from django.db.models.signals import post_delete, post_save

from .models import Closure, Term

logger = logging.getLogger(__name__)
ONE_DAY = dt.timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # The package knows only the years the State Council has published. Until it is
        # updated, later years count weekdays only; counties enter known holidays as closures.
        logger.warning("chinesecalendar has no data for %s; counting weekdays only", day.year)
        return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += ONE_DAY
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    count = 0
    day = start
    while day < end:
        day += ONE_DAY
        count += is_working_day(day)
    return count


class SchoolCalendar:
    """One county's school calendar, loaded once and asked many times."""

    def __init__(self, county_id: int):
        self.county_id = county_id
        self.terms = list(
            Term.objects.filter(school_year__county_id=county_id)
            .order_by("start_date")
            .values_list("start_date", "end_date")
        )
        self.closures = list(
            Closure.objects.filter(county_id=county_id).values_list("start_date", "end_date", "reason")
        )

    def term_of(self, day: dt.date) -> tuple[dt.date, dt.date] | None:
        for start, end in self.terms:
            if start <= day <= end:
                return start, end
        return None

    def closure_on(self, day: dt.date) -> str | None:
        for start, end, reason in self.closures:
            if start <= day <= end:
                return reason
        return None

    def is_school_day(self, day: dt.date) -> bool:
        return self.term_of(day) is not None and is_working_day(day) and self.closure_on(day) is None

    def why_not_school_day(self, day: dt.date) -> str | None:
        """A plain-Chinese reason, or None when the day is a school day."""
        if self.term_of(day) is None:
            return "该日期不在学期内"
        reason = self.closure_on(day)
        if reason:
            return f"该日期为本县停课日({reason})"
        if not is_working_day(day):
            try:
                on_holiday, name = chinese_calendar.get_holiday_detail(day)
            except NotImplementedError:
                on_holiday, name = True, None
            if on_holiday and name:
                return "该日期为法定节假日"
            return "该日期为周末"
        return None

    def school_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        days = []
        day = start
        while day <= end:
            if self.is_school_day(day):
                days.append(day)
            day += ONE_DAY
        return days

    def last_school_days(self, end: dt.date, count: int, *, limit_days: int = 400) -> list[dt.date]:
        """The ``count`` most recent school days up to and including ``end``, oldest first."""
        days: list[dt.date] = []
        day = end
        for _ in range(limit_days):
            if len(days) == count:
                break
            if self.is_school_day(day):
                days.append(day)
            day -= ONE_DAY
        return list(reversed(days))


_CALENDAR_TTL_SECONDS = 60
_calendars: dict[int, tuple[float, SchoolCalendar]] = {}


def cached_school_calendar(county_id: int) -> SchoolCalendar:
    """A county's calendar, reloaded at most once a minute (and at once after a change in this process)."""
    now = time.monotonic()
    hit = _calendars.get(county_id)
    if hit is None or now - hit[0] > _CALENDAR_TTL_SECONDS:
        hit = (now, SchoolCalendar(county_id))
        _calendars[county_id] = hit
    return hit[1]


def forget_calendars(**_kwargs) -> None:
    _calendars.clear()


for _model in (Term, Closure):
    post_save.connect(forget_calendars, sender=_model, dispatch_uid=f"forget_calendars_save_{_model.__name__}")
    post_delete.connect(forget_calendars, sender=_model, dispatch_uid=f"forget_calendars_delete_{_model.__name__}")
