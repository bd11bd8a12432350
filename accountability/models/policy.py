"""The county's deadlines and thresholds for accountability (one row per county, defaults below)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from students.models import County


class AccountabilityPolicy(models.Model):
    county = models.OneToOneField(County, on_delete=models.CASCADE, related_name="accountability_policy")
    sign_working_days = models.PositiveSmallIntegerField(
        _("周报校长签发期限(周末后工作日)"), default=2, help_text=_("报告周的周日之后第 N 个工作日内签发")
    )
    receive_working_days = models.PositiveSmallIntegerField(_("教育局签收期限(签发后工作日)"), default=2)
    flag_ack_school_days = models.PositiveSmallIntegerField(_("预警处理期限(上学日)"), default=2)
    finding_working_days = models.PositiveSmallIntegerField(_("整改默认期限(工作日)"), default=10)
    report_by = models.TimeField(_("日报按时截止时间"), default="10:00")
    home_visits_per_term = models.PositiveSmallIntegerField(_("每学期对预警学生家访次数"), default=1)
    # Targets of the compliance metrics (reporting/compliance.py), in % unless said otherwise.
    target_report_on_time = models.DecimalField(_("目标:日报按时率(%)"), max_digits=5, decimal_places=2, default=95)
    target_flags_in_time = models.DecimalField(_("目标:预警按时处理率(%)"), max_digits=5, decimal_places=2, default=90)
    target_deadlines_met = models.DecimalField(_("目标:个案期限按时率(%)"), max_digits=5, decimal_places=2, default=90)
    target_activities_per_case = models.DecimalField(
        _("目标:每个在办个案的劝返与跟踪次数"), max_digits=5, decimal_places=2, default=2
    )
    target_home_visits = models.DecimalField(
        _("目标:个案学生家访覆盖率(%)"), max_digits=5, decimal_places=2, default=100
    )
    target_signoff_on_time = models.DecimalField(
        _("目标:周报按时签发率(%)"), max_digits=5, decimal_places=2, default=100
    )
    target_retention = models.DecimalField(_("目标:巩固率(%)"), max_digits=5, decimal_places=2, default=97)
    veto_on_dropouts_over_target = models.BooleanField(
        _("一票否决:已认定辍学率超过控制目标且无已验收整改"), default=True
    )
    veto_on_teacher_fault = models.BooleanField(_("一票否决:教育局记录的教师责任流失"), default=True)

    class Meta:
        verbose_name = _("督导考核设置")
        verbose_name_plural = _("督导考核设置")

    def __str__(self) -> str:
        return f"{self.county} 督导考核设置"
