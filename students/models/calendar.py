"""School years, terms and county closures (the school calendar's data; rules in students/calendar.py)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .org import County


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


class OfficialDay(models.Model):
    """The official calendar of record: a day the State Council's notice makes a holiday (休) or a
    make-up workday (调休上班). It overrides the ``chinesecalendar`` package, which knows only the
    years published before its release (students/calendar.py)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日(休)")
        WORKDAY = "workday", _("调休上班日(班)")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("节日/说明"), max_length=40, blank=True, help_text=_("例如 春节、国庆节调休"))
    entered_by = models.ForeignKey(
        "students.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("录入人")
    )
    entered_at = models.DateTimeField(_("录入时间"), auto_now=True)

    class Meta:
        verbose_name = _("法定节假日/调休日")
        verbose_name_plural = _("法定节假日/调休日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class OfficialYear(models.Model):
    """A year whose official holidays and make-up workdays are all entered (from the notice named in
    ``source``): every other day of it follows the week (Monday–Friday work, weekends off)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(
        _("依据"), max_length=200, blank=True, help_text=_("例如 国务院办公厅关于2027年部分节假日安排的通知")
    )
    entered_by = models.ForeignKey(
        "students.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("录入人")
    )
    entered_at = models.DateTimeField(_("录入时间"), auto_now=True)

    class Meta:
        verbose_name = _("已录入年度")
        verbose_name_plural = _("已录入年度")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)
