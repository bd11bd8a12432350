"""In-app reminders ("my tasks"). Raising one twice is harmless: ``(user, key)`` is unique.

A reminder disappears when its reason does: :func:`unread_for` leaves out, and marks read, the
reminders whose cause is gone by the time they are shown — a class that has since reported, a red
flag no longer open, a case whose overdue item was done (its due date or step moved on, or the
case was closed). The reasons are read back from the reminders' keys, a few queries for the lot.
"""

import contextlib
import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from .models import DailyReport, Notification, RiskFlag


def notify(notes: list[Notification]) -> int:
    """Store the reminders that do not exist yet; returns how many were new."""
    if not notes:
        return 0
    wanted = {(n.user_id, n.key) for n in notes}
    existing = set(
        Notification.objects.filter(
            key__in={key for _, key in wanted}, user_id__in={user for user, _ in wanted}
        ).values_list("user_id", "key")
    )
    fresh = [n for n in notes if (n.user_id, n.key) not in existing]
    Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def unread_for(user, limit: int = 20) -> list[Notification]:
    """The user's unread reminders whose reason still holds, newest first (stale ones are marked read)."""
    unread = list(Notification.objects.filter(user=user, read_at__isnull=True).order_by("-created_at")[: limit * 3])
    stale = _reason_gone(unread)
    if stale:
        Notification.objects.filter(pk__in=stale, read_at__isnull=True).update(read_at=timezone.now())
    return [note for note in unread if note.pk not in stale][:limit]


def mark_read(user, ids) -> int:
    return Notification.objects.filter(user=user, pk__in=ids, read_at__isnull=True).update(read_at=timezone.now())


def parts(note: Notification, prefix: str, count: int) -> list[str] | None:
    """The ``count`` fields of a reminder's key after ``prefix`` (None for a key of another form)."""
    fields = note.key.split(":", count)  # the last field may hold colons itself (a flag's situation)
    return fields[1:] if fields[0] == prefix and len(fields) == count + 1 else None


# kind → function(reminders of that kind) → ids of those whose reason is gone. Apps that raise
# reminders register their kinds here (casework: overdue cases), so students need not know them.
ReasonCheck = Callable[[list[Notification]], set[int]]
_reason_checks: dict[str, ReasonCheck] = {}


def reason_check(kind: str) -> Callable[[ReasonCheck], ReasonCheck]:
    def register(check: ReasonCheck) -> ReasonCheck:
        _reason_checks[kind] = check
        return check

    return register


def _reason_gone(notes: list[Notification]) -> set[int]:
    """Ids of the reminders whose cause no longer holds (one query per kind present)."""
    by_kind: dict[str, list[Notification]] = {}
    for note in notes:
        by_kind.setdefault(note.kind, []).append(note)
    gone: set[int] = set()
    for kind, group in by_kind.items():
        if check := _reason_checks.get(kind):
            gone |= check(group)
    return gone


@reason_check("not_reported")
def _class_has_reported(notes: list[Notification]) -> set[int]:
    waiting: dict[tuple[int, dt.date], list[int]] = {}
    for note in notes:
        if fields := parts(note, "not-reported", 2):
            with contextlib.suppress(ValueError):
                waiting.setdefault((int(fields[0]), dt.date.fromisoformat(fields[1])), []).append(note.pk)
    if not waiting:
        return set()
    reported = DailyReport.objects.filter(
        classroom_id__in={c for c, _ in waiting}, date__in={d for _, d in waiting}
    ).values_list("classroom_id", "date")
    return {pk for pair in reported for pk in waiting.get(pair, ())}


@reason_check("risk_red")
def _flag_no_longer_open(notes: list[Notification]) -> set[int]:
    flags: dict[tuple[int, str, str], list[int]] = {}
    for note in notes:
        if fields := parts(note, "flag", 3):
            with contextlib.suppress(ValueError):
                flags.setdefault((int(fields[0]), fields[1], fields[2]), []).append(note.pk)
    if not flags:
        return set()
    still_open = set(
        RiskFlag.objects.filter(student_id__in={s for s, _, _ in flags}, status__in=RiskFlag.OPEN_STATUSES).values_list(
            "student_id", "rule_code", "situation_key"
        )
    )
    return {pk for reason, ids in flags.items() if reason not in still_open for pk in ids}
