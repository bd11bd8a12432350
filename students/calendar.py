"""School days and working days.

Working days follow the State Council's official calendar: weekends and official holidays are
off, official make-up workdays (调休) are on. A school day is a working day inside a term that is
not a county closure. Every "N days" rule counts school days; every deadline counts working days.

Where the official calendar comes from, first match wins:

1. the calendar of record (``OfficialDay``): days the bureau entered from the State Council's
   notice, as holidays (休) or make-up workdays (班) — it overrides the package;
2. a year marked complete in the record (``OfficialYear``): its other days follow the week;
3. the ``chinesecalendar`` package, for the years it knows (2004 to its release);
4. otherwise the week alone (Monday–Friday), with a warning in the log; the county dashboard
   warns the bureau when a term touches such a year (:func:`unknown_years`).

The record is read once a minute per process (and at once after a change in this process).
"""

import datetime as dt
import functools
import logging
import time

import chinese_calendar
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import Closure, OfficialDay, OfficialYear, SchoolYear, Term

logger = logging.getLogger(__name__)
ONE_DAY = dt.timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def _package_workday(day: dt.date) -> bool | None:
    """The package's answer, or None for a year it does not know."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


@functools.lru_cache(maxsize=64)
def package_knows(year: int) -> bool:
    return _package_workday(dt.date(year, 7, 1)) is not None


class _Record:
    """The calendar of record as loaded: day → is it a working day, and the years entered in full."""

    def __init__(self) -> None:
        self.loaded_at = time.monotonic()
        entered = list(OfficialDay.objects.values_list("date", "kind", "name"))
        self.days = {day: kind == OfficialDay.Kind.WORKDAY for day, kind, _name in entered}
        self.names = {day: name for day, _kind, name in entered}
        self.years = set(OfficialYear.objects.values_list("year", flat=True))


_RECORD_TTL_SECONDS = 60
_record: _Record | None = None


def _current_record() -> _Record:
    global _record
    if _record is None or time.monotonic() - _record.loaded_at > _RECORD_TTL_SECONDS:
        _record = _Record()
    return _record


def is_working_day(day: dt.date) -> bool:
    record = _current_record()
    entered = record.days.get(day)
    if entered is not None:
        return entered
    if day.year not in record.years:
        known = _package_workday(day)
        if known is not None:
            return known
        _warn_unknown(day.year)
    return day.weekday() < 5


@functools.lru_cache(maxsize=64)
def _warn_unknown(year: int) -> None:
    logger.warning("official calendar unknown for %s (enter it on 法定节假日): counting weekdays only", year)


def year_is_known(year: int) -> bool:
    return year in _current_record().years or package_knows(year)


def holiday_name(day: dt.date) -> str | None:
    """The holiday a day off is for, from the record or the package (None for a weekend)."""
    record = _current_record()
    if record.days.get(day) is False:
        return record.names[day] or "法定节假日"
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return name if on_holiday and name else None


def unknown_years(county_id: int, *, today: dt.date | None = None) -> list[int]:
    """Years touched by the county's current and coming terms whose official calendar nobody knows."""
    today = today or timezone.localdate()
    years: set[int] = set()
    for start, end in Term.objects.filter(school_year__county_id=county_id, end_date__gte=today).values_list(
        "start_date", "end_date"
    ):
        years.update(range(start.year, end.year + 1))
    return sorted(year for year in years if not year_is_known(year))


def forget_record(**_kwargs) -> None:
    global _record
    _record = None


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
        self.school_years = list(SchoolYear.objects.filter(county_id=county_id).order_by("-start_date"))

    def school_year_of(self, day: dt.date) -> SchoolYear | None:
        """The school year ``day`` falls in, else the latest one begun before it."""
        return next((year for year in self.school_years if year.start_date <= day), None)

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
            return "该日期为法定节假日" if holiday_name(day) else "该日期为周末"
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


for _model in (SchoolYear, Term, Closure):
    post_save.connect(forget_calendars, sender=_model, dispatch_uid=f"forget_calendars_save_{_model.__name__}")
    post_delete.connect(forget_calendars, sender=_model, dispatch_uid=f"forget_calendars_delete_{_model.__name__}")
for _entered in (OfficialDay, OfficialYear):
    post_save.connect(forget_record, sender=_entered, dispatch_uid=f"forget_record_save_{_entered.__name__}")
    post_delete.connect(forget_record, sender=_entered, dispatch_uid=f"forget_record_delete_{_entered.__name__}")
