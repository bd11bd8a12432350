"""The calendar of record: the bureau enters the State Council's holidays and make-up workdays.

Entered as text, one day per line, as the notice lists them (``2027-02-06 休 春节`` / ``2027-02-14
班 春节调休``), and the year marked complete with the notice it comes from; the days then override
the ``chinesecalendar`` package (students/calendar.py). Only the bureau (and a superuser) may enter
or remove days: they decide for every school which days are school days.
"""

import datetime as dt
import re

from django.db import transaction

from .errors import InvalidInput, OutOfScope
from .guards import check_field
from .models import OfficialDay, OfficialYear
from .scoping import scope_for

KINDS = {"休": OfficialDay.Kind.HOLIDAY, "班": OfficialDay.Kind.WORKDAY}
LINE = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s+(休|班)\s*(.*?)\s*$", re.ASCII)
YEARS = range(2000, 2100)


def may_edit(user) -> bool:
    return bool(user.is_superuser or scope_for(user).county_level)


def parse_lines(text: str) -> list[tuple[dt.date, str, str]]:
    """``(day, kind, name)`` per non-empty line; every bad line is named in one Chinese message."""
    days: list[tuple[dt.date, str, str]] = []
    problems = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line.replace("\u3000", " "))  # notices copied from Word use full-width spaces
        try:
            if not match:
                raise ValueError
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
            if day.year not in YEARS:
                raise ValueError
        except ValueError:
            problems.append(f"第{number}行“{line.strip()[:30]}”")
            continue
        days.append((day, KINDS[match[4]], match[5]))
    if problems:
        raise InvalidInput(
            "无法识别:" + "、".join(problems) + "。每行一天,如“2027-02-06 休 春节”或“2027-02-14 班 春节调休”"
        )
    if len({day for day, _, _ in days}) != len(days):
        raise InvalidInput("同一日期出现了两次")
    return days


@transaction.atomic
def enter_days(*, user, text: str, complete_year: int | None = None, source: str = "") -> int:
    """Enter (or correct) the days listed in ``text``; with ``complete_year``, mark that year complete."""
    if not may_edit(user):
        raise OutOfScope("页面不存在或您无权操作")
    days = parse_lines(text)
    for day, kind, name in days:
        check_field(OfficialDay, "name", name)
        OfficialDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name, "entered_by": user})
    if complete_year is not None:
        if complete_year not in YEARS:
            raise InvalidInput("年份无效")
        OfficialYear.objects.update_or_create(
            year=complete_year, defaults={"source": source.strip(), "entered_by": user}
        )
    return len(days)


@transaction.atomic
def remove_day(*, user, day: dt.date) -> None:
    if not may_edit(user):
        raise OutOfScope("页面不存在或您无权操作")
    OfficialDay.objects.filter(date=day).delete()


@transaction.atomic
def reopen_year(*, user, year: int) -> None:
    """The year is no longer complete (its days stay; unlisted days fall back to the package or the week)."""
    if not may_edit(user):
        raise OutOfScope("页面不存在或您无权操作")
    OfficialYear.objects.filter(year=year).delete()
