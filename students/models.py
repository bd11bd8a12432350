"""Org tree, people, posts and the school calendar.

Two lines meet at the student: enrolment (school → classroom) and residence (township →
village). Scoping (``students/scoping.py``) decides who sees which students from these.
"""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin
from simple_history.models import HistoricalRecords

from . import idnumber


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


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


class Student(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("在读")
        SUSPENDED = "suspended", _("休学")
        TRANSFERRED_OUT = "transferred_out", _("转出")
        DROPPED_OUT = "dropped_out", _("辍学")
        GRADUATED = "graduated", _("毕业")
        DECEASED = "deceased", _("死亡")

    student_no = models.CharField(_("全国学籍号"), max_length=32, unique=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True, validators=[idnumber.validate_id_number])
    name = models.CharField(_("姓名"), max_length=50)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=120, blank=True, editable=False)
    name_initials = models.CharField(_("拼音首字母"), max_length=30, blank=True, editable=False)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"))
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="students", null=True, blank=True, verbose_name=_("学校")
    )
    classroom = models.ForeignKey(
        Classroom,
        on_delete=models.PROTECT,
        related_name="students",
        null=True,
        blank=True,
        verbose_name=_("班级"),
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        related_name="residents",
        null=True,
        blank=True,
        verbose_name=_("户籍村(社区)"),
    )
    hukou_address = models.CharField(_("户籍所在地"), max_length=200, blank=True)
    address = models.CharField(_("现住址"), max_length=200, blank=True)
    boarding = models.BooleanField(_("寄宿"), default=False)
    left_behind = models.BooleanField(_("留守儿童"), default=False)
    poverty_registered = models.BooleanField(_("脱贫户/监测户/低保"), default=False)
    single_parent = models.BooleanField(_("单亲"), default=False)
    orphan = models.BooleanField(_("孤儿/事实无人抚养"), default=False)
    disabled = models.BooleanField(_("残疾"), default=False)
    disability_type = models.CharField(_("残疾类别"), max_length=30, blank=True)
    migrant = models.BooleanField(_("随迁子女"), default=False)
    learning_difficulty = models.BooleanField(_("学困"), default=False)
    status = models.CharField(_("学籍状态"), max_length=20, choices=Status.choices, default=Status.ENROLLED)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["name_pinyin", "name_initials", "updated_at"])

    class Meta:
        verbose_name = _("学生")
        verbose_name_plural = _("学生")
        ordering = ["classroom_id", "name_pinyin", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number"], condition=~Q(id_number=""), name="student_unique_id_number"),
        ]
        indexes = [
            models.Index(fields=["school", "status"], name="student_school_status"),
            models.Index(fields=["classroom", "status"], name="student_classroom_status"),
            models.Index(fields=["village", "status"], name="student_village_status"),
            models.Index(fields=["name_initials"], name="student_initials"),
            models.Index(fields=["name_pinyin"], name="student_pinyin"),
            models.Index(fields=["name"], name="student_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.fill_derived()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("student-detail", args=[self.pk])

    def fill_derived(self) -> None:
        """Derived search fields; bulk writers call this because bulk_create skips save()."""
        self.id_number = idnumber.normalize(self.id_number)
        self.name = (self.name or "").strip()
        self.name_pinyin = "".join(lazy_pinyin(self.name, style=Style.NORMAL)).lower()
        self.name_initials = "".join(lazy_pinyin(self.name, style=Style.FIRST_LETTER)).lower()
        if self.classroom_id and not self.school_id:
            self.school_id = self.classroom.school_id

    def clean(self) -> None:
        if self.classroom_id and self.school_id and self.classroom.school_id != self.school_id:
            raise ValidationError({"classroom": _("班级不属于该学校")})
        if self.birth_date and self.birth_date > timezone.localdate():
            raise ValidationError({"birth_date": _("出生日期不能晚于今天")})

    def age_on(self, day: dt.date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def special_groups(self) -> list[str]:
        names = [
            ("left_behind", "留守"),
            ("poverty_registered", "脱贫户/监测户"),
            ("single_parent", "单亲"),
            ("orphan", "孤儿/事实无人抚养"),
            ("disabled", "残疾"),
            ("migrant", "随迁子女"),
            ("learning_difficulty", "学困"),
        ]
        return [label for field, label in names if getattr(self, field)]


class Guardian(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians", verbose_name=_("学生"))
    name = models.CharField(_("监护人姓名"), max_length=50)
    relation = models.CharField(_("与学生关系"), max_length=20)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    employer = models.CharField(_("工作单位"), max_length=100, blank=True)
    works_away = models.BooleanField(_("外出务工"), default=False)

    class Meta:
        verbose_name = _("监护人")
        verbose_name_plural = _("监护人")
        ordering = ["student", "id"]

    def __str__(self) -> str:
        return f"{self.name}({self.relation})"


class SchoolYear(models.Model):
    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="school_years", verbose_name=_("县(区)"))
    name = models.CharField(_("学年"), max_length=20, help_text=_("例如 2026-2027"))
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))

    class Meta:
        verbose_name = _("学年")
        verbose_name_plural = _("学年")
        ordering = ["county", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["county", "name"], name="schoolyear_unique_name"),
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="schoolyear_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.name}学年"


class Term(models.Model):
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="terms", verbose_name=_("学年"))
    name = models.CharField(_("学期"), max_length=20, help_text=_("例如 秋季学期"))
    start_date = models.DateField(_("开学日期"))
    end_date = models.DateField(_("结束日期"))

    class Meta:
        verbose_name = _("学期")
        verbose_name_plural = _("学期")
        ordering = ["school_year", "start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="term_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.school_year.name} {self.name}"


class Closure(models.Model):
    """A county-wide day (or days) without school that the official calendar does not know."""

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="closures", verbose_name=_("县(区)"))
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    reason = models.CharField(_("原因"), max_length=100)

    class Meta:
        verbose_name = _("停课日")
        verbose_name_plural = _("停课日")
        ordering = ["county", "start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="closure_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date}–{self.end_date} {self.reason}"


class PostQuerySet(models.QuerySet):
    def active(self, on: dt.date | None = None) -> "PostQuerySet":
        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on))


class Post(models.Model):
    """A user holding a role over a scope for a period. A user may hold several."""

    class Role(models.TextChoices):
        CLASS_TEACHER = "class_teacher", _("班主任")
        SUBJECT_TEACHER = "subject_teacher", _("科任教师")
        SCHOOL_LEADER = "school_leader", _("值班校领导/教导处")
        PRINCIPAL = "principal", _("校长")
        CADRE = "cadre", _("乡镇/村干部")
        BUREAU = "bureau", _("教育局")

    CLASSROOM_ROLES = (Role.CLASS_TEACHER, Role.SUBJECT_TEACHER)
    SCHOOL_ROLES = (Role.SCHOOL_LEADER, Role.PRINCIPAL)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="posts", verbose_name=_("用户"))
    role = models.CharField(_("岗位"), max_length=20, choices=Role.choices)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="posts", verbose_name=_("县(区)"))
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, related_name="posts", verbose_name=_("乡镇")
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, blank=True, related_name="posts", verbose_name=_("村(社区)")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="posts", verbose_name=_("学校")
    )
    classroom = models.ForeignKey(
        Classroom, on_delete=models.PROTECT, null=True, blank=True, related_name="posts", verbose_name=_("班级")
    )
    start_date = models.DateField(_("任职开始"), default=timezone.localdate)
    end_date = models.DateField(_("任职结束"), null=True, blank=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("岗位任职")
        verbose_name_plural = _("岗位任职")
        ordering = ["user", "role"]
        constraints = [
            models.CheckConstraint(
                name="post_scope_matches_role",
                condition=(
                    Q(role__in=["class_teacher", "subject_teacher"], classroom__isnull=False)
                    | Q(role__in=["school_leader", "principal"], school__isnull=False, classroom__isnull=True)
                    | Q(role="cadre", school__isnull=True, classroom__isnull=True)
                    & (Q(township__isnull=False) | Q(village__isnull=False))
                    | Q(
                        role="bureau",
                        township__isnull=True,
                        village__isnull=True,
                        school__isnull=True,
                        classroom__isnull=True,
                    )
                ),
            ),
            models.CheckConstraint(
                name="post_dates",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
        ]
        indexes = [models.Index(fields=["user", "start_date", "end_date"], name="post_user_dates")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope_label}"

    def save(self, *args, **kwargs):
        self.fill_parents()
        super().save(*args, **kwargs)

    def fill_parents(self) -> None:
        """A classroom post implies its school; a village implies its township; all imply the county."""
        if self.classroom_id and not self.school_id:
            self.school_id = self.classroom.school_id
        if self.village_id and not self.township_id:
            self.township_id = self.village.township_id
        if not self.county_id:
            if self.school_id:
                self.county_id = self.school.county_id
            elif self.township_id:
                self.county_id = self.township.county_id

    def clean(self) -> None:
        if self.role in self.CLASSROOM_ROLES and not self.classroom_id:
            raise ValidationError({"classroom": _("班主任/科任教师岗位须指定班级")})
        if self.role in self.SCHOOL_ROLES and not self.school_id:
            raise ValidationError({"school": _("校领导岗位须指定学校")})
        if self.role == self.Role.CADRE and not (self.township_id or self.village_id):
            raise ValidationError({"township": _("乡镇/村干部岗位须指定乡镇或村")})

    @property
    def scope_label(self) -> str:
        for obj in (self.classroom, self.school, self.village, self.township, self.county):
            if obj is not None:
                return str(obj)
        return ""
