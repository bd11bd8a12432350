"""Every write on a finding (通报 / 限期整改) and on a teacher fault record (责任流失认定).

    open ──answer──▶ answered ──accept──▶ accepted
                        └──return──▶ returned ──answer──▶ answered …

One function per use case, one transaction each. A transition locks the finding row, checks the
current state and the actor, and raises a domain error otherwise (InvalidTransition → 409,
OutOfScope → 404, InvalidInput → 400). The finding's history (simple_history) is the audit trail;
it names the actor whether the call comes from a page, the API or a task. Reminders are queued with
``transaction.on_commit``: nobody is told of a change that was rolled back.
"""

import datetime as dt
from collections.abc import Iterable, Sequence

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from casework.models import DropoutCase
from casework.selectors import cases_visible_to
from students import guards, scoping
from students.calendar import add_working_days
from students.errors import Conflict, InvalidInput, InvalidTransition, OutOfScope
from students.models import Notification, Post, School, User
from students.notifications import notify
from students.uploads import CheckedFile, check_scan

from ..models import Finding, FindingAttachment, TeacherFault
from ..policy import policy_for
from . import selectors

F = Finding.Status
MAX_FILES = 10
LONGEST_DUE_DAYS = 366
EVIDENCE = "佐证材料"


# --- roles, loading -----------------------------------------------------------------------------


def _is_bureau(user, finding: Finding) -> bool:
    return scoping.scope_for(user).manages_county(finding.county_id)


def _leads_school(user, finding: Finding) -> bool:
    return scoping.scope_for(user).leads_school(finding.school_id)


def available_actions(user, finding: Finding) -> dict[str, bool]:
    """Which actions to offer this user on this finding (the same checks the services make)."""
    bureau, leader, status = _is_bureau(user, finding), _leads_school(user, finding), finding.status
    return {
        "bureau": bureau,
        "answer": status in selectors.AWAITING_SCHOOL and leader,
        "accept": status == F.ANSWERED and bureau,
        "return": status == F.ANSWERED and bureau,
    }


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise InvalidTransition(f"您的岗位不能{what}")


def _expect(finding: Finding, *allowed: str, action: str) -> None:
    if finding.status not in allowed:
        raise InvalidTransition(f"通报当前为“{finding.get_status_display()}”,不能{action}")


def _load_for_update(user, finding_id) -> Finding:
    """Lock the finding row; a finding the user cannot see does not exist for them."""
    finding = (
        selectors.findings_visible_to(user)
        .select_for_update(of=("self",))
        .select_related("school")
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        raise OutOfScope("通报不存在或您无权查看")
    return finding


def _save(instance: Finding | TeacherFault, user) -> None:
    # simple_history reads the actor from ``_history_user``: the history row names them, with or without a request.
    instance._history_user = user  # type: ignore[union-attr]
    instance.save()


def default_due_on(county_id: int, *, today: dt.date | None = None) -> dt.date:
    """The county's default deadline: ``finding_working_days`` working days after today."""
    today = today or timezone.localdate()
    return add_working_days(today, policy_for(county_id).finding_working_days)


def _check_due(due_on: dt.date, today: dt.date) -> None:
    if due_on < today:
        raise InvalidInput("整改期限不能早于今天")
    if (due_on - today).days > LONGEST_DUE_DAYS:
        raise InvalidInput("整改期限不能超过一年")


# --- reminders ----------------------------------------------------------------------------------


def _school_heads(school_ids: Iterable[int], today: dt.date | None = None) -> dict[int, set[int]]:
    """Each school's principals; a school without a principal: its school leaders."""
    principals: dict[int, set[int]] = {}
    leaders: dict[int, set[int]] = {}
    rows = (
        Post.objects.active(today)
        .filter(role__in=Post.SCHOOL_ROLES, school_id__in=set(school_ids))
        .values_list("school_id", "user_id", "role")
    )
    for school_id, user_id, role in rows:
        (principals if role == Post.Role.PRINCIPAL else leaders).setdefault(school_id, set()).add(user_id)
    return {school_id: principals.get(school_id) or leaders[school_id] for school_id in {*principals, *leaders}}


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _note(finding: Finding, user_id: int, kind: str, text: str) -> Notification:
    return Notification(
        user_id=user_id,
        key=f"finding:{finding.pk}:{selectors.round_of(finding)}",
        kind=kind,
        text=text[:300],
        link=finding.get_absolute_url(),
    )


def _tell_school(finding: Finding, kind: str, text: str) -> None:
    heads = _school_heads([finding.school_id]).get(finding.school_id, set())
    notify([_note(finding, user_id, kind, text) for user_id in sorted(heads)])


def _tell_issuer(finding: Finding, kind: str, text: str) -> None:
    notify([_note(finding, finding.issued_by_id, kind, text)])


# --- the finding's lifecycle --------------------------------------------------------------------


def issue_finding(
    *,
    user,
    school_id: int,
    facts: str,
    requirement: str = "",
    due_on: dt.date | None = None,
    source: str = Finding.Source.INSPECTION,
    metric: str = "",
    period: str = "",
) -> Finding:
    """The bureau issues a 通报 to a school of its county, with a rectification deadline (限期整改).

    The deadline defaults to the county's ``finding_working_days`` working days (official calendar).
    """
    with transaction.atomic():
        school = School.objects.filter(pk=school_id).first()
        if school is None or not scoping.schools_visible_to(user).filter(pk=school.pk).exists():
            raise OutOfScope("学校不存在或您无权查看")
        _require(scoping.scope_for(user).manages_county(school.county_id), "发出通报(须教育局)")
        facts, requirement = (facts or "").strip(), (requirement or "").strip()
        if not facts:
            raise InvalidInput("请填写通报事实")
        if source not in Finding.Source.values:
            raise InvalidInput("未知的通报来源")
        metric, period = (metric or "").strip(), (period or "").strip()
        if source == Finding.Source.METRIC and not metric:
            raise InvalidInput("指标未达标的通报须写明指标")
        today = timezone.localdate()
        due_on = due_on or default_due_on(school.county_id, today=today)
        _check_due(due_on, today)
        finding = Finding(
            county_id=school.county_id,
            school=school,
            source=source,
            metric=metric,
            period=period,
            facts=facts,
            requirement=requirement,
            issued_by=user,
            issued_on=today,
            due_on=due_on,
        )
        _save(finding, user)
        text = f"{school.name}收到教育局通报,请于{due_on:%Y年%m月%d日}前整改并报送:{_short(facts)}"
        transaction.on_commit(lambda: _tell_school(finding, "finding_issued", text))
    return finding


def _checked_files(files: Sequence[UploadedFile | None]) -> list[CheckedFile]:
    """Every file read and checked before anything is written (a refusal names the file)."""
    files = [upload for upload in files or () if upload is not None]
    if len(files) > MAX_FILES:
        raise InvalidInput(f"{EVIDENCE}最多 {MAX_FILES} 个文件,本次 {len(files)} 个")
    checked = [check_scan(upload, what=EVIDENCE) for upload in files]
    for one in checked:
        guards.check_field(FindingAttachment, "name", one.name, "原文件名")
    return checked


def _store(finding: Finding, checked: list[CheckedFile], user) -> list[FindingAttachment]:
    """Write the checked files and their rows; a file written before a failure is removed again."""
    stored: list[FindingAttachment] = []
    try:
        for one in checked:
            attachment = FindingAttachment(
                finding=finding, name=one.name, size=one.size, sha256=one.sha256, uploaded_by=user
            )
            attachment.file.save(f"evidence.{one.extension}", ContentFile(one.content), save=False)
            stored.append(attachment)
            attachment.save()
    except BaseException:
        for attachment in stored:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return stored


def answer_finding(*, user, finding_id: int, answer: str, files: Sequence[UploadedFile | None] = ()) -> Finding:
    """The school reports what it did (整改情况), with evidence files (PDF or JPG).

    Every file is checked before anything is written: one refused file refuses the answer, and
    nothing of it is stored (no answer, no attachment row, no file).
    """
    with transaction.atomic():
        finding = _load_for_update(user, finding_id)
        _expect(finding, *selectors.AWAITING_SCHOOL, action="报送整改情况")
        _require(_leads_school(user, finding), "报送整改情况(须本校校长或校领导)")
        answer = (answer or "").strip()
        if not answer:
            raise InvalidInput("请填写整改措施")
        checked = _checked_files(files)
        finding.status = F.ANSWERED
        finding.answer = answer
        finding.answered_by = user
        finding.answered_at = timezone.now()
        _save(finding, user)
        _store(finding, checked, user)
        count = f",附{len(checked)}个佐证材料" if checked else ""
        text = f"{finding.school.name}已报送整改情况{count},请验收:{_short(finding.facts, 40)}"
        transaction.on_commit(lambda: _tell_issuer(finding, "finding_answered", text))
    return finding


def accept_finding(*, user, finding_id: int, note: str = "") -> Finding:
    """The bureau accepts the school's rectification (验收通过)."""
    with transaction.atomic():
        finding = _load_for_update(user, finding_id)
        _expect(finding, F.ANSWERED, action="验收")
        _require(_is_bureau(user, finding), "验收整改(须教育局)")
        finding.status = F.ACCEPTED
        finding.decided_by = user
        finding.decided_at = timezone.now()
        finding.decision_note = (note or "").strip()
        _save(finding, user)
    return finding


def return_finding(*, user, finding_id: int, note: str, due_on: dt.date | None = None) -> Finding:
    """The bureau sends the answer back (退回重改) with its reasons, optionally with a new deadline."""
    with transaction.atomic():
        finding = _load_for_update(user, finding_id)
        _expect(finding, F.ANSWERED, action="退回")
        _require(_is_bureau(user, finding), "退回整改(须教育局)")
        note = (note or "").strip()
        if not note:
            raise InvalidInput("请填写退回意见")
        if due_on is not None:
            _check_due(due_on, timezone.localdate())
            finding.due_on = due_on
        finding.status = F.RETURNED
        finding.decided_by = user
        finding.decided_at = timezone.now()
        finding.decision_note = note
        _save(finding, user)
        text = (
            f"{finding.school.name}报送的整改情况被教育局退回,请于{finding.due_on:%Y年%m月%d日}前重新整改报送:"
            f"{_short(note)}"
        )
        transaction.on_commit(lambda: _tell_school(finding, "finding_returned", text))
    return finding


# --- the daily reminder -------------------------------------------------------------------------


def remind_overdue_findings(*, today: dt.date | None = None) -> int:
    """Remind the school's principals and the issuer of every overdue finding (open or returned, due
    date passed). Idempotent: one reminder per person, finding, pass and due date; returns how many
    were new. A reminder disappears once the finding is answered (selectors.reminders_done)."""
    today = today or timezone.localdate()
    overdue = list(Finding.objects.filter(selectors.overdue_q(today)).select_related("school").order_by("due_on", "pk"))
    heads = _school_heads({finding.school_id for finding in overdue}, today)
    notes: list[Notification] = []
    for finding in overdue:
        late = (today - finding.due_on).days
        text = (
            f"通报整改逾期:{finding.school.name}应于{finding.due_on:%Y年%m月%d日}前报送整改情况,"
            f"已逾期{late}天:{_short(finding.facts, 40)}"
        )
        for user_id in sorted({*heads.get(finding.school_id, ()), finding.issued_by_id}):
            notes.append(
                Notification(
                    user_id=user_id,
                    key=f"finding-overdue:{finding.pk}:{selectors.round_of(finding)}:{finding.due_on.isoformat()}",
                    kind="finding_overdue",
                    text=text[:300],
                    link=finding.get_absolute_url(),
                )
            )
    return notify(notes)


# --- teacher fault records (责任流失) ------------------------------------------------------------


def record_fault(*, user, person_id: int, case_id: int, reason: str) -> TeacherFault:
    """The bureau records that a confirmed dropout was lost through a person's fault (it vetoes their
    appraisal). The case must belong to a school of the bureau's county, the person must hold or have
    held a post in that county; one record per person and case."""
    with transaction.atomic():
        case = cases_visible_to(user).select_related("school").filter(pk=case_id).first()
        if case is None:
            raise OutOfScope("个案不存在或您无权查看")
        county_id = case.school.county_id
        _require(scoping.scope_for(user).manages_county(county_id), "认定责任流失(须教育局)")
        if case.status in (DropoutCase.Status.SUSPECTED, DropoutCase.Status.DISMISSED):
            raise InvalidTransition(f"个案当前为“{case.get_status_display()}”,未认定辍学,不能认定责任流失")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("请填写认定理由")
        person = User.objects.filter(pk=person_id).first()
        if person is None or not Post.objects.filter(user=person, county_id=county_id).exists():
            raise InvalidInput("责任人须为本县教职工或干部")
        fault = TeacherFault(county_id=county_id, person=person, case=case, reason=reason, recorded_by=user)
        try:
            with transaction.atomic():
                _save(fault, user)
        except IntegrityError:
            raise Conflict(f"已认定{person}对该个案的责任流失") from None
    return fault
