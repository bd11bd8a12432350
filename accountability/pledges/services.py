"""Every write on a 目标责任书 and on the county's printable templates.

One function per use case, one transaction each. A pledge the user cannot see does not exist for
them (OutOfScope → 404); a pledge they see but may not write is InvalidTransition (409), as is a
change to a signed pledge; bad input is InvalidInput (400) with a Chinese message and nothing
written. The pledge's history (simple_history) is the audit trail and names the actor. A signed
scan is checked (PDF or JPG, students.uploads) before anything is written; it is stored
under an unguessable name outside any served URL, and a replaced scan's file is deleted only once
the replacement is committed (its name, size and checksum stay in the history).

Who writes (selectors.may_manage): 教育局—校长 the bureau; 校长—班主任 and 校长—任课教师 the school's
principal / school leaders or the bureau; 学校—家长 the school's leaders or the student's class
teacher. Who may be named (selectors.party_a_q / party_b_q): only people holding the right post —
naming anyone else would hand them the pledge (and, for a teacher, what it says about the school).
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from students import scoping
from students.errors import Conflict, InvalidInput, InvalidTransition, OutOfScope
from students.models import School, Student, Term, User
from students.uploads import check_scan

from ..models import Pledge, PledgeTemplate
from ..models.pledges import PledgeKind
from ..policy import policy_for
from . import documents, selectors

K = PledgeKind
SCAN = "责任书扫描件"


def _save(instance: Pledge | PledgeTemplate, user) -> None:
    # simple_history reads the actor from ``_history_user``: the history row names them, with or without a request.
    instance._history_user = user  # type: ignore[union-attr]
    instance.save()


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise InvalidTransition(f"您的岗位不能{what}")


def _check_kind(kind: str) -> str:
    if kind not in K.values:
        raise InvalidInput(f"未知的责任书类别(可选:{'、'.join(K.values)})")
    return kind


def _load_for_update(user, pledge_id) -> Pledge:
    """Lock the pledge row; a pledge the user cannot see does not exist for them."""
    pledge = (
        selectors.pledges_visible_to(user)
        .select_for_update(of=("self",))
        .select_related("school", "student")
        .filter(pk=pledge_id)
        .first()
    )
    if pledge is None:
        raise OutOfScope("责任书不存在或您无权查看")
    return pledge


def default_targets(kind: str, school: School) -> list[str]:
    """The targets a pledge of ``kind`` at ``school`` gets when none are written (the school's dropout-rate
    target, the county's thresholds)."""
    return documents.default_targets(
        kind, dropout_target=school.dropout_rate_target, policy=policy_for(school.county_id)
    )


def _party(person_id, eligible, why: str) -> User:
    person = User.objects.filter(eligible, pk=person_id).first() if person_id else None
    if person is None:
        raise InvalidInput(why)
    return person


def _family_student(user, school: School, student_id) -> Student:
    if not student_id:
        raise InvalidInput("学校—家长责任书须选择学生")
    student = scoping.students_visible_to(user).select_related("classroom").filter(pk=student_id).first()
    if student is None:
        raise OutOfScope("学生不存在或您无权查看")
    if student.school_id != school.pk:
        raise InvalidInput("学生不是本校学生")
    if student.status not in selectors.FAMILY_STATUSES:
        raise InvalidInput(f"该学生状态为“{student.get_status_display()}”,不能签订家校责任书")
    return student


def create_pledge(
    *,
    user,
    kind: str,
    school_id: int,
    term_id: int,
    party_a_id: int,
    party_b_id: int | None = None,
    student_id: int | None = None,
    guardian_name: str = "",
    targets: list[str] | None = None,
) -> Pledge:
    """Put a 目标责任书 on file (unsigned until its signed scan and date are recorded).

    Without targets the pledge gets the defaults of its kind (:func:`default_targets`). One pledge per
    term, school, kind and 乙方 (or student, for 学校—家长): a second is a 409.
    """
    with transaction.atomic():
        _check_kind(kind)
        school = School.objects.select_related("county").filter(pk=school_id).first() if school_id else None
        if school is None or not scoping.schools_visible_to(user).filter(pk=school.pk).exists():
            raise OutOfScope("学校不存在或您无权查看")
        family = kind == K.SCHOOL_FAMILY
        guardian_name = " ".join((guardian_name or "").split())
        student = _family_student(user, school, student_id) if family else None
        _require(selectors.may_manage(user, kind, school, student), f"签订{K(kind).label}责任书")
        if not family and (student_id or guardian_name):
            raise InvalidInput("只有学校—家长责任书填写学生和家长")
        terms = Term.objects.select_related("school_year").filter(school_year__county_id=school.county_id)
        term = terms.filter(pk=term_id).first() if term_id else None
        if term is None:
            raise InvalidInput("学期不存在或不是本县的学期")
        party_a = _party(party_a_id, selectors.party_a_q(kind, school, term), selectors.PARTY_A_RULE[kind])
        party_b = None
        if family:
            if party_b_id:
                raise InvalidInput("学校—家长责任书的乙方是家长,不选教职工")
            if not guardian_name:
                raise InvalidInput("请填写家长(监护人)姓名")
        else:
            party_b = _party(party_b_id, selectors.party_b_q(kind, school, term), selectors.PARTY_B_RULE[kind])
            if party_b.pk == party_a.pk:
                raise InvalidInput("甲乙双方不能是同一人")
        cleaned = documents.clean_targets(targets) or default_targets(kind, school)
        twin = Pledge.objects.filter(term=term, school=school, kind=kind)
        twin = twin.filter(student=student) if family else twin.filter(party_b=party_b)
        if twin.exists():
            other = student.name if student else str(party_b)
            raise Conflict(f"{term}已有与{other}的{K(kind).label}责任书,请在原责任书上办理")
        pledge = Pledge(
            county_id=school.county_id,
            school=school,
            term=term,
            kind=kind,
            party_a=party_a,
            party_b=party_b,
            student=student,
            guardian_name=guardian_name,
            targets=cleaned,
            created_by=user,
        )
        _save(pledge, user)
    return pledge


def record_signature(*, user, pledge_id: int, signed_on: dt.date | None, scan: UploadedFile | None) -> Pledge:
    """Record the signed paper: the scan (PDF or JPG) and the date it was signed (not in the future).

    Recording again replaces the scan (a re-signed or better copy): the history keeps the former
    file's name, size and checksum, and the former file is deleted once the replacement is committed.
    A refused scan stores nothing and changes nothing.
    """
    with transaction.atomic():
        pledge = _load_for_update(user, pledge_id)
        _require(selectors.may_manage_pledge(user, pledge), "登记此责任书的签订(须甲方一侧)")
        if signed_on is None:
            raise InvalidInput("请填写签订日期")
        if signed_on > timezone.localdate():
            raise InvalidInput("签订日期不能晚于今天")
        checked = check_scan(scan, what=SCAN)
        former = pledge.scan.name
        pledge.scan.save(f"scan.{checked.extension}", ContentFile(checked.content), save=False)
        stored = pledge.scan.name
        try:
            pledge.scan_name = checked.name
            pledge.scan_size = checked.size
            pledge.scan_sha256 = checked.sha256
            pledge.signed_on = signed_on
            _save(pledge, user)
        except BaseException:
            pledge.scan.storage.delete(stored)
            raise
        if former and former != stored:
            storage = pledge.scan.storage
            transaction.on_commit(lambda: storage.delete(former))
    return pledge


def update_targets(*, user, pledge_id: int, targets: list[str]) -> Pledge:
    """Rewrite the targets of an unsigned pledge (a signed one says what was signed: 409)."""
    with transaction.atomic():
        pledge = _load_for_update(user, pledge_id)
        _require(selectors.may_manage_pledge(user, pledge), "修改此责任书")
        if selectors.is_signed(pledge):
            raise InvalidTransition("责任书已签订,不能修改目标")
        cleaned = documents.clean_targets(targets)
        if not cleaned:
            raise InvalidInput("请至少填写一项目标")
        pledge.targets = cleaned
        _save(pledge, user)
    return pledge


def delete_pledge(*, user, pledge_id: int) -> None:
    """Remove a pledge put on file by mistake, while unsigned (the history keeps the deleted row)."""
    with transaction.atomic():
        pledge = _load_for_update(user, pledge_id)
        _require(selectors.may_manage_pledge(user, pledge), "删除此责任书")
        if selectors.is_signed(pledge) or pledge.scan:
            raise InvalidTransition("责任书已签订,不能删除")
        pledge._history_user = user  # type: ignore[attr-defined]
        pledge.delete()


def save_template(*, user, county_id: int, kind: str, title: str, body: str) -> PledgeTemplate:
    """The bureau writes the printable text of one kind for its county (placeholders in braces, checked)."""
    with transaction.atomic():
        if not county_id or not scoping.managed_counties(user).filter(pk=county_id).exists():
            raise OutOfScope("县(区)不存在或您无权管理")
        _check_kind(kind)
        title, body = (title or "").strip(), (body or "").strip()
        if not title:
            raise InvalidInput("请填写标题")
        if not body:
            raise InvalidInput("请填写正文")
        documents.check_template(title, body)
        row = PledgeTemplate.objects.select_for_update().filter(county_id=county_id, kind=kind).first()
        if row is None:
            row = PledgeTemplate(county_id=county_id, kind=kind)
        row.title, row.body = title, body
        row.updated_by, row.updated_at = user, timezone.now()
        try:
            with transaction.atomic():
                _save(row, user)
        except IntegrityError:
            raise Conflict("模板正被他人同时修改,请刷新后重试") from None
    return row
