"""People: users, students (with their change history) and guardians."""

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pypinyin import Style, lazy_pinyin
from simple_history.models import HistoricalRecords

from .. import idnumber
from .org import Classroom, School, Village


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


# Surnames read differently from the same character in ordinary words (曾 zēng, not céng).
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "曾": ("zeng",),
    "单": ("shan",),
    "解": ("xie",),
    "仇": ("qiu",),
    "朴": ("piao",),
    "查": ("zha",),
    "区": ("ou",),
    "乐": ("yue",),
    "盖": ("ge",),
    "种": ("chong",),
    "覃": ("qin",),
    "缪": ("miao",),
    "翟": ("zhai",),
    "召": ("shao",),
    "员": ("yun",),
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "单于": ("chan", "yu"),
}


def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a personal name, lower case, for search ("张伟" → "zhangwei", "zw")."""
    name = (name or "").strip()
    syllables: list[str] = []
    rest = name
    for surname in sorted(SURNAME_READINGS, key=len, reverse=True):
        if name.startswith(surname) and len(name) > len(surname):
            syllables = list(SURNAME_READINGS[surname])
            rest = name[len(surname) :]
            break
    syllables += [s.lower() for s in lazy_pinyin(rest, style=Style.NORMAL)]
    return "".join(syllables), "".join(s[0] for s in syllables if s)


# Special groups (特殊群体): the Student flag and its label, in the order of the ledgers (DESIGN.md §6).
# Labels stay untranslated strings (they go into Chinese ledgers); pages translate them with
# {% translate %}, and gettext_noop marks them for makemessages.
SPECIAL_GROUPS: tuple[tuple[str, str], ...] = (
    ("poverty_registered", gettext_noop("脱贫户/监测户")),
    ("orphan", gettext_noop("孤儿/事实无人抚养")),
    ("disabled", gettext_noop("残疾")),
    ("left_behind", gettext_noop("留守")),
    ("single_parent", gettext_noop("单亲")),
    ("migrant", gettext_noop("随迁子女")),
    ("learning_difficulty", gettext_noop("学困")),
)


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
        # A school-age child found by screening (排查) who never enrolled: on a school's books only
        # for the 失学 case it answers for; not on any roll until they return (record_return).
        NOT_ENROLLED = "not_enrolled", _("未入学")

    # Blank only for a child who never enrolled (found by screening): unique whenever it is given.
    student_no = models.CharField(_("全国学籍号"), max_length=32, blank=True)
    id_number = models.CharField(
        _("身份证号"),
        max_length=18,
        blank=True,
        validators=[idnumber.validate_id_number],  # type: ignore[list-item]  # Django discards what it returns
    )
    name = models.CharField(_("姓名"), max_length=50)
    # Derived from the name (≤ 50 characters): at most 6 letters per character ("zhuang"), one initial each.
    name_pinyin = models.CharField(_("姓名拼音"), max_length=300, blank=True, editable=False)
    name_initials = models.CharField(_("拼音首字母"), max_length=50, blank=True, editable=False)
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
            models.UniqueConstraint(
                fields=["student_no"], condition=~Q(student_no=""), name="student_unique_student_no"
            ),
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
        self.name_pinyin, self.name_initials = name_pinyin(self.name)
        if self.classroom_id and not self.school_id and self.classroom is not None:
            self.school_id = self.classroom.school_id

    def clean(self) -> None:
        if (
            self.classroom_id
            and self.school_id
            and self.classroom is not None
            and self.classroom.school_id != self.school_id
        ):
            raise ValidationError({"classroom": _("班级不属于该学校")})
        if self.birth_date and self.birth_date > timezone.localdate():
            raise ValidationError({"birth_date": _("出生日期不能晚于今天")})

    def age_on(self, day: dt.date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def special_groups(self) -> list[str]:
        """The student's special groups as (untranslated) labels, in the ledgers' order."""
        return [label for field, label in SPECIAL_GROUPS if getattr(self, field)]


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
