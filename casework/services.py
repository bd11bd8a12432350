"""Every write on a dropout case: one function per use case, one transaction, one CaseEvent.

Each transition locks the case row (``select_for_update``), checks the current state and the
actor's role, and raises a domain error otherwise (InvalidTransition → 409, OutOfScope → 404,
InvalidInput → 400). Two concurrent transitions on one case cannot both succeed: the second
waits for the lock and then finds the state already moved.
"""

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils import timezone, translation
from simple_history.utils import bulk_update_with_history

from students import guards, scoping
from students.attendance.selectors import attended_school_days
from students.calendar import add_working_days
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Classroom, Post, RiskFlag, RiskLevel, Student, User
from students.notifications import notify

from . import selectors
from .models import CaseActivity, CaseEvent, CaseHandover, CountyPolicy, DropoutCase, FollowUp, Measure, ReturnPlan

S = DropoutCase.Status


# --- policy, roles ----------------------------------------------------------------------------


def policy_for(county_id: int) -> CountyPolicy:
    policy = CountyPolicy.objects.filter(county_id=county_id).first()
    if policy is None:
        try:
            with transaction.atomic():
                policy = CountyPolicy.objects.create(county_id=county_id)
        except IntegrityError:
            policy = CountyPolicy.objects.get(county_id=county_id)
    return policy


def _is_bureau(user, case: DropoutCase) -> bool:
    return scoping.scope_for(user).manages_county(case.school.county_id)


def _is_school_leader(user, case: DropoutCase) -> bool:
    return scoping.scope_for(user).leads_school(case.school_id)


def _is_class_teacher(user, case: DropoutCase) -> bool:
    return scoping.scope_for(user).teaches_classroom(case.classroom_id)


def _may_escalate(user, case: DropoutCase, proposal: str) -> bool:
    """A school leader escalates once the proposal is due (``proposal`` not empty); the bureau whenever it decides."""
    return _is_bureau(user, case) or (_is_school_leader(user, case) and bool(proposal))


def available_actions(user, case: DropoutCase, *, proposal: str | None = None) -> dict[str, bool]:
    """Which actions to offer this user on this case (the same checks the services make).

    ``proposal`` is ``escalation_proposal(case)`` when the caller has it already (saves its queries).
    """
    bureau, leader = _is_bureau(user, case), _is_school_leader(user, case)
    teacher, status = _is_class_teacher(user, case), case.status
    may_escalate = status == S.RETURNING and (leader or bureau)
    if may_escalate and not bureau:
        may_escalate = _may_escalate(user, case, escalation_proposal(case) if proposal is None else proposal)
    return {
        "bureau": bureau,
        "edit_report": status == S.SUSPECTED and (teacher or leader or bureau),
        "submit": status == S.SUSPECTED and leader and not case.reported_on,
        "decide": status == S.SUSPECTED and bureau and bool(case.reported_on),
        "plan": status in DropoutCase.PLANNABLE and (leader or bureau),
        "contact": status in DropoutCase.CONTACTABLE and _may_contact(user, case),
        "escalate": may_escalate,
        "notice": status in DropoutCase.PERSUADING and (leader or bureau),
        "return": status in DropoutCase.PERSUADING and (leader or bureau or selectors.is_owner(user, case)),
        "close": status == S.RETURNED and bureau,
        "handover": case.is_open and bureau,
        "follow_up": case.is_open and _may_contact(user, case),
    }


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise InvalidTransition(f"您的岗位不能{what}")


def _load_for_update(user, case_id) -> DropoutCase:
    """Lock the case row; a case the user cannot see does not exist for them."""
    case = (
        selectors.cases_visible_to(user)
        .select_for_update(of=("self",))
        .select_related("school", "student", "classroom")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise OutOfScope("个案不存在或您无权查看")
    return case


def _expect(case: DropoutCase, *allowed: str, action: str) -> None:
    if case.status not in allowed:
        raise InvalidTransition(f"个案当前为“{case.get_status_display()}”,不能{action}")


def record_event(case: DropoutCase, *, by, action: str, from_status: str = "", note: str = "") -> None:
    CaseEvent.objects.create(
        case=case,
        by=by,
        action=action,
        from_status=from_status,
        to_status=case.status,
        note=note,
        school_id=case.school_id,
    )


def _set_student_status(student: Student, status: str, *, by) -> None:
    if student.status == status:
        return
    student.status = status
    student.save(update_fields=["status", "updated_at"])
    if status != Student.Status.ENROLLED:
        # Off the roll, the student's early warnings are the case's business: they leave the risk
        # lists and counts (the rules evaluate enrolled students only, so they do not come back).
        flags = list(RiskFlag.objects.filter(student=student, status__in=RiskFlag.OPEN_STATUSES))
        why = "认定辍学" if status == Student.Status.DROPPED_OUT else "离开在读名单"
        for flag in flags:
            flag.status, flag.handled_by, flag.handled_at = RiskFlag.Status.RESOLVED, by, timezone.now()
            flag.handling_note = f"学生已{why},由个案跟进(学籍状态:{student.get_status_display()})"
        fields = ["status", "handled_by", "handled_at", "handling_note"]
        bulk_update_with_history(flags, RiskFlag, fields, default_user=by)  # the flags' history keeps it


# --- deadlines --------------------------------------------------------------------------------


class _NotLoaded(enum.Enum):
    """An annotation of with_due_facts that the case was not loaded with (a sentinel mypy can narrow)."""

    TOKEN = enum.auto()


_NOT_LOADED: Final = _NotLoaded.TOKEN


def with_due_facts(cases: QuerySet[DropoutCase]) -> QuerySet[DropoutCase]:
    """``cases`` annotated with what refresh_due reads from other tables, sparing it two queries per
    case when many are refreshed at once (the daily job)."""
    return cases.annotate(
        last_activity_on=Subquery(
            CaseActivity.objects.filter(case=OuterRef("pk")).order_by("-occurred_on").values("occurred_on")[:1]
        ),
        pending_follow_up_on=Subquery(
            FollowUp.objects.filter(case=OuterRef("pk"), done_on__isnull=True).order_by("due_on").values("due_on")[:1]
        ),
    )


def refresh_due(case: DropoutCase, *, policy: CountyPolicy | None = None) -> None:
    """Recompute the next deadline of a case (working days, per county policy) and store it.

    Reads the last contact and the next pending follow-up from the case's annotations when it
    was loaded through :func:`with_due_facts`, else queries them.
    """
    policy = policy or policy_for(case.school.county_id)
    due, kind = None, ""
    if case.status == S.SUSPECTED:
        if case.reported_on is None:
            due, kind = add_working_days(case.detected_on, policy.report_working_days), "report"
        else:
            due, kind = add_working_days(case.reported_on, policy.verify_working_days), "verify"
    elif case.status == S.CONFIRMED:
        if case.verified_on is None:  # verify_case sets both; only a hand-edited row lacks it
            raise InvalidTransition("个案已认定但没有认定日期,请联系教育局更正")
        due, kind = add_working_days(case.verified_on, policy.plan_working_days), "plan"
    elif case.status in DropoutCase.PERSUADING:
        plan = selectors.current_plan(case)
        last = getattr(case, "last_activity_on", _NOT_LOADED)
        if isinstance(last, _NotLoaded):
            last = case.activities.aggregate(last=Max("occurred_on"))["last"]
        started = plan.created_at.date() if plan else case.verified_on
        due = add_working_days(max(d for d in (last, started) if d), policy.contact_interval_working_days)
        kind = "contact"
        if plan and plan.target_return_on < due:
            due, kind = plan.target_return_on, "return_target"
    elif case.status == S.RETURNED:
        pending_on = getattr(case, "pending_follow_up_on", _NOT_LOADED)
        if isinstance(pending_on, _NotLoaded):
            pending = case.follow_ups.filter(done_on__isnull=True).order_by("due_on").first()
            pending_on = pending.due_on if pending else None
        if pending_on:
            due, kind = pending_on, "follow_up"
    if (case.next_due_on, case.due_kind) != (due, kind):
        case.next_due_on, case.due_kind = due, kind
        case.save(update_fields=["next_due_on", "due_kind", "updated_at"])


DUE_LABELS = {
    "report": "上报教育局",
    "verify": "教育局核实",
    "plan": "制定一人一案",
    "contact": "劝返联系",
    "return_target": "目标返校",
    "follow_up": "复学跟踪",
}


def escalation_proposal(case: DropoutCase, *, today: dt.date | None = None) -> str:
    """Why the case should go to joint persuasion (联合劝返) now, or '' if it need not yet."""
    if case.status != S.RETURNING:
        return ""
    today = today or timezone.localdate()
    policy = policy_for(case.school.county_id)
    first_plan = case.plans.order_by("version").first()
    since = first_plan.created_at.date() if first_plan else case.verified_on
    failed = selectors.failed_contacts(case, since=since)
    if failed >= policy.escalate_after_failed_contacts:
        return f"已{failed}次劝返未果"
    if since and (today - since).days >= policy.escalate_after_days:
        return f"劝返已超过{policy.escalate_after_days}天"
    return ""


# --- opening a case ---------------------------------------------------------------------------


@dataclasses.dataclass
class ReportForm:
    """The 辍学学生情况报告表 fields a school fills in."""

    last_attended_on: dt.date | None = None
    dropped_out_on: dt.date | None = None
    reason: str = ""
    reason_detail: str = ""
    whereabouts: str = ""
    family_situation: str = ""
    measures_taken: str = ""
    guardian_opinion: str = ""
    teacher_opinion: str = ""
    office_opinion: str = ""
    principal_opinion: str = ""

    def validate(self) -> None:
        if self.reason and self.reason not in DropoutCase.Reason.values:
            raise InvalidInput("未知的辍学原因类别")
        if self.whereabouts and self.whereabouts not in DropoutCase.Whereabouts.values:
            raise InvalidInput("未知的去向")
        today = timezone.localdate()
        for value, label in ((self.last_attended_on, "最后到校日期"), (self.dropped_out_on, "辍学时间")):
            if value and value > today:
                raise InvalidInput(f"{label}不能晚于今天")


CLOSED_STUDENT_STATUSES = (Student.Status.GRADUATED, Student.Status.DECEASED)


def _flag_may_open_case(flag: RiskFlag) -> bool:
    """Only a red early warning that nobody dismissed becomes a suspected-dropout case in one click."""
    return flag.level == RiskLevel.RED and flag.status != RiskFlag.Status.DISMISSED


def can_open_case(user, student: Student, flag: RiskFlag | None = None) -> bool:
    """Whether to offer 报告疑似辍学 (or 一键转为个案 from ``flag``): the checks of ``open_case``, without writing."""
    return (
        student.status not in CLOSED_STUDENT_STATUSES
        and student.school_id is not None
        and (flag is None or _flag_may_open_case(flag))
        and scoping.scope_for(user).manages_student(student)
    )


def open_case(
    *,
    user,
    student_id: int,
    source: str = DropoutCase.Source.MANUAL,
    form: ReportForm | None = None,
    flag_id: int | None = None,
    note: str = "",
) -> DropoutCase:
    """Report a suspected dropout (疑似辍学). A student has at most one open case."""
    student = scoping.students_visible_to(user).select_related("school", "classroom").filter(pk=student_id).first()
    if student is None:
        raise OutOfScope("学生不存在或您无权查看")
    _require(scoping.scope_for(user).manages_student(student), "报告疑似辍学")
    if student.school is None:
        raise InvalidInput("该学生没有学籍学校,不能建立个案")
    if student.status in CLOSED_STUDENT_STATUSES:
        raise InvalidInput(f"该学生状态为“{student.get_status_display()}”,不能报告疑似辍学")
    if source not in DropoutCase.Source.values:
        raise InvalidInput("未知的个案来源")
    form = form or ReportForm()
    form.validate()
    today = timezone.localdate()
    flag = None
    if flag_id is not None:
        flag = RiskFlag.objects.filter(pk=flag_id, student=student).first()
        if flag is None:
            raise OutOfScope("预警不存在")
        if not _flag_may_open_case(flag):
            raise InvalidInput("只有未驳回的红色预警可以一键转为疑似辍学个案")
        dates = (flag.evidence or {}).get("dates") or []
        if dates and form.last_attended_on is None:
            form.last_attended_on = dt.date.fromisoformat(dates[0]) - dt.timedelta(days=1)
        if dates and form.dropped_out_on is None:
            form.dropped_out_on = dt.date.fromisoformat(dates[0])
        form.measures_taken = form.measures_taken or f"考勤预警:{flag.evidence_text}"
    previous = student.cases.exclude(status__in=DropoutCase.OPEN_STATUSES).order_by("-created_at").first()
    try:
        with transaction.atomic():
            case = DropoutCase.objects.create(
                student=student,
                school=student.school,
                classroom_id=student.classroom_id,
                source=source,
                source_flag=flag,
                previous_case=previous if previous and previous.status == S.CLOSED else None,
                detected_on=today,
                created_by=user,
                **dataclasses.asdict(form),
            )
            record_event(case, by=user, action="报告疑似辍学", note=note or (flag.evidence_text if flag else ""))
            if flag is not None and flag.is_open:
                flag.status = RiskFlag.Status.ACKNOWLEDGED
                flag.handled_by = user
                flag.handled_at = timezone.now()
                flag.handling_note = "已转为疑似辍学个案"
                flag.save(update_fields=["status", "handled_by", "handled_at", "handling_note"])
            refresh_due(case)
    except IntegrityError:
        raise InvalidTransition("该学生已有未结的辍学个案") from None
    return case


def update_report(*, user, case_id: int, changes: dict) -> DropoutCase:
    """Fill in or correct the report form while the case is still suspected (only the given fields)."""
    fields = set(ReportForm.__dataclass_fields__)
    unknown = set(changes) - fields
    if unknown:
        raise InvalidInput(f"报告表没有这些栏目:{', '.join(sorted(unknown))}")
    with transaction.atomic():
        case = _load_for_update(user, case_id)
        _expect(case, S.SUSPECTED, action="修改报告表")
        _require(_is_class_teacher(user, case) or _is_school_leader(user, case) or _is_bureau(user, case), "修改报告表")
        form = ReportForm(**{name: getattr(case, name) for name in fields} | changes)
        form.validate()
        for field, value in dataclasses.asdict(form).items():
            setattr(case, field, "" if value is None and field not in ("last_attended_on", "dropped_out_on") else value)
        case.save()
        record_event(case, by=user, action="填写报告表", from_status=case.status)
    return case


@transaction.atomic
def submit_report(*, user, case_id: int, note: str = "") -> DropoutCase:
    """The principal signs the 报告表 and sends it to the bureau."""
    case = _load_for_update(user, case_id)
    _expect(case, S.SUSPECTED, action="上报")
    _require(_is_school_leader(user, case), "签发报告表(须本校校长或校领导)")
    if case.reported_on:
        raise InvalidTransition("报告表已上报教育局,等待核实")
    required = [("reason", "辍学原因"), ("last_attended_on", "最后到校日期")]
    if case.student.status == Student.Status.NOT_ENROLLED:
        required.pop()  # a child screening found who never attended has no last day at school
    missing = [label for field, label in required if not getattr(case, field)]
    if missing:
        raise InvalidInput(f"报告表不完整:请填写{'、'.join(missing)}")
    case.signed_by = user
    case.reported_on = timezone.localdate()
    case.save()
    record_event(case, by=user, action="校长签发并上报教育局", from_status=case.status, note=note)
    refresh_due(case)
    notify_bureau(case, f"{case.school.name}上报疑似辍学:{case.student.name},请在期限内核实")
    return case


# --- bureau decisions -------------------------------------------------------------------------


@transaction.atomic
def verify_case(*, user, case_id: int, note: str = "") -> DropoutCase:
    """The bureau confirms the dropout: the case goes on the ledger, the student's status follows."""
    case = _load_for_update(user, case_id)
    _expect(case, S.SUSPECTED, action="认定")
    _require(_is_bureau(user, case), "认定辍学(须教育局)")
    if not case.reported_on:
        raise InvalidTransition("学校尚未签发上报报告表,不能认定")
    case.status = S.CONFIRMED
    case.verified_on = timezone.localdate()
    if case.dropped_out_on is None:
        stopped = case.last_attended_on + dt.timedelta(days=1) if case.last_attended_on else case.detected_on
        case.dropped_out_on = stopped
    case.save()
    _set_student_status(case.student, Student.Status.DROPPED_OUT, by=user)
    record_event(case, by=user, action="教育局认定辍学", from_status=S.SUSPECTED, note=note)
    refresh_due(case)
    return case


DISMISSAL_STUDENT_STATUS: dict[str, str] = {
    DropoutCase.DismissReason.TRANSFERRED: Student.Status.TRANSFERRED_OUT,
    DropoutCase.DismissReason.SUSPENDED: Student.Status.SUSPENDED,
    DropoutCase.DismissReason.DEFERRED: Student.Status.SUSPENDED,
    DropoutCase.DismissReason.UNFIT: Student.Status.SUSPENDED,
    DropoutCase.DismissReason.DECEASED: Student.Status.DECEASED,
}


@transaction.atomic
def dismiss_case(*, user, case_id: int, reason: str, note: str = "") -> DropoutCase:
    """The bureau finds it is not a dropout (transfer, approved suspension, illness, error...)."""
    case = _load_for_update(user, case_id)
    _expect(case, S.SUSPECTED, action="排除")
    _require(_is_bureau(user, case), "排除疑似辍学(须教育局)")
    if reason not in DropoutCase.DismissReason.values:
        raise InvalidInput("请选择排除原因")
    case.status = S.DISMISSED
    case.dismiss_reason = reason
    case.verified_on = timezone.localdate()
    case.save()
    if reason in DISMISSAL_STUDENT_STATUS:
        _set_student_status(case.student, DISMISSAL_STUDENT_STATUS[reason], by=user)
    label = DropoutCase.DismissReason(reason).label
    record_event(case, by=user, action=f"教育局排除:{label}", from_status=S.SUSPECTED, note=note)
    refresh_due(case)
    return case


# --- 一人一案 -----------------------------------------------------------------------------------


@dataclasses.dataclass
class PlanInput:
    reason_analysis: str
    measures: list[str]
    method: str
    target_return_on: dt.date
    school_leader_id: int
    class_teacher_id: int
    township_cadre_id: int
    village_cadre_id: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "PlanInput":
        """From parsed input named as in the API and the form (``school_leader``: a user id, …)."""
        return cls(
            reason_analysis=data.get("reason_analysis", ""),
            measures=list(data.get("measures") or []),
            method=data.get("method", ""),
            target_return_on=data["target_return_on"],
            school_leader_id=data["school_leader"],
            class_teacher_id=data["class_teacher"],
            township_cadre_id=data["township_cadre"],
            village_cadre_id=data.get("village_cadre"),
        )


def _check_plan(plan: PlanInput, case: DropoutCase) -> None:
    if not plan.reason_analysis.strip() or not plan.method.strip():
        raise InvalidInput("请填写原因分析和劝返方式")
    unknown = [m for m in plan.measures if m not in Measure.values]
    if unknown or not plan.measures:
        raise InvalidInput("请选择帮扶措施(资助、补习、心理辅导、家访、法治宣传、送教上门、结对帮扶)")
    if plan.target_return_on < timezone.localdate():
        raise InvalidInput("目标返校日期不能早于今天")
    people = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=[plan.school_leader_id, plan.class_teacher_id, plan.township_cadre_id, plan.village_cadre_id]
        )
    }
    for pk, label in (
        (plan.school_leader_id, "校领导"),
        (plan.class_teacher_id, "班主任"),
        (plan.township_cadre_id, "乡镇干部"),
    ):
        if pk not in people:
            raise InvalidInput(f"请指定{label}责任人")
    if plan.village_cadre_id and plan.village_cadre_id not in people:
        raise InvalidInput("村干部责任人不存在")
    # Only people holding the right post for this student may be named: naming someone else would
    # give them the case (and the student's record) through the plan.
    allowed = selectors.plan_candidates(case, case.plans.filter(is_current=True).first())
    checks: tuple[tuple[int | None, str, str], ...] = (
        (plan.school_leader_id, "leaders", "校领导责任人须是本校的校长或校领导"),
        (plan.class_teacher_id, "teachers", "班主任责任人须是本校的班主任"),
        (plan.township_cadre_id, "township", "乡镇干部责任人须是学生所在乡镇的干部"),
        (plan.village_cadre_id, "village", "村干部责任人须是学生所在村的干部"),
    )
    for person_id, pool, why in checks:
        if person_id and person_id not in {person for person, _label in allowed[pool]}:
            raise InvalidInput(why)


@transaction.atomic
def make_plan(*, user, case_id: int, plan: PlanInput, note: str = "") -> ReturnPlan:
    """Write the return plan (confirmed → returning) or revise it (a new version; the old one is kept)."""
    case = _load_for_update(user, case_id)
    _expect(case, *DropoutCase.PLANNABLE, action="制定或修改一人一案")
    _require(_is_school_leader(user, case) or _is_bureau(user, case), "制定一人一案(须校领导或教育局)")
    _check_plan(plan, case)
    previous = case.plans.filter(is_current=True).first()
    if previous:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    new = ReturnPlan.objects.create(
        case=case,
        version=(previous.version + 1) if previous else 1,
        reason_analysis=plan.reason_analysis.strip(),
        measures=list(dict.fromkeys(plan.measures)),
        method=plan.method.strip(),
        target_return_on=plan.target_return_on,
        school_leader_id=plan.school_leader_id,
        class_teacher_id=plan.class_teacher_id,
        township_cadre_id=plan.township_cadre_id,
        village_cadre_id=plan.village_cadre_id,
        lead_is_township=previous.lead_is_township if previous else False,
        created_by=user,
    )
    case._current_plan = [new]
    before = case.status
    if case.status == S.CONFIRMED:
        case.status = S.RETURNING
        case.save()
    record_event(case, by=user, action=f"制定一人一案(第{new.version}版)", from_status=before, note=note)
    refresh_due(case)
    notify_owners(case, new, f"您被指定为{case.student.name}的劝返责任人(一人一案第{new.version}版)")
    return new


def notify_owners(case: DropoutCase, plan: ReturnPlan, text: str) -> None:
    from students.models import Notification

    notify(
        [
            Notification(
                user_id=owner,
                key=f"case-owner:{case.pk}:v{plan.version}",
                kind="case_owner",
                text=text,
                link=case.get_absolute_url(),
            )
            for owner in plan.owner_ids
        ]
    )


def _may_contact(user, case: DropoutCase) -> bool:
    scope = scoping.scope_for(user)
    student = case.student
    residence = bool(student.village_id) and (
        student.village_id in scope.village_ids
        or (student.village is not None and student.village.township_id in scope.township_ids)
    )
    return (
        _is_class_teacher(user, case)
        or _is_school_leader(user, case)
        or _is_bureau(user, case)
        or selectors.is_owner(user, case)
        or residence
    )


@dataclasses.dataclass
class ActivityInput:
    occurred_on: dt.date
    kind: str
    outcome: str
    participants: str
    target: str = CaseActivity.Target.BOTH
    content: str = ""
    next_step: str = ""
    next_step_on: dt.date | None = None


@transaction.atomic
def add_activity(*, user, case_id: int, activity: ActivityInput) -> CaseActivity:
    """Log a persuasion contact (劝返记录) or a follow-up visit."""
    case = _load_for_update(user, case_id)
    _expect(case, *DropoutCase.CONTACTABLE, action="记录劝返/跟踪")
    _require(_may_contact(user, case), "记录劝返(须责任人、本校教师或教育局)")
    if activity.kind not in CaseActivity.Kind.values:
        raise InvalidInput("未知的劝返方式")
    if activity.outcome not in CaseActivity.Outcome.values:
        raise InvalidInput("未知的劝返结果")
    if activity.target not in CaseActivity.Target.values:
        raise InvalidInput("未知的劝返对象")
    if activity.occurred_on > timezone.localdate():
        raise InvalidInput("劝返日期不能晚于今天")
    if not activity.participants.strip():
        raise InvalidInput("请填写参与人员")
    if activity.next_step_on and activity.next_step_on < activity.occurred_on:
        raise InvalidInput("下一步日期不能早于本次日期")
    row = CaseActivity.objects.create(
        case=case,
        occurred_on=activity.occurred_on,
        kind=activity.kind,
        target=activity.target,
        participants=activity.participants.strip(),
        content=activity.content.strip(),
        outcome=activity.outcome,
        next_step=activity.next_step.strip(),
        next_step_on=activity.next_step_on,
        created_by=user,
        school_id=case.school_id,
    )
    refresh_due(case)
    return row


@transaction.atomic
def escalate_case(*, user, case_id: int, note: str = "") -> DropoutCase:
    """Joint persuasion (联合劝返): the township cadre becomes the lead."""
    case = _load_for_update(user, case_id)
    _expect(case, S.RETURNING, action="升级为联合劝返")
    _require(_is_school_leader(user, case) or _is_bureau(user, case), "升级为联合劝返(须校领导或教育局)")
    why = escalation_proposal(case)
    if not _may_escalate(user, case, why):
        raise InvalidTransition("尚未达到联合劝返条件(多次劝返未果或劝返超过期限),如确需升级请联系教育局")
    plan = selectors.current_plan(case)
    if plan is None:  # make_plan moved the case to returning; only a hand-edited row lacks a plan
        raise InvalidTransition("个案没有一人一案,不能升级为联合劝返")
    plan.lead_is_township = True
    plan.save(update_fields=["lead_is_township"])
    case.status = S.ESCALATED
    case.save()
    record_event(case, by=user, action="升级为联合劝返(乡镇牵头)", from_status=S.RETURNING, note=note or why)
    refresh_due(case)
    notify_owners(case, plan, f"{case.student.name}已升级为联合劝返,由乡镇牵头")
    return case


@transaction.atomic
def issue_notice(*, user, case_id: int, number: str = "") -> DropoutCase:
    """Issue the 限期返校通知书 to the guardian; its delivery is then logged as an activity."""
    case = _load_for_update(user, case_id)
    _expect(case, S.RETURNING, S.ESCALATED, action="发出限期返校通知书")
    _require(_is_school_leader(user, case) or _is_bureau(user, case), "发出限期返校通知书")
    today = timezone.localdate()
    policy = policy_for(case.school.county_id)
    if len(number.strip()) > DropoutCase.NOTICE_NUMBER_LENGTH:
        raise InvalidInput(f"通知书文号不能超过{DropoutCase.NOTICE_NUMBER_LENGTH}个字")
    case.notice_number = number.strip() or f"{case.school.code}-{today:%Y}-{case.pk:04d}"
    case.notice_issued_on = today
    case.notice_deadline = today + dt.timedelta(days=policy.notice_days)
    case.save()
    record_event(case, by=user, action="发出限期返校通知书", from_status=case.status, note=f"文号 {case.notice_number}")
    return case


# --- return and consolidation -----------------------------------------------------------------


@transaction.atomic
def record_return(
    *,
    user,
    case_id: int,
    returned_on: dt.date,
    placement: str,
    classroom_id: int | None = None,
    buddy: str = "",
    note: str = "",
) -> DropoutCase:
    """The student is back: re-enrol them (学籍 kept), and schedule the follow-up."""
    case = _load_for_update(user, case_id)
    _expect(case, S.RETURNING, S.ESCALATED, action="登记复学")
    _require(_is_school_leader(user, case) or _is_bureau(user, case) or selectors.is_owner(user, case), "登记复学")
    if placement not in DropoutCase.Placement.values:
        raise InvalidInput("请选择安置方式")
    if returned_on > timezone.localdate():
        raise InvalidInput("复学日期不能晚于今天")
    guards.check_field(FollowUp, "note", buddy, "互助对子")  # its follow-up is bulk-created below
    student = case.student
    if not classroom_id and student.classroom_id is None:
        # A child screening found who never enrolled (or one whose class is gone) joins a class now.
        raise InvalidInput("该学生尚无班级,请选择安置班级")
    if classroom_id:
        classroom = Classroom.objects.filter(pk=classroom_id, school_id=case.school_id).first()
        if classroom is None:
            raise InvalidInput("安置班级须为本校班级")
        student.classroom = classroom
        case.classroom = classroom
    student.status = Student.Status.ENROLLED
    student.save(update_fields=["classroom", "status", "updated_at"])
    before = case.status
    case.status = S.RETURNED
    case.returned_on = returned_on
    case.placement = placement
    case.save()
    plan = selectors.current_plan(case)
    assignee = plan.class_teacher_id if plan else user.pk
    schedule = [
        (FollowUp.Kind.BUDDY, add_working_days(returned_on, 1), buddy or "安排互助对子"),
        (FollowUp.Kind.TUTORING, add_working_days(returned_on, 5), "制定补习计划"),
        (FollowUp.Kind.COUNSELLING, add_working_days(returned_on, 5), "心理辅导"),
    ]
    schedule += [
        (FollowUp.Kind.CHECK_IN, returned_on + dt.timedelta(days=7 * week), f"第{week}周回访") for week in (1, 2, 3, 4)
    ]
    FollowUp.objects.bulk_create(
        FollowUp(case=case, kind=kind, due_on=due, assignee_id=assignee, note=text) for kind, due, text in schedule
    )
    label = DropoutCase.Placement(placement).label
    record_event(case, by=user, action=f"登记复学({label})", from_status=before, note=note)
    refresh_due(case)
    return case


@transaction.atomic
def complete_follow_up(*, user, follow_up_id: int, note: str = "") -> FollowUp:
    follow_up = FollowUp.objects.select_related("case").filter(pk=follow_up_id).first()
    if follow_up is None:
        raise OutOfScope("跟踪事项不存在")
    case = _load_for_update(user, follow_up.case_id)
    _require(_may_contact(user, case), "完成复学跟踪")
    if follow_up.done_on:
        raise InvalidTransition("该跟踪事项已完成")
    follow_up.done_on = timezone.localdate()
    follow_up.note = note or follow_up.note  # checked against its column before it is saved (students.guards)
    follow_up.save(update_fields=["done_on", "note"])
    with translation.override(None):  # the trail is kept in Chinese, whatever the reader's language
        kind = str(FollowUp.Kind(follow_up.kind).label)
    note = f"{kind}(计划{follow_up.due_on:%Y-%m-%d}) {follow_up.note}".strip()
    record_event(case, by=user, action="完成复学跟踪", from_status=case.status, note=note)
    refresh_due(case)
    return follow_up


@transaction.atomic
def close_case(*, user, case_id: int, note: str = "") -> DropoutCase:
    """Strike the case off the ledger (销号): only after N attended school days since the return."""
    case = _load_for_update(user, case_id)
    _expect(case, S.RETURNED, action="销号")
    _require(_is_bureau(user, case), "销号(须教育局)")
    needed = policy_for(case.school.county_id).consolidate_school_days
    if case.returned_on is None:  # record_return sets it; only a hand-edited row lacks it
        raise InvalidTransition("个案没有复学日期,不能销号")
    attended = attended_school_days(case.student, case.returned_on)
    if attended < needed:
        raise InvalidTransition(f"复学后实际到校{attended}个上学日,须满{needed}个上学日方可销号")
    case.status = S.CLOSED
    case.closed_on = timezone.localdate()
    case.close_basis = f"复学后实际到校{attended}个上学日(考勤日报)"
    case.save()
    record_event(case, by=user, action="教育局销号", from_status=S.RETURNED, note=note or case.close_basis)
    refresh_due(case)
    return case


# --- handover ----------------------------------------------------------------------------------


@transaction.atomic
def hand_over(*, user, case_id: int, to_classroom_id: int, note: str = "") -> DropoutCase:
    """The student transfers to another school of the county: the case and its history go along."""
    case = _load_for_update(user, case_id)
    _expect(case, *DropoutCase.OPEN_STATUSES, action="移交")
    _require(_is_bureau(user, case), "移交个案(须教育局)")
    classroom = Classroom.objects.select_related("school").filter(pk=to_classroom_id).first()
    if classroom is None or classroom.school.county_id != case.school.county_id:
        raise InvalidInput("接收班级须为本县学校的班级")
    if classroom.school_id == case.school_id:
        raise InvalidInput("接收学校与原学校相同")
    old_school = case.school
    CaseHandover.objects.create(case=case, from_school=old_school, to_school=classroom.school, by=user, note=note)
    student = case.student
    student.school = classroom.school
    student.classroom = classroom
    student.save(update_fields=["school", "classroom", "updated_at"])
    case.school = classroom.school
    case.classroom = classroom
    case.save()
    record_event(case, by=user, action=f"个案移交:{old_school.name} → {classroom.school.name}", from_status=case.status)
    refresh_due(case)
    return case


# --- the daily job ----------------------------------------------------------------------------


def notify_bureau(case: DropoutCase, text: str) -> None:
    from students.models import Notification

    staff = Post.objects.active().filter(role=Post.Role.BUREAU, county_id=case.school.county_id)
    notify(
        [
            Notification(
                user_id=user_id,
                key=f"case:{case.pk}:{case.status}:{case.reported_on}",
                kind="case_report",
                text=text,
                link=case.get_absolute_url(),
            )
            for user_id in staff.values_list("user_id", flat=True)
        ]
    )


def daily_deadlines(*, today: dt.date | None = None) -> dict:
    """Recompute every open case's deadline and remind owners of what is overdue. Idempotent."""
    from students.models import Notification

    today = today or timezone.localdate()
    policies: dict[int, CountyPolicy] = {}
    refreshed = 0
    notes: list[Notification] = []
    cases = with_due_facts(
        DropoutCase.objects.filter(status__in=DropoutCase.OPEN_STATUSES)
        .select_related("school", "student")
        .prefetch_related("plans")
    )
    overdue: list[tuple[DropoutCase, dt.date]] = []
    for case in cases.iterator(chunk_size=500):
        county_id = case.school.county_id
        if county_id not in policies:
            policies[county_id] = policy_for(county_id)
        case._current_plan = [p for p in case.plans.all() if p.is_current][:1]  # from the prefetch
        before = (case.next_due_on, case.due_kind)
        refresh_due(case, policy=policies[county_id])
        refreshed += before != (case.next_due_on, case.due_kind)
        if case.next_due_on and case.next_due_on < today:
            overdue.append((case, case.next_due_on))
    school_leaders: dict[int, set[int]] = {}
    for school_id, user_id in (
        Post.objects.active(today)
        .filter(role__in=Post.SCHOOL_ROLES, school_id__in={case.school_id for case, _ in overdue})
        .values_list("school_id", "user_id")
    ):
        school_leaders.setdefault(school_id, set()).add(user_id)
    for case, due_on in overdue:
        plan = selectors.current_plan(case)
        recipients = set(plan.owner_ids) if plan else set()
        recipients.update(school_leaders.get(case.school_id, ()))
        label = DUE_LABELS.get(case.due_kind, case.due_kind)
        for user_id in recipients:
            notes.append(
                Notification(
                    user_id=user_id,
                    key=f"overdue:{case.pk}:{case.due_kind}:{due_on.isoformat()}",
                    kind="case_overdue",
                    text=f"逾期:{case.student.name}「{label}」应于{due_on:%m月%d日}前完成",
                    link=case.get_absolute_url(),
                )
            )
    return {"refreshed": refreshed, "reminders": notify(notes)}
