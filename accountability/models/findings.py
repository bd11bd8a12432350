"""通报 and 限期整改: the bureau's finding against a school, the school's answer, the bureau's decision.

open ──answer──▶ answered ──accept──▶ accepted
                    └──return──▶ returned ──answer──▶ answered …
"""

import secrets

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.models import County, School, User


class Finding(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        ANSWERED = "answered", _("已报整改")
        ACCEPTED = "accepted", _("已验收")
        RETURNED = "returned", _("退回重改")

    class Source(models.TextChoices):
        INSPECTION = "inspection", _("督导检查")
        METRIC = "metric", _("指标未达标")

    OPEN_STATUSES = (Status.OPEN, Status.ANSWERED, Status.RETURNED)

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="+", verbose_name=_("县(区)"))
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="findings", verbose_name=_("学校"))
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices, default=Source.INSPECTION)
    metric = models.CharField(_("指标"), max_length=40, blank=True)
    period = models.CharField(_("期间"), max_length=30, blank=True)
    facts = models.TextField(_("通报事实"))
    requirement = models.TextField(_("整改要求"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("通报人"))
    issued_on = models.DateField(_("通报日期"), default=timezone.localdate)
    due_on = models.DateField(_("整改期限"))
    answer = models.TextField(_("整改措施"), blank=True)
    answered_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("整改报告人")
    )
    answered_at = models.DateTimeField(_("整改报告时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("验收人")
    )
    decided_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    decision_note = models.CharField(_("验收意见"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("通报整改")
        verbose_name_plural = _("通报整改")
        indexes = [models.Index(fields=["school", "status"], name="finding_school_status")]

    def __str__(self) -> str:
        return f"{self.school} 通报 {self.issued_on:%Y-%m-%d}({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("accountability:finding", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


def evidence_path(attachment: "FindingAttachment", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"findings/{attachment.finding_id}/{secrets.token_urlsafe(18)}.{extension}"


class FindingAttachment(models.Model):
    """Evidence the school sends with its answer (PDF or JPG, size-limited, never served publicly)."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("通报"))
    file = models.FileField(_("文件"), upload_to=evidence_path, max_length=200)
    name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("整改佐证材料")
        verbose_name_plural = _("整改佐证材料")

    def __str__(self) -> str:
        return self.name


class TeacherFault(models.Model):
    """The bureau's record that a case was lost through a person's fault (责任流失): it vetoes their appraisal."""

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="+", verbose_name=_("县(区)"))
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任人"))
    case = models.ForeignKey(
        "casework.DropoutCase", on_delete=models.PROTECT, related_name="+", verbose_name=_("辍学个案")
    )
    reason = models.TextField(_("认定理由"))
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("认定人"))
    recorded_on = models.DateField(_("认定日期"), default=timezone.localdate)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("责任流失认定")
        verbose_name_plural = _("责任流失认定")
        constraints = [models.UniqueConstraint(fields=["person", "case"], name="one_fault_a_person_and_case")]

    def __str__(self) -> str:
        return f"{self.person} 责任流失:{self.case}"
