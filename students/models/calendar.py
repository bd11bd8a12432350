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
