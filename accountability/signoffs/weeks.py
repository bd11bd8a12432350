"""ISO weeks (``2026-W47``, Monday..Sunday) and the sign-off chain's deadlines, in working days.

Accountability may not import reporting, so the week format is read here too (the same rule as
``reporting.periods``: four digits, ``-W``, two digits; a week that does not exist is refused).

Deadlines (county policy, ``accountability.models.AccountabilityPolicy``):
- the principal signs by the ``sign_working_days``-th working day after the week's Sunday;
- the bureau receives within ``receive_working_days`` working days after the day of the signature.
Working days follow the official calendar (weekends and holidays off, make-up days on).
"""

import datetime as dt
import re

from students.calendar import add_working_days
from students.errors import InvalidInput

from ..models import AccountabilityPolicy

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)
YEARS = range(2000, 2100)
ONE_WEEK = dt.timedelta(days=7)


def parse_week(text) -> tuple[str, dt.date]:
    """'2026-W47' → ('2026-W47', Monday 2026-11-16). Anything else is refused in Chinese (400)."""
    value = str(text or "").strip().upper()
    match = WEEK_RE.match(value)
    if match is None:
        raise InvalidInput(f"周次格式错误:{value[:20] or '(空)'}(应如 2026-W47)")
    year, number = int(match[1]), int(match[2])
    if year not in YEARS:
        raise InvalidInput(f"周次年份无效:{value}(须在 {YEARS.start}–{YEARS[-1]} 年之间)")
    try:
        monday = dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise InvalidInput(f"周次无效:{value}({year} 年没有第 {number} 周)") from None
    return value, monday


def week_of(day: dt.date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def sunday_of(monday: dt.date) -> dt.date:
    return monday + dt.timedelta(days=6)


def is_over(monday: dt.date, today: dt.date) -> bool:
    """A week is over once its Sunday has passed."""
    return today > sunday_of(monday)


def last_finished_week(today: dt.date) -> str:
    """The latest week that is over on ``today`` (on a Sunday, still the one before)."""
    return week_of(today - ONE_WEEK)


def sign_due(monday: dt.date, policy: AccountabilityPolicy) -> dt.date:
    """The last day on which the principal's signature is on time."""
    return add_working_days(sunday_of(monday), policy.sign_working_days)


def receive_due(signed_on: dt.date, policy: AccountabilityPolicy) -> dt.date:
    """The last day on which the bureau's receipt of a signature given on ``signed_on`` is on time."""
    return add_working_days(signed_on, policy.receive_working_days)


def weeks_ending_between(start: dt.date, end: dt.date) -> list[tuple[str, dt.date]]:
    """(week, Monday) of every ISO week whose Sunday lies in ``start``..``end``: periods that tile the
    calendar count each week once."""
    monday = start - dt.timedelta(days=start.weekday())  # the week holding ``start`` ends on or after it
    weeks = []
    while sunday_of(monday) <= end:
        weeks.append((week_of(monday), monday))
        monday += ONE_WEEK
    return weeks
