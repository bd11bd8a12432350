"""The sign-off page: the bureau's board of one week, the principal's weeks with a sign button.

Thin: parse, call :mod:`.selectors` / :mod:`.services`, render. A row outside the user's scope is
a 404; a refused step becomes a page message. Users who neither run a school nor work at the
bureau have no sign-offs: the page does not exist for them (404).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from students import scoping
from students.errors import DomainError, page_message

from . import selectors, services, weeks


def _page(week: str = "") -> str:
    url = reverse("accountability:signoffs")
    return f"{url}?{urlencode({'week': week[:10]})}" if week else url


@login_required
@require_GET
def signoffs(request):
    user = request.user
    scope = scoping.scope_for(user)
    if not (scope.county_level or scope.leads_a_school):
        raise Http404("没有周报签发事项")
    today = timezone.localdate()
    default_week = weeks.last_finished_week(today)
    asked = request.GET.get("week", "").strip()
    week = asked or default_week
    try:
        week, monday = weeks.parse_week(week)
    except DomainError as exc:
        messages.error(request, exc.message)
        week, monday = weeks.parse_week(default_week)
    board = selectors.week_board(user, week, today=today) if scope.county_level else None
    previous_week = weeks.week_of(monday - weeks.ONE_WEEK)
    following = monday + weeks.ONE_WEEK
    return render(
        request,
        "accountability/signoffs/signoffs.html",
        {
            "board": board,
            "week": week,
            "week_start": monday,
            "week_end": weeks.sunday_of(monday),
            "previous_week": previous_week,
            "next_week": weeks.week_of(following) if weeks.is_over(following, today) else "",
            "school_weeks": selectors.school_weeks(user, today=today) if scope.leads_a_school else [],
            "signable_schools": list(scoping.led_schools(user).order_by("code").values_list("pk", "name")),
            "default_week": default_week,
            "bureau": scope.county_level,
        },
    )


def _done(request, action, success: str, back: str):
    try:
        row = action()
    except DomainError as exc:
        messages.error(request, page_message(exc))  # out of scope: 404
        return redirect(back)
    messages.success(request, success.format(row=row))
    return redirect(_page(row.week))


@login_required
@require_POST
def signoff_sign(request):
    if not scoping.scope_for(request.user).leads_a_school:
        raise Http404("没有可签发的学校")
    data = request.POST
    week, school_id = data.get("week", "").strip(), _id(data.get("school"))
    if school_id is None:
        messages.error(request, "请选择学校")
        return redirect(_page(week))
    return _done(
        request,
        lambda: services.sign_week(
            user=request.user, school_id=school_id, week=week, note=data.get("note", "").strip()
        ),
        "已签发 {row.school.name} {row.week} 周报",
        _page(),
    )


@login_required
@require_POST
def signoff_receive(request, pk):
    return _done(
        request,
        lambda: services.receive_week(user=request.user, signoff_id=pk),
        "已签收 {row.school.name} {row.week} 周报",
        _page(request.POST.get("week", "").strip()),
    )


@login_required
@require_POST
def signoff_return(request, pk):
    return _done(
        request,
        lambda: services.return_week(user=request.user, signoff_id=pk, comment=request.POST.get("comment", "")),
        "已退回 {row.school.name} {row.week} 周报",
        _page(request.POST.get("week", "").strip()),
    )


def _id(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
