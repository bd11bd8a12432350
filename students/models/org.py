"""Org tree: county → township → village, county → school → grade → classroom."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class County(models.Model):
    name = models.CharField(_("县(区)"), max_length=50)
    code = models.CharField(_("行政区划代码"), max_length=12, unique=True)

    class Meta:
        verbose_name = _("县(区)")
        verbose_name_plural = _("县(区)")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Township(models.Model):
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="townships", verbose_name=_("县(区)"))
    name = models.CharField(_("乡镇(街道)"), max_length=50)
    code = models.CharField(_("代码"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("乡镇(街道)")
        verbose_name_plural = _("乡镇(街道)")
        ordering = ["county", "code", "name"]
        constraints = [models.UniqueConstraint(fields=["county", "name"], name="township_unique_name")]

    def __str__(self) -> str:
        return self.name


class Village(models.Model):
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="villages", verbose_name=_("乡镇(街道)")
    )
    name = models.CharField(_("村(社区)"), max_length=50)
    code = models.CharField(_("代码"), max_length=15, blank=True)

    class Meta:
        verbose_name = _("村(社区)")
        verbose_name_plural = _("村(社区)")
        ordering = ["township", "code", "name"]
        constraints = [models.UniqueConstraint(fields=["township", "name"], name="village_unique_name")]

    def __str__(self) -> str:
        return f"{self.township.name}{self.name}"


class School(models.Model):
    class Stage(models.TextChoices):
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初中")
        NINE_YEAR = "nine_year", _("九年一贯制")

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="schools", verbose_name=_("县(区)"))
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        related_name="schools",
        null=True,
        blank=True,
        verbose_name=_("所在乡镇"),
    )
    name = models.CharField(_("学校名称"), max_length=80)
    code = models.CharField(_("学校代码"), max_length=20, unique=True)
    stage = models.CharField(_("学段"), max_length=12, choices=Stage.choices, default=Stage.PRIMARY)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    dropout_rate_target = models.DecimalField(
        _("辍学率控制目标(%)"), max_digits=5, decimal_places=2, default=Decimal("0.60")
    )

    class Meta:
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("school-detail", args=[self.pk])


GRADE_NAMES = {
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "七年级",
    8: "八年级",
    9: "九年级",
}


class Grade(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="grades", verbose_name=_("学校"))
    level = models.PositiveSmallIntegerField(_("年级序号"), help_text=_("1–9,对应一至九年级"))
    name = models.CharField(_("年级"), max_length=20)

    class Meta:
        verbose_name = _("年级")
        verbose_name_plural = _("年级")
        ordering = ["school", "level"]
        constraints = [
            models.UniqueConstraint(fields=["school", "level"], name="grade_unique_level"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=9), name="grade_level_1_to_9"),
        ]

    def __str__(self) -> str:
        return f"{self.school.name} {self.name}"


def normalize_classroom_name(name: str) -> str:
    """'七年级(1)班', '七年级(1)班' and '七年级1班' are the same class."""
    return "".join(ch for ch in (name or "") if ch not in "()() \u3000").strip()


class Classroom(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classrooms", verbose_name=_("学校"))
    grade = models.ForeignKey(Grade, on_delete=models.CASCADE, related_name="classrooms", verbose_name=_("年级"))
    number = models.PositiveSmallIntegerField(_("班号"))
    name = models.CharField(_("班级"), max_length=30)

    class Meta:
        verbose_name = _("班级")
        verbose_name_plural = _("班级")
        ordering = ["school", "grade__level", "number"]
        constraints = [models.UniqueConstraint(fields=["grade", "number"], name="classroom_unique_number")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.name:
            self.name = self.default_name(self.grade.name, self.number)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("classroom-detail", args=[self.pk])

    def clean(self) -> None:
        if self.grade_id and self.school_id and self.grade.school_id != self.school_id:
            raise ValidationError({"grade": _("年级不属于该学校")})

    @staticmethod
    def default_name(grade_name: str, number: int) -> str:
        return f"{grade_name}({number})班"
