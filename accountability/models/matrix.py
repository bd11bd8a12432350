"""The 控辍保学领导小组 of each school and year, and the 包保 matrix on the two lines.

Education line: leaders cover the school, grades and classes (包年级/包班), class teachers their
class, teachers named students (包人). Administrative line: township and village cadres cover
their residents (the township, the village, or named students).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.models import Classroom, County, Grade, School, SchoolYear, Student, Township, User, Village


class LeadingGroup(models.Model):
    """A school's 控辍保学领导小组 for a school year; the principal is normally the 组长."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="leading_groups", verbose_name=_("学校"))
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+", verbose_name=_("学年"))
    leader = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("组长"))
    duties = models.TextField(_("职责分工"), blank=True)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("修改人"))
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("控辍保学领导小组")
        verbose_name_plural = _("控辍保学领导小组")
        constraints = [models.UniqueConstraint(fields=["school", "school_year"], name="one_leading_group_a_year")]

    def __str__(self) -> str:
        return f"{self.school} {self.school_year.name} 控辍保学领导小组"


class LeadingGroupMember(models.Model):
    class Duty(models.TextChoices):
        DEPUTY = "deputy", _("副组长")
        MEMBER = "member", _("成员")
        OFFICE = "office", _("办公室主任")

    group = models.ForeignKey(
        LeadingGroup, on_delete=models.CASCADE, related_name="members", verbose_name=_("领导小组")
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("成员"))
    duty = models.CharField(_("职务"), max_length=10, choices=Duty.choices, default=Duty.MEMBER)
    task = models.CharField(_("分工"), max_length=100, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("领导小组成员")
        verbose_name_plural = _("领导小组成员")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="one_membership_a_group")]

    def __str__(self) -> str:
        return f"{self.user}({self.get_duty_display()})"


class Responsibility(models.Model):
    """One 包保 row: ``person`` answers, on ``line``, for one target in one school year."""

    class Line(models.TextChoices):
        EDUCATION = "education", _("教育线")
        ADMINISTRATIVE = "administrative", _("行政线")

    class TargetKind(models.TextChoices):
        SCHOOL = "school", _("包校")
        GRADE = "grade", _("包年级")
        CLASSROOM = "classroom", _("包班")
        STUDENT = "student", _("包人")
        TOWNSHIP = "township", _("包乡镇")
        VILLAGE = "village", _("包村")

    # target kind → the field holding the target (the kinds' codes are the fields' names)
    TARGET_FIELDS: dict[str, str] = {
        kind: kind for kind in ("school", "grade", "classroom", "student", "township", "village")
    }

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="+", verbose_name=_("县(区)"))
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+", verbose_name=_("学年"))
    person = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="responsibilities", verbose_name=_("责任人")
    )
    line = models.CharField(_("责任线"), max_length=15, choices=Line.choices)
    target_kind = models.CharField(_("包保对象类别"), max_length=10, choices=TargetKind.choices)
    # The school the row belongs to (the principal edits its rows); empty for township / village rows.
    owner_school = models.ForeignKey(
        School, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("所属学校")
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    grade = models.ForeignKey(Grade, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    township = models.ForeignKey(Township, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    village = models.ForeignKey(Village, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_key = models.CharField(max_length=30, editable=False)  # "classroom:12": one row per target
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("包保责任")
        verbose_name_plural = _("包保责任")
        constraints = [
            models.CheckConstraint(
                name="responsibility_target_matches_kind",
                condition=(
                    Q(target_kind="school", school__isnull=False)
                    | Q(target_kind="grade", grade__isnull=False)
                    | Q(target_kind="classroom", classroom__isnull=False)
                    | Q(target_kind="student", student__isnull=False)
                    | Q(target_kind="township", township__isnull=False)
                    | Q(target_kind="village", village__isnull=False)
                ),
            ),
            models.UniqueConstraint(
                fields=["school_year", "person", "line", "target_key"], name="responsibility_once_a_year"
            ),
        ]
        indexes = [
            models.Index(fields=["school_year", "owner_school"], name="resp_year_school"),
            models.Index(fields=["student", "line"], name="resp_student_line"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_line_display()} {self.get_target_kind_display()} {self.target}"

    def save(self, *args, **kwargs):
        self.target_key = f"{self.target_kind}:{getattr(self, self.TARGET_FIELDS[self.target_kind] + '_id')}"
        super().save(*args, **kwargs)

    @property
    def target(self):
        return getattr(self, self.TARGET_FIELDS[self.target_kind])
