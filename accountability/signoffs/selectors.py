"""Reads of the weekly sign-off chain. Every function takes the user; scoping comes from students.scoping.

A school's week is seen by the bureau of the school's county and by the school's principal and
school leaders; class teachers, cadres and users without a post see none (404, empty lists).

**On time** is defined here once, for the board, the API and the compliance metrics: a week is on
time when it was signed by its ``sign_due`` and stands signed (signed or received). A week that was
never signed, was signed late, or was returned and not yet signed again is not on time.
"""

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from students import scoping
from students.calendar import cached_school_calendar
from students.models import School

from ..models import AccountabilityPolicy, WeeklySignoff
from ..policy import policy_for
from . import weeks

S = WeeklySignoff.Status
STANDS_SIGNED = (S.SIGNED, S.RECEIVED)
ON_TIME_Q = Q(status__in=STANDS_SIGNED, sign_late=False)
"""The one definition of a weekly sign-off on time (see the module docstring)."""
LATE_MARK_Q = Q(sign_late=True) | Q(receive_late=True)


def is_on_time(row: WeeklySignoff | None) -> bool:
    """``ON_TIME_Q`` for one row (None: the week has no row, nobody signed it)."""
    return row is not None and row.status in STANDS_SIGNED and not row.sign_late


# --- visibility ---------------------------------------------------------------------------------


def signoff_q(user) -> Q:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Q()
    return scoping.county_q(scope, "school__county_id") | scoping.led_school_q(scope, "school_id")


def signoffs_visible_to(user) -> QuerySet[WeeklySignoff]:
    return WeeklySignoff.objects.filter(signoff_q(user))


def signoff_list(
    user, *, week: str = "", school: int | None = None, status: str = "", late: bool | None = None
) -> QuerySet[WeeklySignoff]:
    """Rows in scope, newest week first, with what a list shows (one query). ``week`` is checked."""
    qs = signoffs_visible_to(user).select_related("school", "signed_by", "received_by")
    if week:
        qs = qs.filter(week=weeks.parse_week(week)[0])
    if school is not None:
        qs = qs.filter(school_id=school)
    if status:
        qs = qs.filter(status=status)
    if late is True:
        qs = qs.filter(LATE_MARK_Q)
    elif late is False:
        qs = qs.exclude(LATE_MARK_Q)
    return qs.order_by("-week_start", "school__code", "pk")


def signoff_detail(user, signoff_id) -> WeeklySignoff | None:
    return signoffs_visible_to(user).select_related("school", "signed_by", "received_by").filter(pk=signoff_id).first()


# --- the week's board ---------------------------------------------------------------------------


@dataclasses.dataclass
class BoardRow:
    """One school's week: its row, or None while nobody has signed (pending)."""

    school: School
    week: str
    week_start: dt.date
    sign_due: dt.date
    signoff: WeeklySignoff | None
    today: dt.date

    @property
    def week_end(self) -> dt.date:
        return weeks.sunday_of(self.week_start)

    @property
    def status(self) -> str:
        return self.signoff.status if self.signoff else S.PENDING

    @property
    def status_display(self) -> str:
        return self.signoff.get_status_display() if self.signoff else str(S.PENDING.label)

    @property
    def is_over(self) -> bool:
        return weeks.is_over(self.week_start, self.today)

    @property
    def on_time(self) -> bool:
        return is_on_time(self.signoff)

    @property
    def late(self) -> bool:
        """A late mark on the row: signed after ``sign_due`` or received after its deadline."""
        return bool(self.signoff and self.signoff.late)

    @property
    def overdue(self) -> bool:
        """Waiting for the principal's signature (pending or returned) past ``sign_due``."""
        return self.status in (S.PENDING, S.RETURNED) and self.today > self.sign_due

    @property
    def may_sign(self) -> bool:
        """The week is over and waits for a signature (whether the user may sign is the service's question)."""
        return self.is_over and self.status in (S.PENDING, S.RETURNED)


@dataclasses.dataclass
class Board:
    week: str
    week_start: dt.date
    week_end: dt.date
    rows: list[BoardRow]
    counts: dict[str, int]

    @property
    def sign_dues(self) -> list[dt.date]:
        """The week's signing deadline(s): one per county on the board."""
        return sorted({row.sign_due for row in self.rows})


class _Dues:
    """Signing deadlines per county and week, the county's policy read once."""

    def __init__(self) -> None:
        self.policies: dict[int, AccountabilityPolicy] = {}
        self.dues: dict[tuple[int, dt.date], dt.date] = {}

    def policy(self, county_id: int) -> AccountabilityPolicy:
        if county_id not in self.policies:
            self.policies[county_id] = policy_for(county_id)
        return self.policies[county_id]

    def sign_due(self, county_id: int, monday: dt.date) -> dt.date:
        key = (county_id, monday)
        if key not in self.dues:
            self.dues[key] = weeks.sign_due(monday, self.policy(county_id))
        return self.dues[key]


def _count(rows: list[BoardRow]) -> dict[str, int]:
    statuses = Counter(row.status for row in rows)
    return {
        "total": len(rows),
        "pending": statuses[S.PENDING],
        "signed": statuses[S.SIGNED],
        "received": statuses[S.RECEIVED],
        "returned": statuses[S.RETURNED],
        "on_time": sum(row.on_time for row in rows),
        "late": sum(row.late for row in rows),
        "overdue": sum(row.overdue for row in rows),
    }


def week_board(user, week: str, *, today: dt.date | None = None) -> Board:
    """Every school the user runs or oversees (the bureau's county, the principal's school) with its
    status for ``week``; a school without a row is pending, with its ``sign_due``. A few queries
    whatever the number of schools."""
    week, monday = weeks.parse_week(week)
    today = today or timezone.localdate()
    schools = list(scoping.managed_schools(user).order_by("code", "pk"))
    found = {
        row.school_id: row
        for row in WeeklySignoff.objects.filter(week=week, school__in=[s.pk for s in schools]).select_related(
            "signed_by", "received_by"
        )
    }
    dues = _Dues()
    rows = []
    for school in schools:
        row = found.get(school.pk)
        if row is not None:
            row.school = school
        due = row.sign_due if row is not None else dues.sign_due(school.county_id, monday)
        rows.append(BoardRow(school, week, monday, due, row, today))
    return Board(week=week, week_start=monday, week_end=weeks.sunday_of(monday), rows=rows, counts=_count(rows))


def school_weeks(user, *, count: int = 8, today: dt.date | None = None) -> list[BoardRow]:
    """For the schools the user leads: the last ``count`` weeks that are over, newest first, each with
    its row or pending; plus older weeks still waiting for a signature (returned)."""
    today = today or timezone.localdate()
    schools = list(scoping.led_schools(user).order_by("code", "pk"))
    latest = weeks.parse_week(weeks.last_finished_week(today))[1]
    mondays = [latest - dt.timedelta(weeks=n) for n in range(count)]
    rows = WeeklySignoff.objects.filter(school__in=[s.pk for s in schools]).filter(
        Q(week_start__in=mondays) | Q(status=S.RETURNED)
    )
    found = {(row.school_id, row.week_start): row for row in rows.select_related("signed_by", "received_by")}
    extra = sorted({monday for _school, monday in found if monday not in mondays}, reverse=True)
    dues = _Dues()
    result = []
    for school in schools:
        for monday in mondays + extra:
            row = found.get((school.pk, monday))
            if row is None and monday in extra:
                continue
            if row is not None:
                row.school = school
            due = row.sign_due if row is not None else dues.sign_due(school.county_id, monday)
            result.append(BoardRow(school, weeks.week_of(monday), monday, due, row, today))
    return result


# --- the period's tally (compliance metrics) ----------------------------------------------------


@dataclasses.dataclass
class WeekTally:
    """One school's weekly sign-offs over a period: ``weeks`` that count, of them ``on_time`` and ``late``."""

    weeks: int = 0
    on_time: int = 0
    late: int = 0
    late_weeks: list[str] = dataclasses.field(default_factory=list)


def late_count(user, *, start: dt.date, end: dt.date, today: dt.date | None = None) -> dict[int, WeekTally]:
    """Per school the user runs or oversees (the bureau's county, the principal's schools): the weeks
    ending in ``start``..``end`` that count, and how many were on time (``ON_TIME_Q``) or late."""
    return week_tallies(scoping.managed_schools(user), start=start, end=end, today=today)


def week_tallies(
    schools: Iterable[School], *, start: dt.date, end: dt.date, today: dt.date | None = None
) -> dict[int, WeekTally]:
    """:func:`late_count` for schools the caller has already scoped (the compliance metrics).

    A week counts when it holds at least one school day of the county's calendar (no report is owed
    for the holidays) and it is decided: its ``sign_due`` has passed, or it was already signed on
    time. A week still open (before its deadline, not yet signed) is not counted either way.
    """
    today = today or timezone.localdate()
    span = weeks.weeks_ending_between(start, end)
    schools = list(schools)
    rows = {
        (row.school_id, row.week): row
        for row in WeeklySignoff.objects.filter(
            school__in=[s.pk for s in schools], week__in=[week for week, _monday in span]
        )
    }
    dues = _Dues()
    taught: dict[tuple[int, dt.date], bool] = {}
    tallies: dict[int, WeekTally] = {}
    for school in schools:
        tally = tallies.setdefault(school.pk, WeekTally())
        calendar = cached_school_calendar(school.county_id)
        for week, monday in span:
            key = (school.county_id, monday)
            if key not in taught:
                taught[key] = bool(calendar.school_days(monday, weeks.sunday_of(monday)))
            if not taught[key]:
                continue
            row = rows.get((school.pk, week))
            due = row.sign_due if row is not None else dues.sign_due(school.county_id, monday)
            on_time = is_on_time(row)
            if not on_time and today <= due:
                continue  # still open
            tally.weeks += 1
            if on_time:
                tally.on_time += 1
            else:
                tally.late += 1
                tally.late_weeks.append(week)
    return tallies


# --- reminders ----------------------------------------------------------------------------------


def signoff_reminders_done(notes) -> set[int]:
    """Of the sign-off reminders (students.notifications), those whose reason is gone: the bureau's
    "signed, please receive" once the week is no longer signed, the school's "returned" once it is
    no longer returned. (Register for the kinds ``signoff_signed`` and ``signoff_returned``.)"""
    from students.notifications import parts

    wanted: dict[int, list[tuple[int, str]]] = {}
    for note in notes:
        if (fields := parts(note, "signoff", 3)) and fields[0].isdigit():
            wanted.setdefault(int(fields[0]), []).append((note.pk, fields[1]))
    current = dict(WeeklySignoff.objects.filter(pk__in=wanted).values_list("pk", "status"))
    return {pk for row_id, items in wanted.items() for pk, step in items if current.get(row_id) != step}
