"""Early warning (预警): explainable, versioned risk rules over attendance, and hand-raised flags.

Rules count *reported school days* of the student's class: weekends, official holidays and
county closures are not school days, so they neither break nor extend a streak; a day the class
did not report is unknown and skipped the same way.

Each flag names the situation it describes (``situation_key``). The database refuses a second
flag for the same situation and a second open flag for the same rule, so evaluating twice — or
concurrently — never duplicates anything.
"""

import dataclasses
import datetime as dt
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone

from students import scoping
from students.calendar import cached_school_calendar
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import (
    Absence,
    AbsenceKind,
    Classroom,
    County,
    DailyReport,
    Notification,
    Post,
    RiskFlag,
    RiskLevel,
    RiskRule,
    Student,
)
from students.notifications import notify

logger = logging.getLogger(__name__)
Code = RiskRule.Code

DEFAULT_RULES: dict[str, tuple[str, dict]] = {
    Code.CONSECUTIVE_ABSENCE: (RiskLevel.RED, {"days": 3, "kinds": ["unexcused", "unknown"]}),
    Code.RECENT_UNEXCUSED: (RiskLevel.ORANGE, {"window": 20, "count": 3, "kinds": ["unexcused"]}),
    Code.CHRONIC_ABSENCE: (RiskLevel.YELLOW, {"rate": 0.10, "min_days": 10}),
}

KIND_LABELS = {kind.value: str(kind.label) for kind in AbsenceKind}


def explain(code: str, params: dict) -> str:
    """The rule in plain Chinese, with its county's parameters."""
    kinds = "、".join(KIND_LABELS[k] for k in params.get("kinds", []))
    if code == Code.CONSECUTIVE_ABSENCE:
        return f"连续{params['days']}个及以上上学日{kinds},疑似辍学:当天联系家长,核实后按程序上报"
    if code == Code.RECENT_UNEXCUSED:
        return f"最近{params['window']}个上学日内{kinds}累计{params['count']}次及以上"
    if code == Code.CHRONIC_ABSENCE:
        return (
            f"本学期已报告的上学日中缺勤(含病假、事假)比例达到{round(params['rate'] * 100)}%及以上,"
            f"且本学期已报告不少于{params['min_days']}天(长期缺勤)"
        )
    return ""


# --- rules and their versions ---------------------------------------------------------------


def active_rules(county_id: int) -> dict[str, RiskRule]:
    """The newest active version of each rule for the county, creating version 1 defaults if missing."""
    rules: dict[str, RiskRule] = {}
    for rule in RiskRule.objects.filter(county_id=county_id, active=True).order_by("code", "-version"):
        rules.setdefault(rule.code, rule)
    missing = [code for code in DEFAULT_RULES if code not in rules]
    if missing:
        for code in missing:
            level, params = DEFAULT_RULES[code]
            try:
                with transaction.atomic():
                    rules[code], _ = RiskRule.objects.get_or_create(
                        county_id=county_id, code=code, version=1, defaults={"level": level, "params": params}
                    )
            except IntegrityError:  # created concurrently
                rules[code] = RiskRule.objects.get(county_id=county_id, code=code, version=1)
    return rules


@transaction.atomic
def can_change_rules(user, county_id: int) -> bool:
    """Only the county's bureau (or a superuser) changes its early-warning rules."""
    return scoping.scope_for(user).manages_county(county_id)


@transaction.atomic
def update_rule(*, county: County, code: str, params: dict, level: str, by) -> RiskRule:
    """New parameters make a new version; flags keep the version that raised them."""
    if not can_change_rules(by, county.pk):
        raise OutOfScope("预警规则不存在或您无权修改")
    if code not in DEFAULT_RULES:
        raise InvalidInput("未知的预警规则")
    if level not in RiskLevel.values:
        raise InvalidInput("未知的预警等级")
    current = active_rules(county.pk)[code]
    merged = {**current.params, **params}
    RiskRule.objects.filter(county=county, code=code).update(active=False)
    return RiskRule.objects.create(
        county=county, code=code, version=current.version + 1, level=level, params=merged, created_by=by
    )


# --- evaluation -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Finding:
    student_id: int
    rule: RiskRule
    situation_key: str
    evidence: dict
    evidence_text: str


@dataclasses.dataclass
class EvaluationStats:
    students_checked: int = 0
    raised: int = 0
    updated: int = 0


def _fmt(days: list[dt.date]) -> str:
    return "、".join(f"{d:%m-%d}" for d in days)


def _consecutive(rule: RiskRule, student_id: int, reported: list[dt.date], absent: dict) -> Finding | None:
    days, kinds = rule.params["days"], set(rule.params["kinds"])
    best: list[dt.date] = []
    run: list[dt.date] = []
    for day in reported:
        if absent.get(day) in kinds:
            run.append(day)
            if len(run) >= days:
                best = run
        else:
            run = []
    if not best:
        return None
    return Finding(
        student_id,
        rule,
        f"streak:{best[0].isoformat()}",
        {"dates": [d.isoformat() for d in best], "kinds": [absent[d] for d in best]},
        f"连续{len(best)}个上学日旷课或原因不明:{_fmt(best)}(规则v{rule.version})",
    )


def _recent(rule: RiskRule, student_id: int, reported: list[dt.date], absent: dict) -> Finding | None:
    window, count, kinds = rule.params["window"], rule.params["count"], set(rule.params["kinds"])
    recent = reported[-window:]
    hits = [d for d in recent if absent.get(d) in kinds]
    if len(hits) < count:
        return None
    return Finding(
        student_id,
        rule,
        f"latest:{hits[-1].isoformat()}",
        {"dates": [d.isoformat() for d in hits], "window_start": recent[0].isoformat(), "window_days": len(recent)},
        f"最近{len(recent)}个上学日内旷课{len(hits)}次:{_fmt(hits)}(规则v{rule.version})",
    )


def _chronic(
    rule: RiskRule, student_id: int, reported: list[dt.date], absent: dict, term_start: dt.date
) -> Finding | None:
    if len(reported) < rule.params["min_days"]:
        return None
    missed = [d for d in reported if d in absent]
    rate = len(missed) / len(reported)
    if rate < rule.params["rate"]:
        return None
    return Finding(
        student_id,
        rule,
        f"term:{term_start.isoformat()}",
        {"dates": [d.isoformat() for d in missed], "reported_days": len(reported), "rate": round(rate, 4)},
        f"本学期已报告{len(reported)}个上学日,缺勤{len(missed)}天,缺勤率{rate:.0%}(规则v{rule.version})",
    )


def _findings(rules, reported_by_class, absences_by_student, class_of, term_start) -> list[Finding]:
    found: list[Finding] = []
    for student_id, absent in absences_by_student.items():
        reported = reported_by_class.get(class_of.get(student_id), [])
        if not reported:
            continue
        for finding in (
            _consecutive(rules[Code.CONSECUTIVE_ABSENCE], student_id, reported, absent),
            _recent(rules[Code.RECENT_UNEXCUSED], student_id, reported, absent),
            _chronic(rules[Code.CHRONIC_ABSENCE], student_id, reported, absent, term_start),
        ):
            if finding is not None:
                found.append(finding)
    return found


def evaluate(*, county_id: int, as_of: dt.date, classroom_ids: list[int] | None = None) -> EvaluationStats:
    """Evaluate the county's rules (or for some classes) on the term up to ``as_of``. Idempotent."""
    stats = EvaluationStats()
    term = cached_school_calendar(county_id).term_of(as_of)
    if term is None:
        return stats
    term_start = term[0]
    rules = active_rules(county_id)

    classes = Classroom.objects.filter(school__county_id=county_id)
    if classroom_ids is not None:
        classes = classes.filter(pk__in=classroom_ids)
    class_ids = classes.values("pk")

    reported_by_class: dict[int, list[dt.date]] = defaultdict(list)
    for classroom_id, day in (
        DailyReport.objects.filter(classroom_id__in=class_ids, date__range=(term_start, as_of))
        .order_by("date")
        .values_list("classroom_id", "date")
    ):
        reported_by_class[classroom_id].append(day)

    class_of = dict(
        Student.objects.filter(classroom_id__in=class_ids, status=Student.Status.ENROLLED).values_list(
            "pk", "classroom_id"
        )
    )
    absences_by_student: dict[int, dict[dt.date, str]] = defaultdict(dict)
    for student_id, day, kind in Absence.objects.filter(
        report__classroom_id__in=class_ids, date__range=(term_start, as_of)
    ).values_list("student_id", "date", "kind"):
        if student_id in class_of:
            absences_by_student[student_id][day] = kind
    stats.students_checked = len(class_of)

    findings = _findings(rules, reported_by_class, absences_by_student, class_of, term_start)
    if findings:
        stats.raised, stats.updated = _record(findings)
    return stats


def _record(findings: list[Finding]) -> tuple[int, int]:
    codes = {f.rule.code for f in findings}
    students = {f.student_id for f in findings}
    known: set[tuple[int, str, str]] = set()
    open_by: dict[tuple[int, str], RiskFlag] = {}
    for flag in RiskFlag.objects.filter(student_id__in=students, rule_code__in=codes).only(
        "id", "student_id", "rule_code", "situation_key", "status", "evidence", "evidence_text", "category"
    ):
        known.add((flag.student_id, flag.rule_code, flag.situation_key))
        if flag.is_open and not flag.category:
            open_by[(flag.student_id, flag.rule_code)] = flag

    now = timezone.now()
    new, changed = [], []
    for f in findings:
        evidence = {**f.evidence, "rule": f.rule.code, "rule_version": f.rule.version, "params": f.rule.params}
        current = open_by.get((f.student_id, f.rule.code))
        if current is not None:
            # The open flag follows the latest situation (a streak that grew, a new absence in the window).
            if current.situation_key != f.situation_key and (f.student_id, f.rule.code, f.situation_key) in known:
                continue
            if current.evidence.get("dates") != evidence["dates"] or current.situation_key != f.situation_key:
                current.situation_key = f.situation_key
                current.evidence = evidence
                current.evidence_text = f.evidence_text
                current.rule = f.rule
                current.rule_version = f.rule.version
                changed.append(current)
            continue
        if (f.student_id, f.rule.code, f.situation_key) in known:
            continue  # this situation was already flagged and handled
        new.append(
            RiskFlag(
                student_id=f.student_id,
                rule=f.rule,
                rule_code=f.rule.code,
                rule_version=f.rule.version,
                situation_key=f.situation_key,
                level=f.rule.level,
                evidence=evidence,
                evidence_text=f.evidence_text,
                raised_at=now,
            )
        )
    with transaction.atomic():
        created = RiskFlag.objects.bulk_create(new, ignore_conflicts=True)
        if changed:
            RiskFlag.objects.bulk_update(
                changed, ["situation_key", "evidence", "evidence_text", "rule", "rule_version"], batch_size=500
            )
        _notify_red_flags([flag for flag in new if flag.level == RiskLevel.RED])
    return len(created), len(changed)


def _notify_red_flags(flags: list[RiskFlag]) -> None:
    """Class teachers hear of a suspected dropout in their class at once (in-app)."""
    if not flags:
        return
    students = {
        s.pk: s for s in Student.objects.filter(pk__in=[f.student_id for f in flags]).only("pk", "name", "classroom_id")
    }
    teachers: dict[int, list[int]] = defaultdict(list)
    for user_id, classroom_id in (
        Post.objects.class_teachers()
        .filter(classroom_id__in={s.classroom_id for s in students.values()})
        .values_list("user_id", "classroom_id")
    ):
        teachers[classroom_id].append(user_id)
    notes = []
    for flag in flags:
        student = students[flag.student_id]
        if student.classroom_id is None:  # no class, no class teacher to tell
            continue
        for user_id in teachers.get(student.classroom_id, []):
            notes.append(
                Notification(
                    user_id=user_id,
                    key=f"flag:{flag.student_id}:{flag.rule_code}:{flag.situation_key}",
                    kind="risk_red",
                    text=f"红色预警:{student.name} {flag.evidence_text}",
                    link=f"/students/{student.pk}/",
                )
            )
    notify(notes)


# --- hand-raised flags and handling ---------------------------------------------------------


def raise_manual_flag(*, user, student_id: int, category: str, level: str, note: str) -> RiskFlag:
    student = scoping.students_visible_to(user).filter(pk=student_id).first()
    if student is None:
        raise OutOfScope("学生不存在或您无权查看")
    if category not in RiskFlag.Category.values:
        raise InvalidInput("未知的预警类别")
    if level not in RiskLevel.values:
        raise InvalidInput("未知的预警等级")
    if not note.strip():
        raise InvalidInput("请填写情况说明")
    now = timezone.now()
    try:
        with transaction.atomic():
            return RiskFlag.objects.create(
                student=student,
                rule_code=RiskFlag.MANUAL,
                category=category,
                situation_key=f"manual:{category}:{now.isoformat()}",
                level=level,
                evidence={"note": note.strip(), "raised_by": user.pk},
                evidence_text=f"{RiskFlag.Category(category).label}:{note.strip()}",
                raised_by=user,
                raised_at=now,
            )
    except IntegrityError:
        raise InvalidInput("该学生已有同类别的未处理预警") from None


_TRANSITIONS = {
    "acknowledge": ({RiskFlag.Status.OPEN}, RiskFlag.Status.ACKNOWLEDGED),
    "resolve": (set(RiskFlag.OPEN_STATUSES), RiskFlag.Status.RESOLVED),
    "dismiss": (set(RiskFlag.OPEN_STATUSES), RiskFlag.Status.DISMISSED),
}


FLAG_ACTIONS = tuple(_TRANSITIONS)


def flag_actions(flag: RiskFlag) -> dict[str, bool]:
    """Which of acknowledge / resolve / dismiss the flag's state allows (exactly what ``handle_flag`` accepts)."""
    return {action: flag.status in allowed_from for action, (allowed_from, _target) in _TRANSITIONS.items()}


def flags_visible_to(user):
    return RiskFlag.objects.filter(scoping.student_q(scoping.scope_for(user), "student__"))


@transaction.atomic
def handle_flag(*, user, flag_id: int, action: str, note: str = "") -> RiskFlag:
    """Acknowledge, resolve, or dismiss (with a reason) a flag the user can see."""
    flag = flags_visible_to(user).select_for_update().filter(pk=flag_id).first()
    if flag is None:
        raise OutOfScope("预警不存在或您无权查看")
    allowed_from, target = _TRANSITIONS[action]
    if flag.status not in allowed_from:
        raise InvalidTransition(f"该预警当前为“{flag.get_status_display()}”,不能执行此操作")
    if action == "dismiss" and not note.strip():
        raise InvalidInput("驳回预警须填写理由")
    flag.status = target
    flag.handled_by = user
    flag.handled_at = timezone.now()
    flag.handling_note = note.strip()  # refused if longer than its column (students.guards)
    flag.save(update_fields=["status", "handled_by", "handled_at", "handling_note"])
    return flag


# --- the nightly run ------------------------------------------------------------------------


def remind_not_reported(*, county_id: int, day: dt.date) -> int:
    """In-app reminders to class teachers whose class has not reported on a school day. Idempotent."""
    if not cached_school_calendar(county_id).is_school_day(day):
        return 0
    missing = Classroom.objects.filter(school__county_id=county_id).exclude(daily_reports__date=day)
    rows = (
        Post.objects.class_teachers(day)
        .filter(classroom__in=missing)
        .values_list("user_id", "classroom_id", "classroom__name")
    )
    notes = [
        Notification(
            user_id=user_id,
            key=f"not-reported:{classroom_id}:{day.isoformat()}",
            kind="not_reported",
            text=f"{classroom_name} {day:%m月%d日}的考勤还没有上报",
            link=f"/attendance/take/{classroom_id}/?date={day.isoformat()}",
        )
        for user_id, classroom_id, classroom_name in rows
    ]
    return notify(notes)


def nightly(*, as_of: dt.date | None = None) -> dict:
    """Re-evaluate every county and remind classes that did not report. Safe to run twice."""
    as_of = as_of or timezone.localdate()
    summary = {}
    for county_id in County.objects.values_list("pk", flat=True):
        stats = evaluate(county_id=county_id, as_of=as_of)
        reminders = remind_not_reported(county_id=county_id, day=as_of)
        summary[str(county_id)] = {**dataclasses.asdict(stats), "reminders": reminders}
        logger.info("nightly risk evaluation county=%s %s", county_id, summary[str(county_id)])
    return summary
