"""Stored reports and the download log.

A ReportRun is one generation of one report (kind × period × scope). Once done it is never
changed: regenerating makes a new run with the next generation number and keeps the old one.
"""

import secrets
from collections.abc import Collection
from typing import Any, Self

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from students.models import User


def report_file_path(run: "ReportRun", filename: str) -> str:
    """Where a generated file is stored: under a random directory name, so the path cannot be guessed.
    Files are never served from a URL of their own (no MEDIA route in any mode): only through the
    scoped download views, which check the reader and log the download."""
    return f"reports/{timezone.now():%Y/%m}/{secrets.token_urlsafe(18)}/{filename}"


class ReportRun(models.Model):
    class Kind(models.TextChoices):
        CLASS_WEEKLY = "class_weekly", _("班级周报")
        SCHOOL_WEEKLY = "school_weekly", _("学校周报(值班领导周报告)")
        COUNTY_WEEKLY = "county_weekly", _("全县周报")
        COUNTY_MONTHLY = "county_monthly", _("全县月报")
        LEDGER_DROPOUTS = "ledger_dropouts", _("辍学学生台账")
        LEDGER_SUSPECTED = "ledger_suspected", _("疑似辍学学生台账")
        LEDGER_RETURNS = "ledger_returns", _("劝返清单")
        LEDGER_SCREENING = "ledger_screening", _("适龄儿童少年台账")

    class ScopeType(models.TextChoices):
        CLASSROOM = "classroom", _("班级")
        SCHOOL = "school", _("学校")
        COUNTY = "county", _("全县")

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("期间"), max_length=10, blank=True, help_text=_("2026-W47 或 2026-11"))
    scope_type = models.CharField(_("范围类型"), max_length=10, choices=ScopeType.choices)
    scope_id = models.PositiveBigIntegerField(_("范围编号"))
    scope_name = models.CharField(_("范围"), max_length=100)
    generation = models.PositiveIntegerField(_("生成次数"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    data = models.JSONField(_("报表数据"), default=dict, blank=True)
    data_as_of = models.DateTimeField(_("数据截至"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to=report_file_path, blank=True, max_length=200)
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("申请人")
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.TextField(_("错误"), blank=True)

    _loaded_status: str | None  # the status as loaded from the database (set by from_db and save)

    class Meta:
        verbose_name = _("报表")
        verbose_name_plural = _("报表")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "scope_type", "scope_id", "generation"], name="reportrun_unique_generation"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="reportrun_progress_le_100"),
        ]
        indexes = [models.Index(fields=["kind", "scope_type", "scope_id", "period"], name="reportrun_lookup")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period} {self.scope_name}"

    def save(self, *args, **kwargs):
        if getattr(self, "_loaded_status", None) == self.Status.DONE:
            raise ValueError("a finished report run is never changed; regenerate it instead")
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def get_absolute_url(self) -> str:
        return reverse("report-detail", args=[self.pk])

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> Self:
        run = super().from_db(db, field_names, values)
        run._loaded_status = run.__dict__.get("status")
        return run


class ReportSignature(models.Model):
    """A principal signs off a finished report (the run itself stays unchanged)."""

    run = models.OneToOneField(ReportRun, on_delete=models.CASCADE, related_name="signature", verbose_name=_("报表"))
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("签发人"))
    at = models.DateTimeField(_("签发时间"), default=timezone.now)
    note = models.CharField(_("意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("报表签发")
        verbose_name_plural = _("报表签发")

    def __str__(self) -> str:
        return f"{self.run} 签发:{self.user}"


class DownloadLog(models.Model):
    """Who downloaded what, when, and how many rows: the bureau can see it."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="downloads", verbose_name=_("下载人"))
    what = models.CharField(_("内容"), max_length=40)
    label = models.CharField(_("名称"), max_length=200)
    params = models.JSONField(_("条件"), default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("行数"))
    run = models.ForeignKey(
        ReportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="downloads", verbose_name=_("报表")
    )
    school_id = models.PositiveBigIntegerField(_("学校"), null=True, blank=True)
    county_id = models.PositiveBigIntegerField(_("县(区)"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("下载记录")
        verbose_name_plural = _("下载记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["county_id", "at"], name="download_county_at")]

    def __str__(self) -> str:
        return f"{self.user} {self.label} {self.at:%Y-%m-%d %H:%M}"
