"""Report periods: ``2026-W47`` (an ISO week, Monday..Sunday) and ``2026-11`` (a month).

Also which kinds of report are periodic, with their unit and the scope they cover.
"""

import calendar
import datetime as dt
import re

from students.errors import InvalidInput

from .models import ReportRun

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
YEARS = range(2000, 2100)  # the years a report may cover

# kind → (unit, scope type): the weekly and monthly reports. The ledgers are snapshots, not periodic.
PERIODIC: dict[str, tuple[str, str]] = {
    ReportRun.Kind.CLASS_WEEKLY: ("week", ReportRun.ScopeType.CLASSROOM),
    ReportRun.Kind.SCHOOL_WEEKLY: ("week", ReportRun.ScopeType.SCHOOL),
    ReportRun.Kind.COUNTY_WEEKLY: ("week", ReportRun.ScopeType.COUNTY),
    ReportRun.Kind.COUNTY_MONTHLY: ("month", ReportRun.ScopeType.COUNTY),
}


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """'2026-W47' → Monday..Sunday of that ISO week; '2026-11' → the month."""
    if match := WEEK_RE.match(period or ""):
        year, week = int(match[1]), int(match[2])
        _check_year(year, period)
        try:
            start = dt.date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise InvalidInput(f"周次无效:{period}") from exc
        return start, start + dt.timedelta(days=6)
    if match := MONTH_RE.match(period or ""):
        year, month = int(match[1]), int(match[2])
        _check_year(year, period)
        if not 1 <= month <= 12:
            raise InvalidInput(f"月份无效:{period}")
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    raise InvalidInput(f"期间格式错误:{period}(周报如 2026-W47,月报如 2026-11)")


def _check_year(year: int, period: str) -> None:
    if year not in YEARS:
        raise InvalidInput(f"年份无效:{period}(须在 {YEARS.start}–{YEARS[-1]} 年之间)")


def previous_iso_week(today: dt.date) -> str:
    year, week, _ = (today - dt.timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"
