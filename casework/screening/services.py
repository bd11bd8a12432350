"""Screening writes: import a register as a run, decide suggestions, resolve children, open cases.

Who may do what:
- import a register: the county bureau;
- confirm or reject a suggestion, resolve a child no school enrols: the bureau, or the cadre of
  the child's township / village (the administrative line);
- report an enrolled-but-absent child (名在人不在) as a suspected dropout: whoever may report the
  student (their class teacher, school leaders, the bureau) — casework's ``open_case``.
"""

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import operator

from celery import current_app
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models, transaction
from django.utils import timezone

from students import guards, scoping
from students.errors import ImportRejected, InvalidInput, InvalidTransition, OutOfScope
from students.models import Guardian, School, Student
from students.uploads import check_scan

from .. import services as case_services
from ..models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from . import matching, register, selectors

logger = logging.getLogger(__name__)

IMPORT_TASK = "casework.screening.tasks.import_register"
DEFAULT_ABSENT_DAYS = 5
WRITE_BATCH = 2000
MAX_STORED_ERRORS = 500
EVIDENCE = "佐证材料"
Status = ScreeningRun.Status


def default_cutoff(today: dt.date) -> dt.date:
    """31 August of the school year under way (the age cut-off of the autumn intake)."""
    return dt.date(today.year if today.month >= 9 else today.year - 1, 8, 31)


def default_title(today: dt.date) -> str:
    term = "秋季学期" if today.month >= 8 or today.month == 1 else "春季学期"
    year = today.year - 1 if today.month == 1 else today.year
    return f"{year}年{term}户籍比对"


# --- import ------------------------------------------------------------------------------------


def start_import(
    *,
    user,
    upload: UploadedFile | None,
    title: str = "",
    cutoff_on: dt.date | None = None,
    absent_days: int | None = None,
) -> ScreeningRun:
    """Keep the file as a new run and queue its comparison. A file that cannot be a register is
    refused here (400, nothing kept); the rows are checked by the job, all or none."""
    scope = scoping.scope_for(user)
    county_id = scope.home_county_id
    if county_id is None:
        raise OutOfScope("仅教育局可以导入户籍名单")
    today = timezone.localdate()
    kind, content = register.check_upload(upload)
    title = (title or "").strip() or default_title(today)
    guards.check_field(ScreeningRun, "title", title, "名称")
    absent_days = DEFAULT_ABSENT_DAYS if absent_days is None else absent_days
    if not 1 <= absent_days <= 20:
        raise InvalidInput("名在人不在的连续缺勤上学日应在 1 到 20 之间")
    cutoff_on = cutoff_on or default_cutoff(today)
    if cutoff_on > today + dt.timedelta(days=366):
        raise InvalidInput("年龄计算截止日不能晚于明年")
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    run = ScreeningRun(
        county_id=county_id,
        title=title,
        cutoff_on=cutoff_on,
        absent_days=absent_days,
        file_name=name,
        file_size=len(content),
        file_sha256=hashlib.sha256(content).hexdigest(),
        file_format=kind,
        imported_by=user,
        stage="排队等待比对",
    )
    run.file.save(f"register.{kind}", ContentFile(content), save=False)
    stored = run.file.name
    try:
        with transaction.atomic():
            run.save()
            transaction.on_commit(lambda: queue_import(run.pk))
    except BaseException:
        run.file.storage.delete(stored)
        raise
    return run


def queue_import(run_id: int) -> None:
    """Hand the run to a worker (inline when Celery is eager); a broker outage leaves it queued."""
    try:
        current_app.tasks[IMPORT_TASK].apply_async(args=(run_id,), retry=False)
    except Exception:
        logger.exception("could not queue screening run %s; it stays queued", run_id)


def _progress(run_id: int, percent: int, stage: str) -> None:
    ScreeningRun.objects.filter(pk=run_id, status=Status.RUNNING).update(progress=min(99, percent), stage=stage)


def execute_import(run_id: int) -> ScreeningRun:
    """Read, check and compare the run's register. Safe to call again: a finished run is returned as it is.

    A file with any bad row is rejected as a whole (every problem listed, nothing written); the
    children are written in committed batches so the page can show progress, and a failure
    deletes the batches already written.
    """
    with transaction.atomic():
        run = ScreeningRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return run
        ScreenedChild.objects.filter(run=run).delete()  # a worker that died half-way
        run.status, run.progress, run.stage = Status.RUNNING, 1, "读取文件"
        run.save(update_fields=["status", "progress", "stage"])
    try:
        with run.file.open("rb") as handle:
            content = handle.read()
        rows, label = register.read_rows(run.file_format, content)
        ScreeningRun.objects.filter(pk=run_id).update(file_format=label[:20])
        _progress(run_id, 25, f"校验 {len(rows)} 行")
        people = register.check_rows(rows, run.county_id)
    except ImportRejected as exc:
        details = list(exc.details or [])
        ScreeningRun.objects.filter(pk=run_id).update(
            status=Status.REJECTED,
            error=exc.message[:300],
            errors=details[:MAX_STORED_ERRORS],
            error_count=len(details),
            stage="",
            finished_at=timezone.now(),
        )
        return ScreeningRun.objects.get(pk=run_id)
    _progress(run_id, 45, "与学籍、考勤比对")
    today = timezone.localdate()
    students = matching.load_students(run.county_id)
    attendance = matching.Attendance.load(run.county_id, today, run.absent_days)
    comparison = matching.compare(
        run_id=run_id,
        county_id=run.county_id,
        people=people,
        cutoff=run.cutoff_on,
        attendance=attendance,
        students=students,
    )
    total = len(comparison.children)
    try:
        for start in range(0, total, WRITE_BATCH):
            write_children(comparison.children[start : start + WRITE_BATCH])
            _progress(
                run_id,
                60 + 39 * (start + WRITE_BATCH) // max(total, 1),
                f"写入 {min(total, start + WRITE_BATCH)}/{total}",
            )
    except BaseException:
        ScreenedChild.objects.filter(run_id=run_id).delete()
        raise
    counts = comparison.counts | {"attendance_days": len(attendance.days)}
    ScreeningRun.objects.filter(pk=run_id).update(
        status=Status.DONE,
        progress=100,
        stage="",
        counts=counts,
        data_as_of=today,
        finished_at=timezone.now(),
    )
    return ScreeningRun.objects.get(pk=run_id)


_ROW_FIELDS = {field.name for field in dataclasses.fields(matching.ChildRow)}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value of COPY's text format: NULL as \\N, backslash, tab and line breaks escaped."""
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if isinstance(value, str) else str(value)


def write_children(rows: list[matching.ChildRow]) -> None:
    """Store the comparison's children: the rows ``bulk_create`` would write for the same ScreenedChild
    instances (the fields a ChildRow carries, every other field's default), straight from the values,
    without a model instance and a conversion call per value. On PostgreSQL through COPY: for a
    100,000-child register 5 s instead of bulk_create's 17 s (INSERT … UNNEST: 13 s)."""
    if not rows:
        return
    fields = [field for field in ScreenedChild._meta.concrete_fields if not field.primary_key]
    carried = [field for field in fields if field.attname in _ROW_FIELDS]
    if not all(
        isinstance(field, models.CharField | models.IntegerField | models.ForeignKey | models.DateField)
        for field in carried
    ):
        raise TypeError("write_children stores text, numbers, dates and ids as they are: convert the new field")
    ordered = carried + [field for field in fields if field not in carried]
    blank = ScreenedChild()
    defaults = [
        field.get_db_prep_save(field.pre_save(blank, add=True), connection) for field in ordered[len(carried) :]
    ]
    values = operator.attrgetter(*(field.attname for field in carried))
    quote = connection.ops.quote_name
    table, columns = quote(ScreenedChild._meta.db_table), ", ".join(quote(field.column) for field in ordered)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy_expert"):  # psycopg2
            tail = "\t" + "\t".join(map(_copy_text, defaults)) + "\n" if defaults else "\n"
            data = io.StringIO("".join("\t".join(map(_copy_text, values(row))) + tail for row in rows))
            raw.copy_expert(f"COPY {table} ({columns}) FROM STDIN", data)
            return
        adapt = connection.ops.adapt_datefield_value
        dates = [i for i, field in enumerate(carried) if isinstance(field, models.DateField)]
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(1, min(len(rows), connection.ops.bulk_batch_size(fields, rows)))
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params: list = []
            for row in batch:
                row_values = list(values(row))
                for i in dates:
                    row_values[i] = adapt(row_values[i])
                params += row_values
                params += defaults
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(batch))}", params)


def mark_failed(run_id: int, error: str) -> None:
    ScreenedChild.objects.filter(run_id=run_id).delete()
    ScreeningRun.objects.filter(pk=run_id).exclude(status__in=[Status.DONE, Status.REJECTED]).update(
        status=Status.FAILED, error=error[:300], stage="", finished_at=timezone.now()
    )


# --- suggestions -------------------------------------------------------------------------------


def _child_for_update(user, child_id) -> ScreenedChild:
    child = selectors.children_visible_to(user).filter(pk=child_id).select_related("run").first()
    if child is None:
        raise OutOfScope("排查儿童不存在或您无权查看")
    child = ScreenedChild.objects.select_for_update().select_related("run").get(pk=child.pk)
    if child.run.status != Status.DONE:
        raise InvalidTransition("该批次尚未完成比对")
    return child


def _require_resolver(user, child: ScreenedChild) -> None:
    if not selectors.is_resolver_of(user, child):
        raise InvalidTransition("您的岗位不能核实此儿童(须教育局或该村所在乡镇、村的干部)")


def _save(child: ScreenedChild, user) -> None:
    child._history_user = user  # type: ignore[attr-defined]  # simple_history's way to name who changed it
    child.save()


@transaction.atomic
def confirm_suggestion(*, user, child_id: int) -> ScreenedChild:
    """The suggested student is this child: matched, and compared like a child found by number."""
    child = _child_for_update(user, child_id)
    _require_resolver(user, child)
    if child.suggestion != ScreenedChild.Suggestion.PENDING:
        raise InvalidTransition("该儿童没有待确认的疑似匹配")
    run = child.run
    found = matching.load_students(run.county_id, only=[child.suggested_student_id or 0])
    if not found:
        raise InvalidTransition("疑似匹配的学生已不在本县学籍中")
    student = found[0]
    if ScreenedChild.objects.filter(run=run, student_id=student.pk).exclude(pk=child.pk).exists():
        raise InvalidTransition("该学生已与本批次的另一名儿童匹配")
    attendance = matching.Attendance.load(
        run.county_id, run.data_as_of or timezone.localdate(), run.absent_days, [student.pk]
    )
    child.resolution = ""
    child.match_method = ScreenedChild.MatchMethod.SUGGESTION
    child.suggestion = ScreenedChild.Suggestion.CONFIRMED
    child.evidence_text = ""
    matching.set_outcome(child, student, attendance, matching.open_cases([student.pk]))
    _save(child, user)
    return child


@transaction.atomic
def reject_suggestion(*, user, child_id: int) -> ScreenedChild:
    """Not the same child: it stays unmatched (未在本县学籍); the student, if the register's villages
    hold them and nobody else matched them, is listed as 在籍不在册."""
    child = _child_for_update(user, child_id)
    _require_resolver(user, child)
    if child.suggestion != ScreenedChild.Suggestion.PENDING:
        raise InvalidTransition("该儿童没有待确认的疑似匹配")
    run = child.run
    child.suggestion = ScreenedChild.Suggestion.REJECTED
    _save(child, user)
    found = matching.load_students(run.county_id, only=[child.suggested_student_id or 0])
    student = found[0] if found else None
    if (
        student is not None
        and student.status == Student.Status.ENROLLED
        and student.village_id is not None
        and ScreenedChild.objects.filter(run=run, village_id=student.village_id).exists()
        and not ScreenedChild.objects.filter(run=run, student_id=student.pk).exists()
    ):
        row = matching.not_registered_child(run.pk, student, run.cutoff_on, matching.open_cases([student.pk]))
        _save(row, user)
    return child


# --- resolutions -------------------------------------------------------------------------------


@dataclasses.dataclass
class ResolutionInput:
    resolution: str
    school: str = ""  # 就读学校 / 机构
    place: str = ""  # 所在地
    note: str = ""
    evidence: UploadedFile | None = None
    responsible_school_id: int | None = None  # 失学: the school that takes the case


def _check_resolution(data: ResolutionInput) -> None:
    if data.resolution not in ScreenedChild.CHOOSABLE:
        raise InvalidInput("请选择核实结论")
    for field, value, label in (
        ("resolved_school", data.school, "就读学校/机构"),
        ("resolved_place", data.place, "所在地"),
        ("resolution_note", data.note, "说明"),
    ):
        guards.check_field(ScreenedChild, field, value, label)
    if data.resolution == Resolution.ELSEWHERE and not (data.school.strip() and data.place.strip()):
        raise InvalidInput("在外地就读须填写就读学校和所在地")
    if data.resolution == Resolution.MIGRANT and not data.place.strip():
        raise InvalidInput("随迁就读须填写随迁所在地")
    if data.resolution in ScreenedChild.EVIDENCE_REQUIRED and data.evidence is None:
        what = "在读证明" if data.resolution == Resolution.ELSEWHERE else "证明材料(批准文件、死亡或迁出证明)"
        raise InvalidInput(f"“{Resolution(data.resolution).label}”须上传{what}扫描件(PDF 或 JPG)")


def resolve(*, user, child_id: int, data: ResolutionInput) -> ScreenedChild:
    """Record what became of a child the register lists and no school of the county enrols.

    失学/辍学 makes the child a suspected-dropout case (source 排查比对) of the school chosen to take
    it, in the same transaction. A refused evidence file stores nothing and changes nothing.
    """
    _check_resolution(data)
    checked = check_scan(data.evidence, what=EVIDENCE) if data.evidence is not None else None
    with transaction.atomic():
        child = _child_for_update(user, child_id)
        _require_resolver(user, child)
        if child.outcome != ScreeningOutcome.NOT_ENROLLED:
            raise InvalidTransition("只有“未在本县学籍”的儿童需要核实去向")
        if child.suggestion == ScreenedChild.Suggestion.PENDING:
            raise InvalidTransition("请先确认或否定疑似匹配的学生")
        if child.resolution == Resolution.OUT_OF_SCHOOL and child.case_id:
            raise InvalidTransition("该儿童已转为失学个案,请在个案中跟进")
        if child.resolution == Resolution.GRADUATED:
            raise InvalidTransition("该儿童已完成义务教育,无需核实")
        former = child.evidence.name
        stored = ""
        if checked is not None:
            child.evidence.save(f"evidence.{checked.extension}", ContentFile(checked.content), save=False)
            stored = child.evidence.name
            child.evidence_name, child.evidence_size, child.evidence_sha256 = checked.name, checked.size, checked.sha256
        try:
            child.resolution = data.resolution
            child.resolved_school = data.school.strip()
            child.resolved_place = data.place.strip()
            child.resolution_note = data.note.strip()
            child.resolved_by = user
            child.resolved_on = timezone.localdate()
            if data.resolution == Resolution.OUT_OF_SCHOOL:
                child.case = _open_case(user, child, data)
            _save(child, user)
        except BaseException:
            if stored:
                child.evidence.storage.delete(stored)
            raise
        if stored and former and former != stored:
            storage = child.evidence.storage
            transaction.on_commit(lambda: storage.delete(former))
    return child


def _open_case(user, child: ScreenedChild, data: ResolutionInput) -> DropoutCase:
    schools = selectors.responsible_schools(user, child)
    school = schools.filter(pk=data.responsible_school_id).first() if data.responsible_school_id else None
    if school is None:
        raise InvalidInput("请选择负责劝返的学校(该儿童户籍所在乡镇的学校)")
    student = _student_for(user, child, school)
    open_case = DropoutCase.objects.filter(student=student, status__in=DropoutCase.OPEN_STATUSES).first()
    if open_case is not None:
        return open_case
    today = timezone.localdate()
    case = DropoutCase.objects.create(
        student=student,
        school=school,
        classroom=None,
        source=DropoutCase.Source.SCREENING,
        detected_on=today,
        reason_detail=data.note.strip(),
        measures_taken=f"{today:%Y-%m-%d} 户籍比对({child.run.title}):户籍在册、本县无在读学籍,经{user}核实为失学/辍学",
        created_by=user,
    )
    case_services.record_event(case, by=user, action="排查发现失学(户籍比对)", note=data.note.strip())
    case_services.refresh_due(case)
    case_services.notify_bureau(case, f"排查发现失学儿童:{student.name}({school.name}负责劝返),请学校上报、教育局核实")
    return case


def _student_for(user, child: ScreenedChild, school: School) -> Student:
    """The child's student record: the one matched, else a new record at the school taking the case
    (未入学, no 学籍号, on no class roll until the child returns)."""
    if child.student_id:
        student = Student.objects.select_for_update().get(pk=child.student_id)
        if student.status in (Student.Status.TRANSFERRED_OUT, Student.Status.DECEASED, Student.Status.GRADUATED):
            student.status = Student.Status.NOT_ENROLLED
            student.school, student.classroom = school, None
            student._history_user = user  # type: ignore[attr-defined]
            student.save()
        return student
    existing = Student.objects.filter(id_number=child.id_number).first() if child.id_number else None
    if existing is not None:
        if existing.school is not None and existing.school.county_id != child.run.county_id:
            raise InvalidInput("该身份证号已有外县学籍记录,请联系教育局核实")
        return existing
    student = Student(
        student_no="",
        id_number=child.id_number,
        name=child.name,
        gender=child.gender,
        birth_date=child.birth_date,
        school=school,
        classroom=None,
        village_id=child.village_id,
        hukou_address=child.hukou_address,
        address=child.current_address,
        status=Student.Status.NOT_ENROLLED,
    )
    student._history_user = user  # type: ignore[attr-defined]
    student.save()
    if child.guardian_name:
        Guardian.objects.create(
            student=student,
            name=child.guardian_name,
            relation=child.relation_to_head or "监护人",
            phone=child.guardian_phone,
        )
    child.student = student
    return student


def report_absent(*, user, child_id: int, note: str = "") -> ScreenedChild:
    """名在人不在: report the matched student as a suspected dropout (source 排查比对) through casework."""
    with transaction.atomic():
        child = _child_for_update(user, child_id)
        if child.outcome != ScreeningOutcome.ENROLLED_ABSENT or child.student_id is None:
            raise InvalidTransition("只有“名在人不在”的学生可以从排查报告疑似辍学")
        if child.case_id and child.case and child.case.is_open:
            raise InvalidTransition("该学生已有未结的辍学个案")
        case = case_services.open_case(
            user=user,
            student_id=child.student_id,
            source=DropoutCase.Source.SCREENING,
            note=note or f"户籍比对({child.run.title}):{child.evidence_text}",
        )
        child.case = case
        _save(child, user)
    return child
