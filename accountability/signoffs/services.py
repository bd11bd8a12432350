"""Every write of the weekly sign-off chain: one function per step, one transaction each.

pending ──sign──▶ signed ──receive──▶ received
                    └──return (with a comment)──▶ returned ──sign──▶ signed …

- The principal (or a school leader) of the school signs a week once it is over; the row is created
  on the first signature. Any other move is an InvalidTransition (409).
- The bureau of the school's county receives or returns a signed week.
- A step after its deadline is marked late, and the mark is kept: a late signature stays late when
  the week is later received, and signing again after a return past ``sign_due`` is late too (the
  school owed an acceptable report by then). See :mod:`.weeks` for the deadlines.

Each step locks the row (``select_for_update``), checks the state and the actor, and queues its
reminder with ``transaction.on_commit``. A row the user may not see does not exist for them
(OutOfScope, 404).
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from students import scoping
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Notification, Post, School
from students.notifications import notify

from ..models import WeeklySignoff
from ..policy import policy_for
from . import selectors, weeks

S = WeeklySignoff.Status
SIGNABLE = (S.PENDING, S.RETURNED)


# --- roles and loading ------------------------------------------------------------------------


def may_sign(user, school_id: int | None) -> bool:
    """A principal or school leader of that school (a post at the school, not the county's reach)."""
    return scoping.scope_for(user).leads_school(school_id)


def may_decide(user, county_id: int | None) -> bool:
    """Bureau staff of the school's county (or a superuser): they receive and return."""
    return scoping.scope_for(user).manages_county(county_id)


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise InvalidTransition(f"您的岗位不能{what}")


def _expect(row: WeeklySignoff, *allowed: str, action: str) -> None:
    if row.status not in allowed:
        raise InvalidTransition(f"{row.school.name} {row.week} 当前为“{row.get_status_display()}”,不能{action}")


def _load_for_update(user, signoff_id) -> WeeklySignoff:
    row = (
        selectors.signoffs_visible_to(user)
        .select_for_update(of=("self",))
        .select_related("school")
        .filter(pk=signoff_id)
        .first()
    )
    if row is None:
        raise OutOfScope("周报签发记录不存在或您无权查看")
    return row


def _link(week: str) -> str:
    return f"{reverse('accountability:signoffs')}?week={week}"


# --- sign ---------------------------------------------------------------------------------------


@transaction.atomic
def sign_week(*, user, school_id, week: str, note: str = "", if_not_signed: bool = False) -> WeeklySignoff:
    """The principal signs the school's week (pending or returned → signed), creating its row if needed.

    ``if_not_signed``: a week already signed or received is left as it is and returned (the report
    run's signature, :func:`reporting.services.sign_run`, signs the week only when it still needs it).
    """
    week, monday = weeks.parse_week(week)
    school = scoping.managed_schools(user).filter(pk=school_id).first() if school_id is not None else None
    if school is None:
        raise OutOfScope("学校不存在或您无权查看")
    _require(may_sign(user, school.pk), "签发周报(须本校校长或校领导)")
    today = timezone.localdate()
    if not weeks.is_over(monday, today):
        raise InvalidInput(f"{week} 尚未结束(周日之后才能签发)")
    row = _get_or_create_locked(school, week, monday)
    if row.status not in SIGNABLE:
        if if_not_signed:
            return row
        _expect(row, *SIGNABLE, action="再次签发")
    now = timezone.now()
    row.status = S.SIGNED
    row.signed_by = user
    row.signed_at = now
    row.sign_note = note or ""
    row.sign_late = row.sign_late or timezone.localdate(now) > row.sign_due
    row._history_user = user  # type: ignore[attr-defined]  # simple_history's way to name the actor
    row.save()
    policy = policy_for(school.county_id)
    due = weeks.receive_due(timezone.localdate(now), policy)
    text = (
        f"{school.name} {week} 周报已由{user}签发" + ("(逾期)" if row.sign_late else "") + f",请于{due:%m月%d日}前签收"
    )
    key = f"signoff:{row.pk}:signed:{now:%Y%m%d%H%M%S}"
    county_id, link = school.county_id, _link(week)
    transaction.on_commit(lambda: _notify_bureau(county_id, key=key, text=text, link=link))
    return row


def _get_or_create_locked(school: School, week: str, monday: dt.date) -> WeeklySignoff:
    """The school's row for the week, locked; created (pending, with its deadline) if there is none.

    Two first signatures at once: the second insert waits for the first and fails on the unique
    constraint, inside a savepoint; the row the first committed is then read and locked.
    """
    existing = WeeklySignoff.objects.select_for_update().filter(school=school, week=week).first()
    if existing is not None:
        existing.school = school
        return existing
    due = weeks.sign_due(monday, policy_for(school.county_id))
    try:
        with transaction.atomic():
            return WeeklySignoff.objects.create(school=school, week=week, week_start=monday, sign_due=due)
    except IntegrityError:
        row = WeeklySignoff.objects.select_for_update().filter(school=school, week=week).first()
        if row is None:  # not the race: another constraint failed
            raise
        row.school = school
        return row


# --- receive and return -------------------------------------------------------------------------


@transaction.atomic
def receive_week(*, user, signoff_id) -> WeeklySignoff:
    """The bureau receives a signed week (signed → received); late after ``receive_working_days``."""
    row = _load_for_update(user, signoff_id)
    _expect(row, S.SIGNED, action="签收")
    _require(may_decide(user, row.school.county_id), "签收周报(须教育局)")
    now = timezone.now()
    signed_on = timezone.localdate(row.signed_at) if row.signed_at else timezone.localdate(now)
    due = weeks.receive_due(signed_on, policy_for(row.school.county_id))
    row.status = S.RECEIVED
    row.received_by = user
    row.received_at = now
    row.receive_late = row.receive_late or timezone.localdate(now) > due
    row._history_user = user  # type: ignore[attr-defined]
    row.save()
    return row


@transaction.atomic
def return_week(*, user, signoff_id, comment: str) -> WeeklySignoff:
    """The bureau sends a signed week back with its comment (signed → returned); the school signs again."""
    comment = (comment or "").strip()
    row = _load_for_update(user, signoff_id)
    _expect(row, S.SIGNED, action="退回")
    _require(may_decide(user, row.school.county_id), "退回周报(须教育局)")
    if not comment:
        raise InvalidInput("退回须填写退回意见")
    now = timezone.now()
    row.status = S.RETURNED
    row.returned_at = now
    row.return_comment = comment
    row.times_returned += 1
    row._history_user = user  # type: ignore[attr-defined]
    row.save()
    school, week = row.school, row.week
    text = f"{school.name} {week} 周报被教育局退回:{comment}"[:300]
    key = f"signoff:{row.pk}:returned:{row.times_returned}"
    signer_id, link = row.signed_by_id, _link(week)
    transaction.on_commit(lambda: _notify_school(school.pk, signer_id, key=key, text=text, link=link))
    return row


# --- reminders ----------------------------------------------------------------------------------

SIGNED_KIND = "signoff_signed"
RETURNED_KIND = "signoff_returned"


def _notify_bureau(county_id: int, *, key: str, text: str, link: str) -> None:
    staff = Post.objects.active().filter(role=Post.Role.BUREAU, county_id=county_id).values_list("user_id", flat=True)
    notify([Notification(user_id=uid, key=key, kind=SIGNED_KIND, text=text, link=link) for uid in set(staff)])


def _notify_school(school_id: int, signer_id: int | None, *, key: str, text: str, link: str) -> None:
    principals = set(
        Post.objects.active().filter(role=Post.Role.PRINCIPAL, school_id=school_id).values_list("user_id", flat=True)
    )
    if signer_id:
        principals.add(signer_id)
    notify([Notification(user_id=uid, key=key, kind=RETURNED_KIND, text=text, link=link) for uid in principals])
