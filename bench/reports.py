"""The county weekly report against the bare SQL aggregates it needs and a bare openpyxl loop."""

import datetime as dt
import io
import time

from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from reporting import metrics, reports
from reporting.models import ReportRun
from reporting.periods import period_bounds, previous_iso_week
from reporting.xlsx import PCT, PCT_FORMAT
from students.models import Classroom, County

from .core import BenchContext, BenchResult, clock, full_size_target, seed_day


def time_county_weekly(county_id: int, period: str, *, repeat: int = 3) -> dict[str, float]:
    """Seconds (best of ``repeat``) for the county weekly report and what it is measured against.

    - ``numbers``: the report's numbers, as the page and the API serve them;
    - ``report``: the whole builder, numbers and the .xlsx (no storage);
    - ``bare_sql``: the SQL of every query the numbers need, run straight through the cursor and
      fetched;
    - ``bare_xlsx``: a bare openpyxl write-only loop writing the report's cell values (one row per
      school and the total, percentages formatted as percentages), with nothing else.
    """
    county = County.objects.get(pk=county_id)
    run = ReportRun(
        kind=ReportRun.Kind.COUNTY_WEEKLY,
        period=period,
        scope_type=ReportRun.ScopeType.COUNTY,
        scope_id=county.pk,
        scope_name=county.name,
    )
    start, end = period_bounds(period)
    classrooms = Classroom.objects.filter(school__county_id=county.pk)
    statements = [
        qs.query.sql_with_params() for qs in metrics.bare_querysets(classrooms, start, end, timezone.localdate())
    ]
    data, _numbers = reports.county_numbers(run, lambda _pct: None)
    values = [reports.school_row(index, unit) for index, unit in enumerate(data["schools"], start=1)]
    values.append(reports.school_row(None, {**data["total"], "code": ""}))
    pct_columns = [index for index, (_header, kind) in enumerate(reports.SCHOOL_COLUMNS) if kind == PCT]

    # A weekly report is computed once: its statements are compiled afresh each time, as in production.
    def numbers() -> None:
        metrics.forget_statements()
        reports.county_numbers(run, lambda _pct: None)

    def report() -> None:
        metrics.forget_statements()
        reports.build_county(run, lambda _pct: None)

    def bare_sql() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    def bare_xlsx() -> None:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("sheet")
        ws.append([header for header, _kind in reports.SCHOOL_COLUMNS])
        for row in values:
            row = list(row)
            for index in pct_columns:
                if row[index] is not None:
                    cell = WriteOnlyCell(ws, value=row[index] / 100)
                    cell.number_format = PCT_FORMAT
                    row[index] = cell
            ws.append(row)
        wb.save(io.BytesIO())

    timings: dict[str, list[float]] = {"numbers": [], "report": [], "bare_sql": [], "bare_xlsx": []}
    # Alternated, best of each: a busy machine slows all alike.
    for _ in range(repeat):
        for name, func in (("numbers", numbers), ("report", report), ("bare_sql", bare_sql), ("bare_xlsx", bare_xlsx)):
            began = time.perf_counter()
            func()
            timings[name].append(time.perf_counter() - began)
    return {name: min(times) for name, times in timings.items()}


def bench_reports(ctx: BenchContext) -> list[BenchResult]:
    """County weekly report against the bare SQL aggregates it needs: ≤ 1.5×.

    The target is on the report's numbers (what its page and API resource serve), which is what
    the aggregates produce. The report's .xlsx is reported beside it: it adds the cost of openpyxl
    writing ~5,000 cells, which is compared with a bare openpyxl loop writing the same values.
    """
    day = seed_day(ctx)
    with clock(day), override_settings(DEBUG=False):
        period = previous_iso_week(day + dt.timedelta(days=7))  # the week of the seed's day
        t = time_county_weekly(County.objects.order_by("pk").first().pk, period, repeat=5)
    xlsx = t["report"] - t["numbers"]
    return [
        BenchResult(f"county weekly report {period}, numbers (s)", round(t["numbers"], 3), "s"),
        BenchResult("county weekly bare SQL aggregates (s)", round(t["bare_sql"], 3), "s"),
        BenchResult(
            "county weekly numbers ÷ bare SQL", round(t["numbers"] / t["bare_sql"], 2), "×", full_size_target(ctx, 1.5)
        ),
        BenchResult("county weekly report with .xlsx (s)", round(t["report"], 3), "s"),
        BenchResult("county weekly report with .xlsx ÷ bare SQL", round(t["report"] / t["bare_sql"], 2), "×"),
        BenchResult("its .xlsx part (s)", round(xlsx, 3), "s"),
        BenchResult("bare openpyxl loop, same cells (s)", round(t["bare_xlsx"], 3), "s"),
        BenchResult(
            "county weekly report with .xlsx ÷ (bare SQL + bare openpyxl)",
            round(t["report"] / (t["bare_sql"] + t["bare_xlsx"]), 2),
            "×",
            full_size_target(ctx, 1.5),
        ),
    ]
