"""Daily attendance reports (one per class and school day), their absences and revisions."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .org import Classroom, School
from .people import Student, User


class AbsenceKind(models.TextChoices):
    SICK = "sick", _("病假")
    PERSONAL = "personal", _("事假")
    UNEXCUSED = "unexcused", _("旷课")
    UNKNOWN = "unknown", _("不明")


class DailyReport(models.Model):
    """A class's attendance for one school day (日报告). Absent students only; everyone else was present.

    "Not reported" and "reported, nobody absent" (零报告) are different facts: the second has a row.
    """

    classroom = models.ForeignKey(
        Classroom, on_delete=models.CASCADE, related_name="daily_reports", verbose_name=_("班级")
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="daily_reports", verbose_name=_("学校"))
    date = models.DateField(_("日期"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    enrolled_count = models.PositiveIntegerField(_("应到"))
    present_count = models.PositiveIntegerField(_("实到"))
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="daily_reports", verbose_name=_("填报人")
    )
    submitted_at = models.DateTimeField(_("填报时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考勤日报")
        verbose_name_plural = _("考勤日报")
        ordering = ["-date", "classroom_id"]
        constraints = [
            models.UniqueConstraint(fields=["classroom", "date"], name="dailyreport_one_per_class_day"),
            models.CheckConstraint(
                condition=Q(present_count__lte=models.F("enrolled_count")), name="dailyreport_present_le_enrolled"
            ),
        ]
        indexes = [models.Index(fields=["school", "date"], name="dailyreport_school_date")]

    def __str__(self) -> str:
        return f"{self.classroom} {self.date}"

    @property
    def absent_count(self) -> int:
        return self.enrolled_count - self.present_count


class Absence(models.Model):
    report = models.ForeignKey(DailyReport, on_delete=models.CASCADE, related_name="absences", verbose_name=_("日报"))
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="absences", verbose_name=_("学生"))
    date = models.DateField(_("日期"))
    kind = models.CharField(_("缺勤类别"), max_length=12, choices=AbsenceKind.choices)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    family_contacted = models.BooleanField(_("已联系家长"), default=False)

    class Meta:
        verbose_name = _("缺勤")
        verbose_name_plural = _("缺勤")
        ordering = ["date", "student_id"]
        constraints = [models.UniqueConstraint(fields=["report", "student"], name="absence_one_per_report_student")]
        indexes = [models.Index(fields=["student", "date"], name="absence_student_date")]

    def __str__(self) -> str:
        return f"{self.student} {self.date} {self.get_kind_display()}"


class DailyReportRevision(models.Model):
    """Every version of a daily report as it was submitted: who, when, what."""

    report = models.ForeignKey(DailyReport, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("日报"))
    version = models.PositiveIntegerField(_("版本"))
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报人"))
    submitted_at = models.DateTimeField(_("填报时间"))
    present_count = models.PositiveIntegerField(_("实到"))
    absences = models.JSONField(_("缺勤名单"), default=list)

    class Meta:
        verbose_name = _("考勤日报历史版本")
        verbose_name_plural = _("考勤日报历史版本")
        ordering = ["report", "-version"]
        constraints = [models.UniqueConstraint(fields=["report", "version"], name="revision_unique_version")]

    def __str__(self) -> str:
        return f"{self.report} v{self.version}"
