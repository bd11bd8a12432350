"""The calendar of record page (法定节假日与调休): everyone signed in reads it, the bureau edits it."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from . import official_calendar
from .calendar import package_knows
from .errors import DomainError, InvalidInput, page_message
from .models import OfficialDay, OfficialYear


@login_required
def official_calendar_page(request):
    may_edit = official_calendar.may_edit(request.user)
    if request.method == "POST":
        if not may_edit:
            raise Http404
        try:
            _act(request)
        except DomainError as exc:
            messages.error(request, page_message(exc))
        return redirect("official-calendar")
    this_year = timezone.localdate().year
    years = sorted({*range(this_year - 1, this_year + 2), *OfficialYear.objects.values_list("year", flat=True)})
    complete = {row.year: row for row in OfficialYear.objects.select_related("entered_by")}
    days = list(OfficialDay.objects.select_related("entered_by"))
    rows = [
        {
            "year": year,
            "record": complete.get(year),
            "package": package_knows(year),
            "days": [day for day in days if day.date.year == year],
        }
        for year in years
    ]
    return render(
        request,
        "students/official_calendar.html",
        {"rows": rows, "may_edit": may_edit, "next_year": this_year + 1},
    )


def _act(request) -> None:
    user, action = request.user, request.POST.get("action")
    if action == "enter":
        year_text = request.POST.get("complete_year", "").strip()
        complete_year = int(year_text) if year_text.isascii() and year_text.isdigit() else None
        if year_text and complete_year is None:
            raise InvalidInput("年份无效")
        count = official_calendar.enter_days(
            user=user,
            text=request.POST.get("days", ""),
            complete_year=complete_year,
            source=request.POST.get("source", ""),
        )
        messages.success(
            request, f"已录入 {count} 天" + (f",{complete_year} 年已标记为全部录入" if complete_year else "")
        )
    elif action == "remove":
        try:
            day = dt.date.fromisoformat(request.POST.get("date", ""))
        except ValueError as exc:
            raise InvalidInput("日期无效") from exc
        official_calendar.remove_day(user=user, day=day)
        messages.success(request, f"已删除 {day:%Y-%m-%d}")
    elif action == "reopen":
        year_text = request.POST.get("year", "")
        if not (year_text.isascii() and year_text.isdigit()):
            raise InvalidInput("年份无效")
        official_calendar.reopen_year(user=user, year=int(year_text))
        messages.success(request, f"{year_text} 年已改为未全部录入")
    else:
        raise InvalidInput("未知操作")
