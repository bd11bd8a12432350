"""Pages: the ledgers (counts in scope, downloads, county-wide generation) and the download log. Thin."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from students import scoping
from students.errors import DomainError, OutOfScope, int_or_none, not_found_as_404

from . import selectors, services
from .api_ledgers import DownloadLogFilter
from .ledgers import LEDGER_KINDS, LEDGERS, context_for_user, direct_max_rows, row_counts
from .models import ReportRun

PAGE_SIZE = 50
DESCRIPTIONS = {
    "dropouts": gettext_lazy("已认定辍学、尚未销号的学生,一人一行;本学年已销号的在“已销号”工作表。"),
    "suspected": gettext_lazy("待核实的疑似辍学学生,以及本学年已核实的(含核实结论、转入辍学台账日期)。"),
    "returns": gettext_lazy("乡镇签字用:辍学、已返校、未返校人数与三份名单,附签字栏。"),
    "screening": gettext_lazy(
        "最近一次户籍比对的适龄儿童,按户排列、一人一行(就学状态、比对结果、摸排情况),附乡镇汇总。"
    ),
}


@login_required
def ledgers(request):
    user = request.user
    scope = scoping.scope_for(user)
    school = int_or_none(request.GET.get("school"))
    with not_found_as_404():
        ctx = context_for_user(user, school=school)
    schools = (
        list(scoping.schools_visible_to(user).order_by("code").values_list("pk", "name")) if scope.county_level else []
    )
    counts = row_counts(ctx)
    limit = direct_max_rows()
    query = f"?{urlencode({'school': school})}" if school else ""
    cards = []
    for slug, ledger in LEDGERS.items():
        try:
            rows, missing = (ledger.count(ctx) if ledger.count else counts[slug]), ""
        except OutOfScope as exc:  # nothing to export yet (适龄儿童少年台账 before any register is imported)
            rows, missing = None, exc.message
        cards.append(
            {
                "slug": slug,
                "kind": ledger.kind,
                "title": ledger.title,
                "description": DESCRIPTIONS[slug],
                "rows": rows,
                "missing": missing,
                "href": reverse("api-ledger-download", args=[slug]) + query,
                # A county-wide export too big to make in the request is generated in the background.
                "direct": rows is not None and not (scope.is_bureau and not school and rows >= limit),
            }
        )
    recent = []
    if scope.is_bureau:
        recent = list(
            selectors.runs_visible_to(user)
            .filter(kind__in=LEDGER_KINDS, scope_type=ReportRun.ScopeType.COUNTY)
            .order_by("-created_at", "-id")[:8]
        )
        for run in recent:
            run.page_url = run.get_absolute_url()
            run.download_url = reverse("report-file", args=[run.pk])  # the reports pages log the download
    return render(
        request,
        "reporting/ledgers.html",
        {
            "ctx": ctx,
            "cards": cards,
            "counts": counts,
            "schools": schools,
            "school": school,
            "can_generate": scope.is_bureau,
            "limit": limit,
            "recent_runs": recent,
            "full_ids": ctx.full_ids,
        },
    )


@login_required
@require_POST
def generate(request):
    """生成全县台账: a background run for the bureau's county; the run page shows progress and the file."""
    ledger = LEDGERS.get(request.POST.get("ledger", ""))
    if ledger is None:
        raise Http404
    try:
        with not_found_as_404():
            run, created = services.request_county_ledger(request.user, ledger.kind)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("ledgers")
    if created:
        messages.success(request, _("已开始生成%(title)s,完成后可在本页下载。") % {"title": ledger.title})
    else:
        messages.info(request, _("%(title)s正在生成中。") % {"title": ledger.title})
    return redirect(run.get_absolute_url())


@login_required
def download_log(request):
    """下载记录: the bureau sees its county's downloads, everyone else their own."""
    user = request.user
    if scoping.scope_for(user).is_empty:
        raise Http404
    visible = selectors.downloads_visible_to(user)
    filtered = DownloadLogFilter(request.GET, queryset=visible.order_by("-at", "-id"))
    page = Paginator(filtered.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    people = (
        visible.order_by("user__username").values_list("user_id", "user__display_name", "user__username").distinct()
    )
    kinds = dict(ReportRun.Kind.choices)
    whats = [
        (code, kinds.get(code, code)) for code in visible.order_by("what").values_list("what", flat=True).distinct()
    ]
    return render(
        request,
        "reporting/download_log.html",
        {
            "page": page,
            "form": filtered.form,
            "people": [(pk, display or username) for pk, display, username in people],
            "whats": whats,
            "kinds": kinds,
            "filters": {key: request.GET.get(key, "") for key in ("user", "what", "date_from", "date_to")},
            "any_filter": any(request.GET.get(key) for key in ("user", "what", "date", "date_from", "date_to")),
        },
    )
