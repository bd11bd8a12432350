"""Apps to the right of students (casework, reporting) add to the demo county through hooks.

students must not import them (dependencies point one way), so they register a hook class here
from their AppConfig.ready(). seed_demo makes one instance per run and calls it twice:

- ``stories(...)`` after the students exist and before the attendance is written: the students
  the hook will act on and what their attendance must show for it (absent from a day, off the
  roll while they are out of school), so that the daily reports agree with what happens later;
- ``act(...)`` once the term's attendance exists: do it (through the real services) and return
  counts to print.
"""

import dataclasses
import datetime as dt
import random
from typing import Any, Protocol

Absent = tuple[str, str, bool]  # (kind, note, family contacted)


@dataclasses.dataclass
class Story:
    """One student's attendance as a hook will act it out, told to the attendance builder first.

    ``absences``: school day → absence (replaces the student's random pattern). ``off_roll``: the
    first and last school day the student is not on the class roll (not counted in 应到; ``None``
    as the last: up to as_of) — between a dropout's confirmation and their return.
    """

    student_id: int
    absences: dict[dt.date, Absent]
    off_roll: tuple[dt.date, dt.date | None] | None = None

    def on_roll(self, day: dt.date) -> bool:
        if self.off_roll is None:
            return True
        first, last = self.off_roll
        return not (first <= day and (last is None or day <= last))


class Hook(Protocol):
    def stories(
        self, *, county: Any, as_of: dt.date, school_days: list[dt.date], keep_rooms: set[int], rng: random.Random
    ) -> list[Story]: ...

    def act(self, *, county: Any, as_of: dt.date, write) -> dict[str, int]: ...


class ActingHook:
    """A hook with nothing to tell the attendance: it keeps the run's random generator for ``act``."""

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def stories(
        self, *, county: Any, as_of: dt.date, school_days: list[dt.date], keep_rooms: set[int], rng: random.Random
    ) -> list[Story]:
        self.rng = rng
        return []


HOOKS: list[type] = []


def register(hook: type) -> type:
    if hook not in HOOKS:
        HOOKS.append(hook)
    return hook
