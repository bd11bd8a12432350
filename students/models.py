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
        self.name_pinyin, self.name_initials = name_pinyin(self.name)
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


class Notification(models.Model):
    """An in-app reminder for one user ("my tasks"). ``key`` makes raising it idempotent."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("用户"))
    key = models.CharField(_("去重键"), max_length=120)
    kind = models.CharField(_("类别"), max_length=30)
    text = models.CharField(_("内容"), max_length=300)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_unique_key")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text


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
