"""Reads of findings (通报 / 限期整改) and teacher fault records. Every function takes the user.

A finding is visible to the bureau of its county and to the leaders (principal, school leaders) of
its school; to nobody else (teachers and cadres neither see it nor count it). A teacher fault record
is the bureau's own record: only the bureau of its county sees it.

A finding is *overdue* when it waits for the school (open or returned) and its due date has passed;
an answered finding waits for the bureau and is never overdue.
"""

import datetime as dt

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from students import scoping
from students.models import School

from ..models import Finding, FindingAttachment, TeacherFault

F = Finding.Status
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
AWAITING_SCHOOL = (F.OPEN, F.RETURNED)
"""The school's turn: these are the findings that can be overdue."""


def finding_q(user) -> Q:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Q()
    return scoping.county_q(scope, "county_id") | scoping.led_school_q(scope, "school_id")


def findings_visible_to(user) -> QuerySet[Finding]:
    return Finding.objects.filter(finding_q(user))


def overdue_q(today: dt.date | None = None) -> Q:
    return Q(status__in=AWAITING_SCHOOL, due_on__lt=today or timezone.localdate())


def is_overdue(finding: Finding, today: dt.date | None = None) -> bool:
    return finding.status in AWAITING_SCHOOL and finding.due_on < (today or timezone.localdate())


def filter_findings(qs: QuerySet[Finding], *, school=None, status: str = "", overdue: bool | None = None):
    """The list filters, shared by the page and the API (``overdue=False`` keeps those not overdue)."""
    if school:
        qs = qs.filter(school_id=school)
    if status:
        qs = qs.filter(status=status)
    if overdue is True:
        qs = qs.filter(overdue_q())
    elif overdue is False:
        qs = qs.exclude(overdue_q())
    return qs


def finding_list(user, *, school=None, status: str = "", overdue: bool | None = None) -> QuerySet[Finding]:
    """Findings in scope with what a list needs (constant queries): the school's turn first, by due date."""
    qs = (
        findings_visible_to(user)
        .select_related("school", "issued_by")
        .annotate(
            attachment_count=Count("attachments"),
            turn=Case(
                When(status__in=AWAITING_SCHOOL, then=Value(0)),
                When(status=F.ANSWERED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
    )
    qs = filter_findings(qs, school=school, status=status, overdue=overdue)
    return qs.order_by("turn", "due_on", "-id")


def attachments_prefetch() -> Prefetch:
    """A finding's evidence files in the order they were sent, with who sent them."""
    return Prefetch("attachments", queryset=FindingAttachment.objects.select_related("uploaded_by").order_by("pk"))


def finding_detail(user, pk) -> Finding:
    """One visible finding with its attachments (Http404 otherwise)."""
    return scoping.get_visible_or_404(
        findings_visible_to(user)
        .select_related("school", "county", "issued_by", "answered_by", "decided_by")
        .prefetch_related(attachments_prefetch()),
        pk=pk,
    )


def attachment_for(user, finding_id, attachment_id) -> FindingAttachment | None:
    """An evidence file of a finding the user may see (None for anyone else, or a wrong pair of ids)."""
    return (
        FindingAttachment.objects.filter(
            finding__in=findings_visible_to(user).values("pk"), finding_id=finding_id, pk=attachment_id
        )
        .select_related("finding")
        .first()
    )


def trail(finding: Finding) -> list:
    """The finding's history rows (simple_history), oldest first, each with its status label."""
    labels = dict(F.choices)
    rows = list(finding.history.select_related("history_user").order_by("history_date", "history_id"))
    shown, previous = [], None
    for row in rows:
        if row.status != previous:
            row.status_label = labels.get(row.status, row.status)
            shown.append(row)
        previous = row.status
    return shown


# --- counts (dashboards) -------------------------------------------------------------------------


def finding_counts(user, school=None, *, today: dt.date | None = None) -> dict[str, int]:
    """Counts of the user's findings (one query): ``open`` (not yet accepted), ``awaiting_school`` (open or
    returned), ``awaiting_bureau`` (answered), ``overdue``."""
    qs = findings_visible_to(user)
    if school:
        qs = qs.filter(school_id=school)
    return qs.aggregate(
        open=Count("pk", filter=Q(status__in=Finding.OPEN_STATUSES)),
        awaiting_school=Count("pk", filter=Q(status__in=AWAITING_SCHOOL)),
        awaiting_bureau=Count("pk", filter=Q(status=F.ANSWERED)),
        overdue=Count("pk", filter=overdue_q(today)),
    )


def open_count(user, school=None) -> int:
    return finding_counts(user, school)["open"]


def overdue_count(user, school=None) -> int:
    return finding_counts(user, school)["overdue"]


# --- who may issue -------------------------------------------------------------------------------


def issuable_schools(user) -> QuerySet[School]:
    """Schools of the counties the user works for as bureau staff (where they may issue findings)."""
    return scoping.managed_schools(user).filter(county__in=scoping.managed_counties(user))


def may_issue(user) -> bool:
    """Holds a bureau post (or is a superuser): the issue form and the create endpoint exist for them."""
    return scoping.scope_for(user).county_level


# --- teacher fault records -----------------------------------------------------------------------


def faults_visible_to(user) -> QuerySet[TeacherFault]:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return TeacherFault.objects.all()
    return TeacherFault.objects.filter(scoping.county_q(scope, "county_id"))


def fault_list(user, *, person=None, case=None, school=None) -> QuerySet[TeacherFault]:
    qs = faults_visible_to(user).select_related("person", "recorded_by", "case__student", "case__school")
    if person:
        qs = qs.filter(person_id=person)
    if case:
        qs = qs.filter(case_id=case)
    if school:
        qs = qs.filter(case__school_id=school)
    return qs.order_by("-recorded_on", "-id")


# --- reminders (students.notifications) ----------------------------------------------------------


def round_of(finding: Finding) -> str:
    """Which pass of the finding it is in: a reminder raised in one pass is gone in the next.

    ``open``, ``answered-<µs>`` (each answer), ``returned-<µs>`` (each return), ``accepted``.
    """
    if finding.status == F.ANSWERED and finding.answered_at:
        return f"answered-{_microseconds(finding.answered_at)}"
    if finding.status == F.RETURNED and finding.decided_at:
        return f"returned-{_microseconds(finding.decided_at)}"
    return str(finding.status)


def _microseconds(moment: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (two passes of a finding never share one: the row is locked)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _no_longer_late(finding: Finding, due: dt.date | None, today: dt.date) -> bool:
    """An overdue reminder (``due`` given) whose due date moved or passed no more."""
    return due is not None and (due != finding.due_on or not is_overdue(finding, today))


def reminders_done(notes) -> set[int]:
    """Of the finding reminders (kinds ``finding_*``), those whose reason is gone: the finding moved on
    (answered, accepted, returned again), its due date changed, or it is no longer overdue.

    Keys: ``finding:<id>:<round>`` (issued, answered, returned) and ``finding-overdue:<id>:<round>:<due>``.
    """
    from students.notifications import parts

    wanted: dict[int, list[tuple[int, str, dt.date | None]]] = {}
    for note in notes:
        fields = parts(note, "finding-overdue", 3) or parts(note, "finding", 2)
        if not fields:
            continue
        try:
            due = dt.date.fromisoformat(fields[2]) if len(fields) == 3 else None
            wanted.setdefault(int(fields[0]), []).append((note.pk, fields[1], due))
        except ValueError:
            continue
    current = {finding.pk: finding for finding in Finding.objects.filter(pk__in=wanted)}
    today = timezone.localdate()
    done = set()
    for finding_id, items in wanted.items():
        finding = current.get(finding_id)
        for pk, pass_, due in items:
            if finding is None or round_of(finding) != pass_ or _no_longer_late(finding, due, today):
                done.add(pk)
    return done
