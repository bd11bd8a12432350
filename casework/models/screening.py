"""Screening (排查摸底, 四查三比对): a household-register list of school-age children compared with
enrolment (学籍) and with who is in class (在校).

A :class:`ScreeningRun` is one imported register (its file, checksum, who imported it and when);
each school-age child of it, and each enrolled student the register does not list, is a
:class:`ScreenedChild` with its outcome. A child the register lists but no school enrols is
resolved by the township / village cadre or the bureau, with evidence, or becomes a 失学 case.
"""

import secrets

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.models import Classroom, County, School, Student, Township, User, Village

from .cases import DropoutCase


def register_path(run: "ScreeningRun", filename: str) -> str:
    """Outside any served URL (MEDIA_ROOT is not routed), under an unguessable name."""
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"screening/{run.county_id}/registers/{secrets.token_urlsafe(18)}.{extension}"


def evidence_path(child: "ScreenedChild", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"screening/{child.run.county_id}/evidence/{secrets.token_urlsafe(18)}.{extension}"


class ScreeningRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("比对中")
        DONE = "done", _("已完成")
        REJECTED = "rejected", _("文件有误,未导入")
        FAILED = "failed", _("失败")

    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="screening_runs", verbose_name=_("县(区)")
    )
    title = models.CharField(_("名称"), max_length=100)
    cutoff_on = models.DateField(_("年龄计算截止日"), help_text=_("学年入学年龄截止日(8月31日)"))
    absent_days = models.PositiveSmallIntegerField(_("名在人不在:连续缺勤上学日"), default=5)
    file = models.FileField(_("户籍名单文件"), upload_to=register_path, max_length=200)
    file_name = models.CharField(_("原文件名"), max_length=200)
    file_size = models.PositiveIntegerField(_("文件大小"))
    file_sha256 = models.CharField(_("文件校验和(SHA-256)"), max_length=64)
    file_format = models.CharField(_("文件格式"), max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    stage = models.CharField(_("当前步骤"), max_length=50, blank=True)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    errors = models.JSONField(_("逐行错误"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    counts = models.JSONField(_("比对结果统计"), default=dict, blank=True)
    data_as_of = models.DateField(_("考勤数据截至"), null=True, blank=True)
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("导入人"))
    created_at = models.DateTimeField(_("导入时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("排查比对批次")
        verbose_name_plural = _("排查比对批次")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["county", "status", "created_at"], name="screening_run_county")]

    def __str__(self) -> str:
        return f"{self.title}({timezone.localtime(self.created_at):%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return reverse("screening:run", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)


class ScreeningOutcome(models.TextChoices):
    ATTENDING = "attending", _("在读且在校")
    ENROLLED_ABSENT = "enrolled_absent", _("名在人不在")
    NOT_ENROLLED = "not_enrolled", _("未在本县学籍")
    NOT_REGISTERED = "not_registered", _("在籍不在册")


class Resolution(models.TextChoices):
    """What became of a child the register lists and no school of the county enrols."""

    ELSEWHERE = "elsewhere", _("在外地就读")
    MIGRANT = "migrant", _("随迁就读")
    SPECIAL = "special", _("特殊教育/送教上门")
    DEFERRED = "deferred", _("延缓入学(已批准)")
    SUSPENDED = "suspended", _("休学(已批准)")
    DECEASED = "deceased", _("死亡")
    MOVED = "moved", _("户籍迁出")
    OUT_OF_SCHOOL = "out_of_school", _("失学/辍学(转入个案)")
    GRADUATED = "graduated", _("已完成义务教育")


class ScreenedChild(models.Model):
    class MatchMethod(models.TextChoices):
        ID_NUMBER = "id_number", _("身份证号一致")
        SUGGESTION = "suggestion", _("姓名+出生日期+村 人工确认")

    class Suggestion(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        REJECTED = "rejected", _("已否定")

    # Resolutions that need a document (证明材料): the others may attach one.
    EVIDENCE_REQUIRED = (
        Resolution.ELSEWHERE,
        Resolution.DEFERRED,
        Resolution.SUSPENDED,
        Resolution.DECEASED,
        Resolution.MOVED,
    )
    # Resolutions a person chooses (the system sets GRADUATED from the student's 学籍).
    CHOOSABLE = tuple(r for r in Resolution if r != Resolution.GRADUATED)

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="children", verbose_name=_("批次"))
    row_number = models.PositiveIntegerField(_("文件行号"), null=True, blank=True)
    # From the register (blank for an enrolled student the register does not list).
    household_head = models.CharField(_("户主姓名"), max_length=50, blank=True)
    relation_to_head = models.CharField(_("与户主关系"), max_length=20, blank=True)
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Student.Gender.choices)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    birth_date = models.DateField(_("出生日期"))
    age = models.PositiveSmallIntegerField(_("截止日年龄"))
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("乡镇")
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("村(社区)")
    )
    group = models.CharField(_("组"), max_length=20, blank=True)
    hukou_address = models.CharField(_("户籍地址"), max_length=200, blank=True)
    current_address = models.CharField(_("现居地"), max_length=200, blank=True)
    guardian_name = models.CharField(_("监护人"), max_length=50, blank=True)
    guardian_phone = models.CharField(_("电话"), max_length=30, blank=True)

    # The comparison.
    outcome = models.CharField(_("比对结果"), max_length=16, choices=ScreeningOutcome.choices)
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("学籍学生")
    )
    match_method = models.CharField(_("匹配方式"), max_length=12, choices=MatchMethod.choices, blank=True)
    suggested_student = models.ForeignKey(
        Student, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("疑似对应学生")
    )
    suggestion = models.CharField(_("疑似匹配"), max_length=10, choices=Suggestion.choices, blank=True)
    # The matched student's school and class when the run compared (a principal sees these children).
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("学籍学校")
    )
    classroom = models.ForeignKey(
        Classroom, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("班级")
    )
    student_status = models.CharField(_("学籍状态"), max_length=20, blank=True)
    evidence_text = models.CharField(_("比对依据"), max_length=300, blank=True)

    # The resolution of a child no school enrols (or the case it became).
    resolution = models.CharField(_("核实结论"), max_length=14, choices=Resolution.choices, blank=True)
    resolved_school = models.CharField(_("就读学校/机构"), max_length=100, blank=True)
    resolved_place = models.CharField(_("所在地"), max_length=100, blank=True)
    resolution_note = models.CharField(_("说明"), max_length=300, blank=True)
    evidence = models.FileField(_("佐证材料"), upload_to=evidence_path, blank=True, max_length=200)
    evidence_name = models.CharField(_("佐证材料文件名"), max_length=200, blank=True)
    evidence_size = models.PositiveIntegerField(_("佐证材料大小"), null=True, blank=True)
    evidence_sha256 = models.CharField(_("佐证材料校验和"), max_length=64, blank=True)
    resolved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("摸排人")
    )
    resolved_on = models.DateField(_("摸排日期"), null=True, blank=True)
    case = models.ForeignKey(
        DropoutCase, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("个案")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("排查儿童")
        verbose_name_plural = _("排查儿童")
        ordering = ["run", "township_id", "village_id", "household_head", "row_number", "id"]
        constraints = [
            models.CheckConstraint(
                name="screened_child_resolution_only_unenrolled",
                condition=Q(resolution="") | Q(outcome="not_enrolled"),
            ),
        ]
        indexes = [
            models.Index(fields=["run", "outcome"], name="screened_run_outcome"),
            models.Index(fields=["run", "township", "village"], name="screened_run_place"),
            models.Index(fields=["run", "school"], name="screened_run_school"),
            models.Index(fields=["run", "id_number"], name="screened_run_id"),
            models.Index(fields=["student"], name="screened_student"),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.get_outcome_display()})"

    def get_absolute_url(self) -> str:
        return reverse("screening:child", args=[self.pk])

    @property
    def needs_resolution(self) -> bool:
        """Listed by the register, enrolled nowhere in the county, not yet resolved."""
        return self.outcome == ScreeningOutcome.NOT_ENROLLED and not self.resolution

    @property
    def suggestion_pending(self) -> bool:
        return self.suggestion == self.Suggestion.PENDING
