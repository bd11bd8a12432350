"""Dashboard pages: the principal's school dashboard and the bureau's county dashboard.

Thin: parse ``?school=`` / ``?county=`` / ``?township=``, ask :mod:`reporting.selectors`, and
attach to every number the address of the list behind it (cases by school and status, overdue
cases, flags by level, the duty view, the report). Chart data goes to the page with
``json_script`` and is drawn by ``static/js/dashboards.js`` (ECharts, vendored).
"""

import re
import time
from html import escape
from urllib.parse import quote_plus

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from accountability.findings import selectors as finding_selectors
from accountability.matrix import selectors as matrix_selectors
from accountability.models import Finding, LeadingGroup, Responsibility, WeeklySignoff
from accountability.signoffs import selectors as signoff_selectors
from accountability.signoffs import weeks
from casework.models import DropoutCase
from casework.screening import selectors as screening
from casework.services import DUE_LABELS
from students.calendar import unknown_years
from students.errors import not_found_as_404
from students.models import RiskFlag

from . import metrics, selectors
from .models import ReportRun

CASE_COLUMNS = tuple(metrics.CASE_LABELS)  # suspected, confirmed, returning, returned, closed
LEVEL_COLOURS = {"red": "#dc3545", "orange": "#fd7e14", "yellow": "#ffc107"}
CASE_COLOURS = {
    "suspected": "#ffc107",
    "confirmed": "#dc3545",
    "returning": "#0d6efd",
    "returned": "#0dcaf0",
    "closed": "#198754",
}
OWNERS_CHARTED = 12


def link(name: str, *args, **params) -> str:
    """``reverse(name)`` with the non-empty ``params`` as the query string."""
    url = reverse(name, args=args or None)
    query = {key: value for key, value in params.items() if value not in (None, "", False)}
    return f"{url}?{urlencode(query)}" if query else url


PLAIN = re.compile(r"[\w.-]*", re.ASCII)


def _quoted(value) -> str:
    """A query-string value: ids, codes and dates as they are (the common case, and fast), anything else quoted."""
    text = str(value)
    return text if PLAIN.fullmatch(text) else quote_plus(text)


class Urls:
    """Addresses of the lists behind the numbers, reversed once per request (a county has hundreds of schools)."""

    NAMES = ("case-list", "attendance-duty", "ledgers", "dashboard-school", "risk-flags")

    def __init__(self):
        self.base = {name: reverse(name) for name in self.NAMES}
        self.school_detail = reverse("school-detail", args=[0]).rsplit("0/", 1)[0]

    def __call__(self, name: str, **params) -> str:
        query = "&".join(f"{key}={_quoted(value)}" for key, value in params.items() if value not in (None, "", False))
        return f"{self.base[name]}?{query}" if query else self.base[name]

    def school(self, school_id: int) -> str:
        return f"{self.school_detail}{school_id}/"


def case_links(urls: Urls, school_id=None) -> dict[str, str]:
    """The case list behind each column of "cases by status" (劝返中 = returning; 联合劝返 has its own link)."""
    links = {column: urls("case-list", school=school_id, status=column) for column in CASE_COLUMNS}
    links["escalated"] = urls("case-list", school=school_id, status=DropoutCase.Status.ESCALATED.value)
    links["overdue"] = urls("case-list", school=school_id, overdue=1)
    links["all"] = urls("case-list", school=school_id)
    return links


def _point(value, url: str) -> dict:
    return {"value": value, "url": url}


def _report_rows(reports: list[dict], scope_type: str, scope_id: int, kind: str) -> list[dict]:
    rows = []
    for row in reports:
        start, end = row["bounds"]
        run = row["run"]
        rows.append(
            {
                **row,
                "start": start,
                "end": end,
                "url": reverse("report-detail", args=[run.pk]) if run else "",
                "signed": run is not None and hasattr(run, "signature"),
                # The report form's fields: the scope travels as "type:id".
                "generate": {"kind": kind, "period": row["period"], "scope": f"{scope_type}:{scope_id}"},
            }
        )
    return rows


def _flag_rows(urls: Urls, flags: dict[str, int], school_id=None) -> list[dict]:
    return [
        {
            "level": level,
            "label": str(label),
            "count": flags.get(level, 0),
            "url": urls("risk-flags", level=level, school=school_id),
        }
        for level, label in reversed(RiskFlag.Level.choices)  # red first
    ]


def _case_rows(unit: metrics.Unit, links: dict, escalated: int) -> list[dict]:
    return [
        {
            "key": column,
            "label": label,
            "count": unit.cases.get(column, 0),
            "url": links[column],
            "escalated": escalated if column == "returning" else None,
        }
        for column, label in metrics.CASE_LABELS.items()
    ]


def _dropout_chart(units: list[dict], url_of) -> dict:
    """Units as ``to_dict()`` rows."""
    targets = [unit["target"] for unit in units]
    common = targets[0] if targets and all(target == targets[0] for target in targets) else None
    return {
        "labels": [unit["name"] for unit in units],
        "rates": [_point(unit["dropout_rate"] or 0, url_of(unit)) for unit in units],
        "met": [unit["target_met"] for unit in units],
        "targets": targets,
        "target": common,
        "names": {"rate": _("辍学率"), "target": _("控制目标")},
    }


# --- the school dashboard ------------------------------------------------------------------------


@login_required
def school_dashboard(request):
    with not_found_as_404():
        board = selectors.school_dashboard(request.user, request.GET.get("school"))
    school_id = board.school.pk
    for case in board.overdue_cases:
        case.due_label = DUE_LABELS.get(case.due_kind, case.due_kind)
    urls = Urls()
    links = case_links(urls, school_id)
    duty = urls("attendance-duty", school=school_id)
    ledger = urls("ledgers", school=school_id)
    cases = _case_rows(board.unit, links, board.escalated)
    flags = _flag_rows(urls, board.flags, school_id)
    day_links = [urls("attendance-duty", school=school_id, date=day.date.isoformat()) for day in board.trend]
    charts = {
        "trend": {
            "labels": [day.label for day in board.trend],
            "series": [
                {
                    "name": _("出勤率"),
                    "data": [_point(day.rate, url) for day, url in zip(board.trend, day_links, strict=True)],
                },
                {
                    "name": _("报告完成率"),
                    "data": [
                        _point(metrics.pct(day.reports, board.unit.classes, cap=True), url)
                        for day, url in zip(board.trend, day_links, strict=True)
                    ],
                },
            ],
        },
        "flags": {
            "items": [
                {"name": row["label"], "value": row["count"], "url": row["url"], "color": LEVEL_COLOURS[row["level"]]}
                for row in flags
            ]
        },
        "cases": {
            "labels": [row["label"] for row in cases],
            "values": [
                {"value": row["count"], "url": row["url"], "itemStyle": {"color": CASE_COLOURS[row["key"]]}}
                for row in cases
            ],
        },
        "dropout": _dropout_chart([board.unit.to_dict()], lambda _unit: ledger),
    }
    return render(
        request,
        "reporting/dashboard_school.html",
        {
            "board": board,
            "unit": board.unit,
            "cases": cases,
            "flags": flags,
            "links": {
                **links,
                "duty": duty,
                "ledger": ledger,
                "school": urls.school(school_id),
                "flags": urls("risk-flags", school=school_id),
            },
            "reports": _report_rows(board.reports, ReportRun.ScopeType.SCHOOL, school_id, ReportRun.Kind.SCHOOL_WEEKLY),
            "accountability": accountability_strip(request.user, school_id),
            "charts": charts,
            "formulas": metrics.FORMULAS,
        },
    )


# --- the county dashboard ------------------------------------------------------------------------


def _township_param(value) -> int | str | None:
    if value == "none":
        return "none"
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _td(text, url: str, key: str, *, strong: bool = False, extra: str = "") -> str:
    cls = ' class="text-danger fw-semibold"' if strong else ""
    return f'<td class="text-end"><a href="{escape(url)}" data-link="{key}"{cls}>{escape(str(text))}</a>{extra}</td>'


def _pct(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def met_badges() -> dict:
    return {
        True: f'<span class="badge text-bg-success">{escape(_("达标"))}</span>',
        False: f'<span class="badge text-bg-danger">{escape(_("未达标"))}</span>',
        None: "—",
    }


def school_row(unit: dict, escalated: int, urls: Urls, badges: dict) -> str:
    """One row of the county's school table (a Unit's ``to_dict()``) as HTML: every number a link to
    the list behind it.

    Built here rather than in the template: the county has ~150 schools × 13 linked cells, which
    the template engine renders ~20 times slower.
    """
    s = unit["key"]
    duty = urls("attendance-duty", school=s)
    met = unit["target_met"]
    cases = unit["cases"]
    cells = [
        f'<td class="nowrap"><a href="{escape(urls("dashboard-school", school=s))}" data-link="dashboard">'
        f"{escape(unit['name'])}</a></td>",
        _td(unit["enrolled"], urls.school(s), "enrolled"),
        _td(_pct(unit["attendance_rate"]), duty, "attendance_rate"),
        _td(_pct(unit["completeness"]), duty, "completeness"),
    ]
    for column in CASE_COLUMNS:
        extra = ""
        if column == "returning" and escalated:
            url = escape(urls("case-list", school=s, status=DropoutCase.Status.ESCALATED.value))
            title = escape(_("其中联合劝返"))
            extra = f'<a class="text-body-secondary" href="{url}" data-link="escalated" title="{title}">'
            extra += f"({escalated})</a>"
        cells.append(_td(cases.get(column, 0), urls("case-list", school=s, status=column), column, extra=extra))
    cells += [
        _td(unit["overdue"], urls("case-list", school=s, overdue=1), "overdue", strong=bool(unit["overdue"])),
        _td(_pct(unit["dropout_rate"]), urls("ledgers", school=s), "dropout_rate"),
        f'<td class="text-end">{_pct(unit["target"])}</td>',
        f"<td>{badges[met]}</td>",
    ]
    row_class = ' class="table-danger"' if met is False else ""
    return mark_safe(f'<tr data-school="{s}"{row_class}>{"".join(cells)}</tr>')  # every value is escaped above


@login_required
def county_dashboard(request):
    with not_found_as_404():
        board = selectors.county_dashboard(request.user, request.GET.get("county"))
    county_param = request.GET.get("county") if len(board.counties) > 1 else None
    township = _township_param(request.GET.get("township"))
    urls = Urls()
    badges = met_badges()

    def here(**params) -> str:
        return link("dashboard-county", county=county_param, **params)

    rows = []
    for unit in board.rows:
        township_id = board.township_of.get(unit["key"])
        if township == "none" and township_id is not None:
            continue
        if isinstance(township, int) and township_id != township:
            continue
        rows.append(school_row(unit, board.escalated.get(unit["key"], 0), urls, badges))
    townships = [
        {"township": t, "url": here(township=t.unit.key if t.unit.key is not None else "none") + "#schools"}
        for t in board.townships
    ]
    total_links = case_links(urls)
    cases = _case_rows(board.total, total_links, board.escalated_total)
    owners = [{**owner, "url": urls("case-list", overdue=1, owner=owner["id"])} for owner in board.owners]
    worst = board.worst_completeness
    charts = {
        "dropout": _dropout_chart(board.rows, lambda unit: urls("ledgers", school=unit["key"])),
        "completeness": {
            "labels": [unit["name"] for unit in worst],
            "values": [_point(unit["completeness"], urls("attendance-duty", school=unit["key"])) for unit in worst],
        },
        "owners": {
            "labels": [owner["name"] for owner in owners[:OWNERS_CHARTED]],
            "values": [_point(owner["count"], owner["url"]) for owner in owners[:OWNERS_CHARTED]],
        },
        "cases": {
            "labels": [row["label"] for row in cases],
            "values": [
                {"value": row["count"], "url": row["url"], "itemStyle": {"color": CASE_COLOURS[row["key"]]}}
                for row in cases
            ],
        },
    }
    met, judged = board.schools_met
    township_name = ""
    for t in board.townships:
        if t.unit.key == township or (township == "none" and t.unit.key is None):
            township_name = t.unit.name
    return render(
        request,
        "reporting/dashboard_county.html",
        {
            "board": board,
            # Years of the county's terms whose holidays nobody knows: the bureau is asked to enter them.
            "unknown_calendar_years": unknown_years(board.county.pk, today=board.week.today),
            "accountability": accountability_strip(request.user),
            "screening": screening_card(request.user, board.county.pk),
            "total": board.total,
            "rows": rows,
            "townships": townships,
            "township": township,
            "township_name": township_name,
            "all_schools_url": here() + "#schools",
            "cases": cases,
            "owners": owners,
            "links": {**total_links, "ledger": urls("ledgers"), "schools": reverse("school-list")},
            "met": met,
            "judged": judged,
            "reports": _report_rows(
                board.reports, ReportRun.ScopeType.COUNTY, board.county.pk, ReportRun.Kind.COUNTY_WEEKLY
            ),
            "charts": charts,
            "formulas": metrics.FORMULAS,
        },
    )


def screening_card(user, county_id: int) -> dict | None:
    """排查比对进度: the county's latest finished run, per township, counted as the run's own page counts."""
    run = screening.runs_visible_to(user).filter(county_id=county_id, status=screening.Status.DONE).first()
    if run is None:
        return None
    towns = screening.progress(user, run)
    for town in towns:
        town.url = link("screening:run", run.pk, township=town.pk, unresolved=1)
    return {
        "run": run,
        "towns": towns,
        "counts": screening.outcome_counts(screening.children_visible_to(user).filter(run=run)),
        "url": link("screening:run", run.pk, unresolved=1),
    }


# --- accountability on both dashboards -----------------------------------------------------------


STRIP_SECONDS = 60
_STRIP_GENERATION = "dashboard-strip-generation"


def accountability_strip(user, school_id: int | None = None) -> dict:
    """The strip, kept a minute per user and school (its own cache: the dashboards' numbers are cached
    per school; these counts are per reader). Dropped at once when a finding, a 包保 row, a leading
    group, a sign-off, a flag or a case is saved; counts written in bulk (the nightly rules) show
    within the minute."""
    generation = cache.get(_STRIP_GENERATION, 0)
    key = f"dashboard-strip:{user.pk}:{school_id}:{generation}:{timezone.localdate()}"
    strip = cache.get(key)
    if strip is None:
        strip = _strip(user, school_id)
        cache.set(key, strip, STRIP_SECONDS)
    return strip


def _forget_strips(sender, **kwargs) -> None:
    cache.set(_STRIP_GENERATION, time.time_ns(), None)


for _model in (Finding, Responsibility, LeadingGroup, WeeklySignoff, RiskFlag, DropoutCase):
    post_save.connect(_forget_strips, sender=_model, dispatch_uid=f"dashboard_strip_{_model.__name__}_save")
    post_delete.connect(_forget_strips, sender=_model, dispatch_uid=f"dashboard_strip_{_model.__name__}_delete")


def _strip(user, school_id: int | None) -> dict:
    """Gaps in the 包保 matrix, findings awaiting rectification, and last week's sign-offs, with links."""
    gaps = matrix_selectors.gap_count(user, school=school_id)
    counts = finding_selectors.finding_counts(user, school_id)
    week = weeks.last_finished_week(timezone.localdate())
    board = signoff_selectors.week_board(user, week)
    rows = [row for row in board.rows if school_id is None or row.school.pk == school_id]
    return {
        "gaps": gaps,
        "gaps_url": link("accountability:matrix", school=school_id),
        "findings_open": counts["open"],
        "findings_overdue": counts["overdue"],
        "findings_url": link("accountability:findings", school=school_id),
        "week": week,
        "signed": sum(1 for row in rows if row.status in ("signed", "received")),
        "schools": len(rows),
        "late": sum(1 for row in rows if row.late or row.overdue),
        "signoffs_url": link("accountability:signoffs", week=week),
        "compliance_url": link("compliance", school=school_id),
    }
