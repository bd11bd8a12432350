"""Request bodies for ``make load`` and the database check after the run.

Bodies: every body is the FIRST submit of a distinct (class, day): 0–3 absences of enrolled
students of that class, kinds among sick/personal/unexcused/unknown. Before the run every
report on the chosen days is deleted (absences and revisions cascade), so no body can meet an
existing report. The project endpoint gets the school days of the current week up to today
(the correction window of students.attendance.services); the bare endpoint gets earlier school
days, so both write the same rows (DailyReport + Absence; the project also a revision).

The check (:func:`verify`): wrk's Lua cannot tell which request an answer belongs to, but every
2xx answer of both endpoints names its classroom and date, and the Lua records them, plus how
many bodies each thread sent (thread i of n sends lines i, i+n, … in order, so "sent" is a known
prefix of its share) and how many answers it got. Then, over every (class, day) of the pool:

- each confirmed (2xx) body has exactly one report, version 1, with exactly the absences sent;
- a body never sent has no report;
- a body sent without a 2xx seen may have a report only if its request was still in flight when
  wrk stopped (the server finishes it, wrk no longer listens): at most ``sent − answered`` such
  reports, and any report there must hold the absences sent;
- no other report exists on the pool's days.

That is sound without matching requests to answers one by one: a non-2xx answer that still
wrote would push the unconfirmed reports above the in-flight count.
"""

import dataclasses
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

from students.calendar import SchoolCalendar
from students.models import Absence, AbsenceKind, DailyReport, Student

KINDS = [kind.value for kind in AbsenceKind]
NOTES = ["", "", "发烧", "家中有事", "电话未接通", "随家长走亲戚"]
MAX_ABSENCES = 3


@dataclasses.dataclass(frozen=True)
class Body:
    classroom: int
    day: dt.date
    absences: tuple[tuple[int, str, str], ...]  # (student, kind, note), by student

    @property
    def key(self) -> tuple[int, dt.date]:
        return self.classroom, self.day

    def payload(self, submitted_by: int | None = None) -> dict:
        out: dict = {
            "classroom": self.classroom,
            "date": self.day.isoformat(),
            "absences": [{"student": s, "kind": k, "note": n} for s, k, n in self.absences],
        }
        if submitted_by is not None:
            out["submitted_by"] = submitted_by
        return out


def current_week_school_days(calendar: SchoolCalendar, today: dt.date) -> list[dt.date]:
    """School days from this week's Monday up to and including today: the days a submit accepts."""
    return calendar.school_days(today - dt.timedelta(days=today.weekday()), today)


def earlier_school_days(calendar: SchoolCalendar, before: dt.date, count: int) -> list[dt.date]:
    """The ``count`` school days just before ``before`` (oldest first; fewer if the calendar runs out)."""
    return calendar.last_school_days(before - dt.timedelta(days=1), count)


def enrolled_by_class() -> dict[int, list[int]]:
    rooms: dict[int, list[int]] = {}
    for room, student in (
        Student.objects.filter(status=Student.Status.ENROLLED, classroom__isnull=False)
        .order_by("classroom_id", "pk")
        .values_list("classroom_id", "pk")
    ):
        rooms.setdefault(room, []).append(student)
    return rooms


def build_bodies(pupils: dict[int, list[int]], days: list[dt.date], rng: random.Random) -> list[Body]:
    """One body per (class with enrolled students, day), shuffled."""
    bodies = []
    for day in days:
        for room in sorted(pupils):
            chosen = sorted(rng.sample(pupils[room], min(rng.randint(0, MAX_ABSENCES), len(pupils[room]))))
            bodies.append(Body(room, day, tuple((s, rng.choice(KINDS), rng.choice(NOTES)) for s in chosen)))
    rng.shuffle(bodies)
    return bodies


def clear_days(days: list[dt.date]) -> int:
    """Delete every report on ``days`` (absences and revisions cascade); the number of reports deleted."""
    deleted = DailyReport.objects.filter(date__in=days).delete()[1]
    return deleted.get(DailyReport._meta.label, 0)


def write_bodies(path: Path, bodies: list[Body], submitted_by: int | None = None) -> None:
    with path.open("w", encoding="utf-8") as f:
        for body in bodies:
            f.write(json.dumps(body.payload(submitted_by), ensure_ascii=False, separators=(",", ":")) + "\n")


@dataclasses.dataclass
class WrkResult:
    """What submit.lua / dashboard.lua wrote in done(). Latencies in microseconds."""

    duration_us: int = 0
    requests: int = 0
    socket_errors: int = 0
    timeouts: int = 0
    p50_us: int = 0
    p90_us: int = 0
    p99_us: int = 0
    max_us: int = 0
    statuses: Counter = dataclasses.field(default_factory=Counter)
    threads: list[tuple[int, int, int, int, int]] = dataclasses.field(
        default_factory=list
    )  # id, bodies, sent, answered, exhausted
    confirmed: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)  # classroom, date, status

    @classmethod
    def parse(cls, text: str) -> "WrkResult":
        r = cls()
        for line in text.splitlines():
            kind, *f = line.split()
            if kind == "summary":
                n = [int(x) for x in f]
                r.duration_us, r.requests = n[0], n[1]
                r.socket_errors, r.timeouts = n[3] + n[4] + n[5], n[7]
            elif kind == "latency":
                r.p50_us, r.p90_us, r.p99_us, _mean, r.max_us = (int(x) for x in f)
            elif kind == "thread":
                r.threads.append(tuple(int(x) for x in f))  # type: ignore[arg-type]
            elif kind == "status":
                r.statuses[int(f[0])] += int(f[1])
            elif kind == "ok":
                r.confirmed.append((f[0], f[1], int(f[2])))
        return r

    @property
    def rate(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    @property
    def exhausted(self) -> bool:
        return any(t[4] for t in self.threads)

    @property
    def in_flight(self) -> int:
        return sum(t[2] - t[3] for t in self.threads)


def sent_indexes(result: WrkResult, nthreads: int) -> set[int]:
    """Indexes (0-based lines of the bodies file) of the bodies the Lua sent."""
    sent = set()
    for tid, _nbodies, count, _answered, _exhausted in result.threads:
        sent.update(range(tid - 1, (tid - 1) + count * nthreads, nthreads))
    return sent


@dataclasses.dataclass
class Verification:
    bodies: int
    sent: int
    confirmed: int  # 2xx answers
    confirmed_ok: int  # … with exactly one version-1 report holding the absences sent
    unknown_confirmed: int  # 2xx naming a (class, day) that is not a sent body, or twice
    unconfirmed_written: int  # sent, no 2xx seen, report present
    in_flight: int
    unsent_written: int
    wrong_content: int  # a report whose absences or version differ from the body
    stray: int  # reports on the pool's days for no body

    @property
    def ok(self) -> bool:
        return (
            self.confirmed == self.confirmed_ok
            and not (self.unknown_confirmed or self.unsent_written or self.wrong_content or self.stray)
            and self.unconfirmed_written <= self.in_flight
        )

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"{verdict}: {self.confirmed_ok}/{self.confirmed} bodies answered 2xx have exactly one report with the "
            f"absences sent; {self.sent - self.confirmed} sent without a 2xx ({self.in_flight} still in flight at the "
            f"stop): {self.unconfirmed_written} written; {self.unsent_written} of {self.bodies - self.sent} unsent "
            f"written; {self.wrong_content} wrong content, {self.stray} stray, {self.unknown_confirmed} unknown 2xx"
        )


def verify(
    bodies: list[Body], result: WrkResult, nthreads: int, others: frozenset[tuple[int, dt.date]] = frozenset()
) -> Verification:
    """Check the database against the bodies and what the Lua saw (see the module docstring).

    ``others``: (class, day) keys of another pool on the same days, not counted as stray.
    """
    by_key = {b.key: i for i, b in enumerate(bodies)}
    sent = sent_indexes(result, nthreads)
    confirmed: set[int] = set()
    unknown = 0
    for room, day, _status in result.confirmed:
        try:
            i = by_key[(int(room), dt.date.fromisoformat(day))]
        except (KeyError, ValueError):
            unknown += 1
            continue
        if i in confirmed or i not in sent:
            unknown += 1
        confirmed.add(i)

    days = sorted({b.day for b in bodies})
    reports: dict[tuple[int, dt.date], list[tuple[int, int]]] = {}
    for room, day, pk, version in DailyReport.objects.filter(date__in=days).values_list(
        "classroom_id", "date", "pk", "version"
    ):
        reports.setdefault((room, day), []).append((pk, version))
    absences: dict[int, set[tuple[int, str, str]]] = {}
    for report, student, kind, note in Absence.objects.filter(report__date__in=days).values_list(
        "report_id", "student_id", "kind", "note"
    ):
        absences.setdefault(report, set()).add((student, kind, note))

    confirmed_ok = unconfirmed_written = unsent_written = wrong = 0
    for i, body in enumerate(bodies):
        rows = reports.pop(body.key, [])
        right = len(rows) == 1 and rows[0][1] == 1 and absences.get(rows[0][0], set()) == set(body.absences)
        if rows and not right:
            wrong += 1
        if i in confirmed:
            confirmed_ok += right
        elif i in sent:
            unconfirmed_written += bool(rows)
        else:
            unsent_written += bool(rows)
    return Verification(
        bodies=len(bodies),
        sent=len(sent),
        confirmed=len(confirmed) + unknown,
        confirmed_ok=confirmed_ok,
        unknown_confirmed=unknown,
        unconfirmed_written=unconfirmed_written,
        in_flight=result.in_flight,
        unsent_written=unsent_written,
        wrong_content=wrong,
        stray=sum(len(rows) for key, rows in reports.items() if key not in others),
    )
