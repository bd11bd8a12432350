"""Dropout cases (辍学台账 entries), one-student-one-plan (一人一案), persuasion activities and follow-up.

Lifecycle (DESIGN.md §5)::

    suspected ──verify──▶ confirmed ──plan──▶ returning ──return──▶ returned ──close──▶ closed
        └─dismiss─▶ dismissed               returning ──escalate──▶ escalated ──return──▶ returned

Every transition is a service function (casework/services.py) that checks the state and the
actor and writes an immutable CaseEvent in the same transaction.
"""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from students.models import Classroom, County, School, Student, User


class CountyPolicy(models.Model):
    """Deadlines and thresholds a county sets for itself (defaults from DESIGN.md §5)."""

    county = models.OneToOneField(County, on_delete=models.CASCADE, related_name="case_policy")
    report_working_days = models.PositiveSmallIntegerField(_("发现后上报期限(工作日)"), default=3)
    verify_working_days = models.PositiveSmallIntegerField(_("教育局核实期限(工作日)"), default=5)
    plan_working_days = models.PositiveSmallIntegerField(_("认定后制定方案期限(工作日)"), default=5)
    contact_interval_working_days = models.PositiveSmallIntegerField(_("劝返联系间隔(工作日)"), default=7)
    escalate_after_failed_contacts = models.PositiveSmallIntegerField(_("失败联系次数达到即建议联合劝返"), default=3)
    escalate_after_days = models.PositiveSmallIntegerField(_("劝返超过天数即建议联合劝返"), default=30)
    consolidate_school_days = models.PositiveSmallIntegerField(_("复学后巩固上学日数(销号条件)"), default=20)
    notice_days = models.PositiveSmallIntegerField(_("限期返校通知书期限(天)"), default=7)

    class Meta:
        verbose_name = _("控辍期限设置")
        verbose_name_plural = _("控辍期限设置")

    def __str__(self) -> str:
        return f"{self.county} 期限设置"


class DropoutCase(models.Model):
    class Status(models.TextChoices):
        SUSPECTED = "suspected", _("疑似辍学")
        CONFIRMED = "confirmed", _("已认定辍学")
        DISMISSED = "dismissed", _("已排除")
        RETURNING = "returning", _("劝返中")
        ESCALATED = "escalated", _("联合劝返")
        RETURNED = "returned", _("已复学")
        CLOSED = "closed", _("已销号")

    class Source(models.TextChoices):
        ATTENDANCE = "attendance", _("日常考勤")
        SCREENING = "screening", _("排查比对")
        MANUAL = "manual", _("学校报告")
        TRANSFER = "transfer", _("转入移交")

    class Reason(models.TextChoices):
        LEARNING = "learning", _("学习困难/厌学")
        POVERTY = "poverty", _("家庭经济困难")
        DISTANCE = "distance", _("上学远")
        WORK = "work", _("外出打工")
        MARRIAGE = "marriage", _("早婚早育")
        HEALTH = "health", _("身体原因")
        OTHER = "other", _("其他")

    class DismissReason(models.TextChoices):
        TRANSFERRED = "transferred", _("转学在读")
        SUSPENDED = "suspended", _("经批准休学")
        DEFERRED = "deferred", _("延缓入学")
        SICK_LEAVE = "sick_leave", _("病假")
        UNFIT = "unfit", _("身体原因不具备学习条件")
        DECEASED = "deceased", _("死亡")
        FALSE_REPORT = "false_report", _("误报")

    class Whereabouts(models.TextChoices):
        HOME = "home", _("在家")
        WORKING = "working", _("外出务工")
        WITH_PARENTS = "with_parents", _("随父母外出")
        UNKNOWN = "unknown", _("不明")

    class Placement(models.TextChoices):
        ORIGINAL = "original", _("原班就读")
        INSERTED = "inserted", _("插班就读")
        SEPARATE = "separate", _("单独编班")
        VOCATIONAL = "vocational", _("职业教育")
        HOME_TEACHING = "home_teaching", _("送教上门")

    OPEN_STATUSES = (Status.SUSPECTED, Status.CONFIRMED, Status.RETURNING, Status.ESCALATED, Status.RETURNED)
    # On the dropout ledger (辍学台账): confirmed and not yet struck off.
    LEDGER_STATUSES = (Status.CONFIRMED, Status.RETURNING, Status.ESCALATED, Status.RETURNED)
    PERSUADING = (Status.RETURNING, Status.ESCALATED)
    # A plan (一人一案) may be made or changed from confirmation until the student is back.
    PLANNABLE = (Status.CONFIRMED, *PERSUADING)
    # Contacts (劝返记录, 复学跟踪) are logged from confirmation until the case is struck off.
    CONTACTABLE = (*PLANNABLE, Status.RETURNED)
    # Confirmed by the bureau at some point: counts as a dropout of its school year (辍学率), closed or not.
    CONFIRMED_STATUSES = (Status.CONFIRMED, Status.RETURNING, Status.ESCALATED, Status.RETURNED, Status.CLOSED)
    # The student is back in class (returned, or returned and struck off).
    BACK_AT_SCHOOL = (Status.RETURNED, Status.CLOSED)

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="cases", verbose_name=_("学生"))
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="cases", verbose_name=_("学校"))
    classroom = models.ForeignKey(
        Classroom, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases", verbose_name=_("班级")
    )
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUSPECTED)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    source_flag = models.ForeignKey(
        "students.RiskFlag",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("来源预警"),
    )
    previous_case = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="later_cases", verbose_name=_("前次个案")
    )

    # Dates of the lifecycle.
    last_attended_on = models.DateField(_("最后到校日期"), null=True, blank=True)
    detected_on = models.DateField(_("发现日期"))
    reported_on = models.DateField(_("上报教育局日期"), null=True, blank=True)
    verified_on = models.DateField(_("认定日期"), null=True, blank=True)
    dropped_out_on = models.DateField(_("辍学时间"), null=True, blank=True)
    returned_on = models.DateField(_("复学日期"), null=True, blank=True)
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)

    # 辍学学生情况报告表
    reason = models.CharField(_("辍学原因(类别)"), max_length=12, choices=Reason.choices, blank=True)
    reason_detail = models.TextField(_("原因说明"), blank=True)
    whereabouts = models.CharField(_("去向"), max_length=14, choices=Whereabouts.choices, blank=True)
    family_situation = models.TextField(_("家庭情况"), blank=True)
    measures_taken = models.TextField(_("已采取措施"), blank=True)
    guardian_opinion = models.TextField(_("监护人意见"), blank=True)
    teacher_opinion = models.TextField(_("班主任意见"), blank=True)
    office_opinion = models.TextField(_("教导处意见"), blank=True)
    principal_opinion = models.TextField(_("校长意见"), blank=True)
    signed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("校长签字")
    )

    dismiss_reason = models.CharField(_("排除原因"), max_length=14, choices=DismissReason.choices, blank=True)
    placement = models.CharField(_("安置方式"), max_length=14, choices=Placement.choices, blank=True)
    close_basis = models.CharField(_("销号依据"), max_length=200, blank=True)

    # 限期返校通知书
    NOTICE_NUMBER_LENGTH = 40
    notice_number = models.CharField(_("通知书文号"), max_length=NOTICE_NUMBER_LENGTH, blank=True)
    notice_issued_on = models.DateField(_("通知书发出日期"), null=True, blank=True)
    notice_deadline = models.DateField(_("限期返校日期"), null=True, blank=True)

    # Maintained by services and the daily job so lists can filter on them with an index.
    next_due_on = models.DateField(_("下一期限"), null=True, blank=True)
    due_kind = models.CharField(_("期限事项"), max_length=20, blank=True)

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("报告人"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # Set by casework.selectors.current_plan (and the code that primes it): [plan], or [] for none.
    _current_plan: list["ReturnPlan"]

    class Meta:
        verbose_name = _("辍学个案")
        verbose_name_plural = _("辍学个案")
        ordering = ["-detected_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(status__in=["suspected", "confirmed", "returning", "escalated", "returned"]),
                name="case_one_open_per_student",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "status"], name="case_school_status"),
            models.Index(fields=["status", "next_due_on"], name="case_status_due"),
            models.Index(fields=["reason"], name="case_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("case-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def on_ledger(self) -> bool:
        return self.status in self.LEDGER_STATUSES

    @property
    def is_overdue(self) -> bool:
        return bool(self.next_due_on and self.next_due_on < timezone.localdate() and self.is_open)


class CaseEvent(models.Model):
    """The immutable trail: who moved the case, when, from what to what, and why."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="events", verbose_name=_("个案"))
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作人"))
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(_("原状态"), max_length=12, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, blank=True)
    note = models.TextField(_("说明"), blank=True)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作时所属学校"), null=True
    )

    class Meta:
        verbose_name = _("个案记录")
        verbose_name_plural = _("个案记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("CaseEvent rows are immutable")
        super().save(*args, **kwargs)


class Measure(models.TextChoices):
    AID = "aid", _("资助")
    TUTORING = "tutoring", _("补习")
    COUNSELLING = "counselling", _("心理辅导")
    HOME_VISIT = "home_visit", _("家访")
    LAW = "law", _("法治宣传")
    HOME_TEACHING = "home_teaching", _("送教上门")
    BUDDY = "buddy", _("结对帮扶")


class ReturnPlan(models.Model):
    """一人一案: each change is a new version; the newest is current."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="plans", verbose_name=_("个案"))
    version = models.PositiveIntegerField(_("版本"))
    is_current = models.BooleanField(_("当前版本"), default=True)
    reason_analysis = models.TextField(_("原因分析"))
    measures = models.JSONField(_("帮扶措施"), default=list)
    method = models.CharField(_("劝返方式"), max_length=200)
    target_return_on = models.DateField(_("目标返校日期"))
    school_leader = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("教育线责任人(校领导)")
    )
    class_teacher = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("教育线责任人(班主任)")
    )
    township_cadre = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("行政线责任人(乡镇干部)")
    )
    village_cadre = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("行政线责任人(村干部)"),
    )
    lead_is_township = models.BooleanField(_("乡镇牵头(联合劝返)"), default=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("制定人"))
    created_at = models.DateTimeField(_("制定时间"), default=timezone.now)

    class Meta:
        verbose_name = _("一人一案方案")
        verbose_name_plural = _("一人一案方案")
        ordering = ["case", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="plan_unique_version"),
            models.UniqueConstraint(fields=["case"], condition=Q(is_current=True), name="plan_one_current"),
        ]

    def __str__(self) -> str:
        return f"{self.case.student} 方案 v{self.version}"

    @property
    def owner_ids(self) -> set[int]:
        return {
            pk
            for pk in (self.school_leader_id, self.class_teacher_id, self.township_cadre_id, self.village_cadre_id)
            if pk
        }

    def measure_labels(self) -> list[str]:
        return [str(Measure(m).label) for m in self.measures if m in Measure.values]


class CaseActivity(models.Model):
    """劝返记录 and 复学跟踪: one row per contact."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("电话")
        HOME_VISIT = "home_visit", _("家访")
        INTERVIEW = "interview", _("约谈")
        JOINT = "joint", _("联合劝返")
        NOTICE = "notice", _("通知书送达")
        FOLLOW_UP = "follow_up", _("复学跟踪")

    class Target(models.TextChoices):
        STUDENT = "student", _("学生")
        GUARDIAN = "guardian", _("家长")
        BOTH = "both", _("学生和家长")

    class Outcome(models.TextChoices):
        RETURNED = "returned", _("已返校")
        PROMISED = "promised", _("承诺返校")
        NOT_RETURNED = "not_returned", _("未返校")
        REFUSED = "refused", _("家长拒绝")
        UNREACHABLE = "unreachable", _("无法联系")
        ATTENDING = "attending", _("在校正常")

    FAILED = (Outcome.NOT_RETURNED, Outcome.REFUSED, Outcome.UNREACHABLE)

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="activities", verbose_name=_("个案"))
    occurred_on = models.DateField(_("日期"))
    kind = models.CharField(_("方式"), max_length=12, choices=Kind.choices)
    target = models.CharField(_("对象"), max_length=10, choices=Target.choices, default=Target.BOTH)
    participants = models.CharField(_("参与人员"), max_length=200)
    content = models.TextField(_("内容"), blank=True)
    outcome = models.CharField(_("结果"), max_length=14, choices=Outcome.choices)
    next_step = models.CharField(_("下一步"), max_length=200, blank=True)
    next_step_on = models.DateField(_("下一步日期"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("记录人"))
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="+", verbose_name=_("记录时所属学校"), null=True
    )

    class Meta:
        verbose_name = _("劝返记录")
        verbose_name_plural = _("劝返记录")
        ordering = ["occurred_on", "id"]
        indexes = [models.Index(fields=["case", "occurred_on"], name="activity_case_date")]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.get_kind_display()} {self.get_outcome_display()}"

    @property
    def failed(self) -> bool:
        return self.outcome in self.FAILED


class FollowUp(models.Model):
    """After return: buddy, tutoring, counselling and weekly check-ins (复学跟踪)."""

    class Kind(models.TextChoices):
        BUDDY = "buddy", _("互助对子")
        TUTORING = "tutoring", _("补习辅导")
        COUNSELLING = "counselling", _("心理辅导")
        CHECK_IN = "check_in", _("每周回访")

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("个案"))
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    due_on = models.DateField(_("计划日期"))
    assignee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任人"))
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("复学跟踪")
        verbose_name_plural = _("复学跟踪")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["case", "done_on"], name="followup_case_done")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on}"


class CaseHandover(models.Model):
    """A case moved with its student to another school of the county."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="handovers", verbose_name=_("个案"))
    from_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("原学校"))
    to_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("接收学校"))
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("经办人"))
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("个案移交")
        verbose_name_plural = _("个案移交")
        ordering = ["case", "at"]

    def __str__(self) -> str:
        return f"{self.from_school} → {self.to_school}"
