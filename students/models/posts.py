"""Posts: a user holding a role over a scope for a period (what scoping reads)."""

import datetime as dt
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .org import Classroom, County, School, Township, Village
from .people import User


class PostQuerySet(models.QuerySet):
    def active(self, on: dt.date | None = None) -> "PostQuerySet":
        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on))

    def class_teachers(self, on: dt.date | None = None) -> "PostQuerySet":
        """Class-teacher (班主任) posts held on ``on`` (default today); narrow them with classroom lookups."""
        return self.active(on).filter(role=Post.Role.CLASS_TEACHER)

    def names_by_classroom(self) -> defaultdict[int, list[str]]:
        """{classroom id: holders' names (display name, else username), longest-serving first}, in one query."""
        names: defaultdict[int, list[str]] = defaultdict(list)
        rows = self.order_by("classroom_id", "start_date", "pk").values_list(
            "classroom_id", "user__display_name", "user__username"
        )
        for classroom_id, display_name, username in rows:
            names[classroom_id].append(display_name or username)
        return names


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
        if self.classroom_id and not self.school_id and self.classroom is not None:
            self.school_id = self.classroom.school_id
        if self.village_id and not self.township_id and self.village is not None:
            self.township_id = self.village.township_id
        if not self.county_id:
            if self.school_id and self.school is not None:
                self.county_id = self.school.county_id
            elif self.township_id and self.township is not None:
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
