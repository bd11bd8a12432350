"""Early-warning rules (versioned per county) and the flags they or people raise."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .org import County
from .people import Student, User


class RiskLevel(models.TextChoices):
    YELLOW = "yellow", _("黄色")
    ORANGE = "orange", _("橙色")
    RED = "red", _("红色")


class RiskRule(models.Model):
    """A versioned early-warning rule with its county's parameters. Changing parameters adds a version."""

    class Code(models.TextChoices):
        CONSECUTIVE_ABSENCE = "consecutive_absence", _("连续缺勤")
        RECENT_UNEXCUSED = "recent_unexcused", _("近期多次旷课")
        CHRONIC_ABSENCE = "chronic_absence", _("学期缺勤率高")

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="risk_rules", verbose_name=_("县(区)"))
    code = models.CharField(_("规则代码"), max_length=30, choices=Code.choices)
    version = models.PositiveIntegerField(_("版本"))
    level = models.CharField(_("预警等级"), max_length=10, choices=RiskLevel.choices)
    params = models.JSONField(_("参数"), default=dict)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")
        ordering = ["county", "code", "-version"]
        constraints = [models.UniqueConstraint(fields=["county", "code", "version"], name="riskrule_unique_version")]

    def __str__(self) -> str:
        return f"{self.get_code_display()} v{self.version}"


class RiskFlag(models.Model):
    """An early warning (预警) about one student, with the evidence that raised it."""

    Level = RiskLevel

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACKNOWLEDGED = "acknowledged", _("已知悉")
        RESOLVED = "resolved", _("已解除")
        DISMISSED = "dismissed", _("已驳回")

    class Category(models.TextChoices):
        WEARY = "weary", _("厌学")
        FAMILY_CHANGE = "family_change", _("家庭变故")
        LEARNING = "learning", _("学困")
        POVERTY = "poverty", _("家庭经济困难")
        LEFT_BEHIND = "left_behind", _("留守")
        SINGLE_PARENT = "single_parent", _("单亲")
        DISABILITY = "disability", _("残疾")
        OTHER = "other", _("其他")

    OPEN_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)
    MANUAL = "manual"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="risk_flags", verbose_name=_("学生"))
    rule = models.ForeignKey(
        RiskRule, on_delete=models.PROTECT, null=True, blank=True, related_name="flags", verbose_name=_("规则")
    )
    rule_code = models.CharField(_("规则代码"), max_length=30)
    rule_version = models.PositiveIntegerField(_("规则版本"), null=True, blank=True)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices, blank=True)
    situation_key = models.CharField(_("情形"), max_length=60)
    level = models.CharField(_("预警等级"), max_length=10, choices=Level.choices)
    evidence = models.JSONField(_("依据"), default=dict)
    evidence_text = models.CharField(_("依据说明"), max_length=500)
    status = models.CharField(_("状态"), max_length=15, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(_("预警时间"), default=timezone.now)
    raised_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("标记人")
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("处理人")
    )
    handling_note = models.CharField(_("处理说明"), max_length=300, blank=True)

    history = HistoricalRecords(excluded_fields=["evidence"])

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-raised_at"]
        constraints = [
            # The same situation never raises a second flag, whatever became of the first.
            models.UniqueConstraint(
                fields=["student", "rule_code", "situation_key"], name="riskflag_one_per_situation"
            ),
            # At most one open flag per student, rule and (for hand-raised flags) category.
            models.UniqueConstraint(
                fields=["student", "rule_code", "category"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="riskflag_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "level"], name="riskflag_status_level"),
            models.Index(fields=["student", "status"], name="riskflag_student_status"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_level_display()} {self.evidence_text}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
