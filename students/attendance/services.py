"""Daily attendance reports (日报告): the write path a class teacher uses every school day.

One report per class and date, enforced by the database. The first submit creates version 1;
a correction names the version it read and gets the next one; every version is kept as a
revision. Resubmitting exactly the current content is a harmless retry. Risk rules are
re-evaluated after commit, without waiting for the broker.
"""

import dataclasses
import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from students import guards, scoping
from students.attendance import evaluation_queue
from students.attendance.selectors import report_payload
from students.calendar import cached_school_calendar
from students.errors import Conflict, InvalidInput, OutOfScope
from students.models import Absence, AbsenceKind, Classroom, DailyReport, DailyReportRevision, Student

logger = logging.getLogger(__name__)

KIND_CODES = {kind.value for kind in AbsenceKind}


@dataclasses.dataclass(frozen=True)
class AbsenceInput:
    student_id: int
    kind: str
    note: str = ""
    family_contacted: bool = False


@dataclasses.dataclass(frozen=True)
class SubmitResult:
    report: DailyReport
    created: bool
    changed: bool
    # The absences written by this submit (students' names included, in the model's order), so the
    # answer needs no second read; None for a retry, which wrote nothing.
    absences: list[Absence] | None = None


def correction_window_start(today: dt.date) -> dt.date:
    """Past school days of the current week may be corrected; earlier ones may not."""
    return today - dt.timedelta(days=today.weekday())


def check_reportable_date(classroom: Classroom, day: dt.date, today: dt.date | None = None) -> None:
    today = today or timezone.localdate()
    if day > today:
        raise InvalidInput("不能填报未来日期的考勤")
    why = cached_school_calendar(classroom.school.county_id).why_not_school_day(day)
    if why:
        raise InvalidInput(f"{day:%Y-%m-%d}不是上学日:{why}")
    if day < correction_window_start(today):
        raise InvalidInput("只能填报或更正本周内的考勤,更早的日期已超过更正期限")


def _absence_note(raw) -> str:
    """An absence's note as given; absences are bulk-created, so its length is checked here."""
    if raw is not None and not isinstance(raw, str):
        raise InvalidInput("缺勤备注须为文字")
    note = raw or ""
    guards.check_field(Absence, "note", note, "缺勤备注")
    return note


def _yes_no(raw) -> bool:
    if not isinstance(raw, bool):
        raise InvalidInput("“已联系家长”须为 true 或 false")
    return raw


def parse_absences(raw) -> list[AbsenceInput]:
    """Turn API/page input into AbsenceInput rows, refusing unknown kinds and repeats."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("缺勤名单格式错误")
    rows: list[AbsenceInput] = []
    seen: set[int] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidInput("缺勤名单格式错误")
        raw_student = item.get("student")
        if raw_student is None:
            raise InvalidInput("缺勤学生编号无效")
        try:
            student_id = int(raw_student)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput("缺勤学生编号无效") from exc
        if isinstance(raw_student, bool | float) or not 0 < student_id < 2**63:
            raise InvalidInput("缺勤学生编号无效")
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in KIND_CODES:
            raise InvalidInput(f"未知的缺勤类别:{kind}(可选:病假 sick、事假 personal、旷课 unexcused、不明 unknown)")
        if student_id in seen:
            raise InvalidInput("同一学生在名单中出现了两次")
        seen.add(student_id)
        rows.append(
            AbsenceInput(
                student_id=student_id,
                kind=kind,
                note=_absence_note(item.get("note")),
                family_contacted=_yes_no(item.get("family_contacted", False)),
            )
        )
    return rows


def _content(rows) -> list[tuple]:
    return sorted((r.student_id, r.kind, r.note, r.family_contacted) for r in rows)


def _snapshot(rows: list[AbsenceInput]) -> list[dict]:
    return [
        {"student": r.student_id, "kind": r.kind, "note": r.note, "family_contacted": r.family_contacted}
        for r in sorted(rows, key=lambda r: r.student_id)
    ]


def submit_daily_report(
    *,
    user,
    classroom_id: int,
    day: dt.date,
    absences: list[AbsenceInput],
    version: int | None = None,
) -> SubmitResult:
    """Create or correct a class's report for a day. Raises InvalidInput (400), OutOfScope (404), Conflict (409)."""
    classroom = scoping.manageable_classroom(user, classroom_id) if classroom_id else None
    if classroom is None:
        raise OutOfScope("班级不存在或您无权填报")
    check_reportable_date(classroom, day)

    enrolled: dict[int, str] = dict(  # id → name: names for the answer without reading the report back
        Student.objects.filter(classroom=classroom, status=Student.Status.ENROLLED).order_by().values_list("pk", "name")
    )
    strangers = [r.student_id for r in absences if r.student_id not in enrolled]
    if strangers:
        listed = "、".join(map(str, strangers))
        raise InvalidInput(f"学生编号 {listed} 不在本班在读名单中(可能已转班、休学或不是本班学生),请刷新名单后重新提交")

    now = timezone.now()
    if version is None:
        # Most submits are a class's first of the day: insert straight away (no lock to take). If the
        # report exists already, the insert fails on the one-per-class-and-day constraint, nothing is
        # written, and the submit goes on below as a retry or a correction of that report.
        try:
            with transaction.atomic():
                first = _first_version(classroom, day, user, now, len(enrolled), len(absences))
                written = _write_version(first, classroom, day, user, now, absences, enrolled)
            return SubmitResult(report=first, created=True, changed=True, absences=written)
        except IntegrityError:
            pass
    try:
        with transaction.atomic():
            report = DailyReport.objects.select_for_update().filter(classroom=classroom, date=day).first()
            if report is None:
                report = _first_version(classroom, day, user, now, len(enrolled), len(absences))
                created = True
            else:
                current = list(report.absences.values_list("student_id", "kind", "note", "family_contacted"))
                if sorted(current) == _content(absences):
                    return SubmitResult(report=report, created=False, changed=False)  # a retry
                if version != report.version:
                    raise Conflict(
                        "该班级当天的考勤已被他人更新,请刷新后基于最新版本再更正", details=report_payload(report)
                    )
                report.version += 1
                report.enrolled_count = len(enrolled)
                report.present_count = len(enrolled) - len(absences)
                report.submitted_by = user
                report.submitted_at = now
                report.save(
                    update_fields=["version", "enrolled_count", "present_count", "submitted_by", "submitted_at"]
                )
                report.absences.all().delete()
                created = False
            written = _write_version(report, classroom, day, user, now, absences, enrolled)
    except IntegrityError:
        # A concurrent first submit won the race for (classroom, date): answer as a retry would.
        report = DailyReport.objects.get(classroom=classroom, date=day)
        current = list(report.absences.values_list("student_id", "kind", "note", "family_contacted"))
        if sorted(current) == _content(absences):
            return SubmitResult(report=report, created=False, changed=False)
        raise Conflict(
            "该班级当天的考勤已被他人提交,请刷新后基于最新版本再更正", details=report_payload(report)
        ) from None
    return SubmitResult(report=report, created=created, changed=True, absences=written)


def _first_version(classroom, day, user, now, enrolled: int, absent: int) -> DailyReport:
    return DailyReport.objects.create(
        classroom=classroom,
        school_id=classroom.school_id,
        date=day,
        version=1,
        enrolled_count=enrolled,
        present_count=enrolled - absent,
        submitted_by=user,
        submitted_at=now,
    )


def _write_version(report, classroom, day, user, now, absences, enrolled) -> list[Absence]:
    """Write a report version's absences and its revision (inside the caller's transaction); queue the evaluation."""
    written = Absence.objects.bulk_create(
        Absence(
            report=report,
            student=Student(pk=r.student_id, name=enrolled[r.student_id], classroom=classroom),
            date=day,
            kind=r.kind,
            note=r.note,
            family_contacted=r.family_contacted,
        )
        for r in sorted(absences, key=lambda r: r.student_id)
    )
    DailyReportRevision.objects.create(
        report=report,
        version=report.version,
        submitted_by=user,
        submitted_at=now,
        present_count=report.present_count,
        absences=_snapshot(absences),
    )
    transaction.on_commit(lambda: queue_classroom_evaluation(classroom.pk, day))
    return written


def queue_classroom_evaluation(classroom_id: int, day: dt.date) -> None:
    """Ask for the class's re-evaluation (see evaluation_queue); a Redis or broker outage must never fail the submit."""
    from students.attendance.tasks import evaluate_classroom_risk, evaluate_pending_classrooms

    redis_client = evaluation_queue.client()
    try:
        if redis_client is None:
            evaluate_classroom_risk.apply_async(args=(classroom_id, day.isoformat()), retry=False)
            return
        if evaluation_queue.add(redis_client, classroom_id, day):
            try:
                evaluate_pending_classrooms.apply_async(countdown=evaluation_queue.DRAIN_DELAY_SECONDS, retry=False)
            except Exception:
                evaluation_queue.unschedule(redis_client)  # let the next submit try again
                raise
    except Exception:  # the nightly run catches up
        logger.warning("could not queue risk evaluation for classroom %s on %s", classroom_id, day, exc_info=True)
