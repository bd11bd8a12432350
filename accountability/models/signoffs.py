"""The weekly school report's sign-off chain: the principal signs, the bureau receives or returns it."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.models import School, User


class WeeklySignoff(models.Model):
    """One school's week (ISO week, e.g. 2026-W47) on its way from the school to the bureau.

    pending ──sign──▶ signed ──receive──▶ received
                        └──return──▶ returned ──sign──▶ signed …
    Each step is time-stamped; a step after the county's deadline is marked late.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待签发")
        SIGNED = "signed", _("已签发")
        RECEIVED = "received", _("已签收")
        RETURNED = "returned", _("已退回")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="signoffs", verbose_name=_("学校"))
    week = models.CharField(_("周次"), max_length=8, help_text=_("2026-W47"))
    week_start = models.DateField(_("周一"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    sign_due = models.DateField(_("签发期限"))
    signed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("签发人")
    )
    signed_at = models.DateTimeField(_("签发时间"), null=True, blank=True)
    sign_late = models.BooleanField(_("签发逾期"), default=False)
    sign_note = models.CharField(_("签发意见"), max_length=300, blank=True)
    received_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("签收人")
    )
    received_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    receive_late = models.BooleanField(_("签收逾期"), default=False)
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    return_comment = models.CharField(_("退回意见"), max_length=300, blank=True)
    times_returned = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("周报签发")
        verbose_name_plural = _("周报签发")
        constraints = [models.UniqueConstraint(fields=["school", "week"], name="one_signoff_a_school_week")]
        indexes = [models.Index(fields=["week", "status"], name="signoff_week_status")]

    def __str__(self) -> str:
        return f"{self.school} {self.week} {self.get_status_display()}"

    @property
    def late(self) -> bool:
        return self.sign_late or self.receive_late
