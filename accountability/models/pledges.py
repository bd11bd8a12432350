"""目标责任书 (双线目标责任制): who pledged what to whom for a term, and the signed scan."""

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.models import County, School, Student, Term, User


class PledgeKind(models.TextChoices):
    BUREAU_PRINCIPAL = "bureau_principal", _("教育局—校长")
    PRINCIPAL_TEACHER = "principal_teacher", _("校长—班主任")
    PRINCIPAL_SUBJECT_TEACHER = "principal_subject_teacher", _("校长—任课教师")
    SCHOOL_FAMILY = "school_family", _("学校—家长")


def scan_path(pledge: "Pledge", filename: str) -> str:
    """Outside any served URL (MEDIA_ROOT is not routed), under an unguessable name."""
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"pledges/{pledge.county_id}/{secrets.token_urlsafe(18)}.{extension}"


class PledgeTemplate(models.Model):
    """The printable text of one kind of 责任书, edited by the bureau (placeholders in {braces})."""

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="+", verbose_name=_("县(区)"))
    kind = models.CharField(_("类别"), max_length=30, choices=PledgeKind.choices)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"))
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("修改人"))
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("责任书模板")
        verbose_name_plural = _("责任书模板")
        constraints = [models.UniqueConstraint(fields=["county", "kind"], name="one_pledge_template_a_kind")]

    def __str__(self) -> str:
        return self.title


class Pledge(models.Model):
    """One 目标责任书 between two parties for a term. ``party_b`` is empty for a family pledge,
    which names the student and the guardian who signed instead."""

    Kind = PledgeKind

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="+", verbose_name=_("县(区)"))
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="pledges", verbose_name=_("学校"))
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+", verbose_name=_("学期"))
    kind = models.CharField(_("类别"), max_length=30, choices=PledgeKind.choices)
    party_a = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("甲方"))
    party_b = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="pledges", verbose_name=_("乙方")
    )
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("学生")
    )
    guardian_name = models.CharField(_("家长姓名"), max_length=50, blank=True)
    targets = models.JSONField(_("目标"), default=list, help_text=_("每项一句,如“辍学率不超过0.6%”"))
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    scan = models.FileField(_("签字扫描件"), upload_to=scan_path, blank=True, max_length=200)
    scan_name = models.CharField(_("扫描件原文件名"), max_length=200, blank=True)
    scan_size = models.PositiveIntegerField(_("扫描件大小"), default=0)
    scan_sha256 = models.CharField(_("扫描件SHA-256"), max_length=64, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    history = HistoricalRecords(excluded_fields=["scan"])

    class Meta:
        verbose_name = _("目标责任书")
        verbose_name_plural = _("目标责任书")
        indexes = [models.Index(fields=["term", "school", "kind"], name="pledge_term_school_kind")]

    def __str__(self) -> str:
        other = self.party_b or self.guardian_name
        return f"{self.get_kind_display()} {self.party_a}—{other} {self.term}"
