"""Compliance metrics and the appraisal (issue 13) against the bare SQL they need and a bare openpyxl loop.

- ``compliance``: :func:`reporting.compliance.collect` for every school and class teacher of the
  county over the term so far, against the very statements it runs (captured from one run), executed
  straight through the cursor and fetched;
- ``appraisal``: the same plus the findings and faults behind the veto, against its statements;
- ``appraisal .xlsx``: :func:`reporting.appraisal.workbook` against a bare openpyxl write-only loop
  writing the same cell values (two sheets, percentages formatted), as throughput (bare ÷ ours).
"""

import io
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from reporting import appraisal, compliance
from reporting.xlsx import PCT_FORMAT
from students.calendar import cached_school_calendar
from students.models import County, School

from .core import BenchContext, BenchResult, bench_as_of, clock, full_size_target


def _statements(fn) -> list[tuple[str, list]]:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return [(query["sql"], None) for query in captured.captured_queries]


def _bare(statements) -> None:
    with connection.cursor() as cursor:
        for sql, _params in statements:
            cursor.execute(sql)
            cursor.fetchall()


def _rows(found: appraisal.Appraisals) -> tuple[list[list], list[list]]:
    """The cell values of the appraisal's two sheets (what a bare loop would write)."""
    schools = []
    for number, a in enumerate(found.schools, 1):
        row: list = [number, a.row.name]
        for value in a.row.values.values():
            row += [value.value, value.target, "达标" if value.met else "未达标"]
        schools.append([*row, a.findings, a.findings_open, a.findings_accepted, "是" if a.veto else "否", a.conclusion])
    people = []
    for number, a in enumerate(found.people, 1):
        row = [number, a.row.school_name, a.row.name]
        for value in a.row.values.values():
            row += [value.value, "达标" if value.met else "未达标"]
        people.append([*row, "是" if a.veto else "否", a.conclusion])
    return schools, people


def _bare_xlsx(schools: list[list], people: list[list]) -> None:
    wb = Workbook(write_only=True)
    for rows in (schools, people):
        ws = wb.create_sheet()
        for values in rows:
            cells = []
            for value in values:
                if isinstance(value, float):
                    cell = WriteOnlyCell(ws, value=value / 100)
                    cell.number_format = PCT_FORMAT
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    wb.save(io.BytesIO())


def _best(timings: dict[str, list[float]], funcs: dict, repeat: int) -> dict[str, float]:
    for _ in range(repeat):  # alternated, best of each: a busy machine slows all alike
        for name, func in funcs.items():
            began = time.perf_counter()
            func()
            timings[name].append(time.perf_counter() - began)
    return {name: min(times) for name, times in timings.items()}


def bench_accountability(ctx: BenchContext, *, repeat: int = 5) -> list[BenchResult]:
    day = bench_as_of(ctx)
    with clock(day), override_settings(DEBUG=False):
        county = County.objects.order_by("pk").first()
        schools = School.objects.filter(county=county)
        term = cached_school_calendar(county.pk).term_of(day)
        start, end = term[0], day
        as_of = timezone.now()

        def metrics() -> compliance.Compliance:
            return compliance.collect(schools, start, end, as_of=as_of)

        def appraise() -> appraisal.Appraisals:
            return appraisal.appraise(metrics(), label="bench")

        found = appraise()  # warm (the calendar, the policies)
        metric_sql = _statements(metrics)
        appraisal_sql = _statements(appraise)
        school_rows, person_rows = _rows(found)
        t = _best(
            {name: [] for name in ("metrics", "metrics_sql", "appraisal", "appraisal_sql", "xlsx", "bare_xlsx")},
            {
                "metrics": metrics,
                "metrics_sql": lambda: _bare(metric_sql),
                "appraisal": appraise,
                "appraisal_sql": lambda: _bare(appraisal_sql),
                "xlsx": lambda: appraisal.workbook(found, scope_name=county.name, exported_by="bench"),
                "bare_xlsx": lambda: _bare_xlsx(school_rows, person_rows),
            },
            repeat,
        )
    people = len(found.people)
    return [
        BenchResult(
            f"compliance metrics, {len(found.schools)} schools and {people:,} class teachers (s)",
            round(t["metrics"], 3),
            "s",
        ),
        BenchResult(f"its bare SQL, {len(metric_sql)} statements (s)", round(t["metrics_sql"], 3), "s"),
        BenchResult(
            "compliance metrics ÷ bare SQL", round(t["metrics"] / t["metrics_sql"], 2), "×", full_size_target(ctx, 1.5)
        ),
        BenchResult("appraisal (s)", round(t["appraisal"], 3), "s"),
        BenchResult(
            "appraisal ÷ bare SQL", round(t["appraisal"] / t["appraisal_sql"], 2), "×", full_size_target(ctx, 1.5)
        ),
        BenchResult("appraisal .xlsx (s)", round(t["xlsx"], 3), "s"),
        BenchResult("bare openpyxl loop, same cells (s)", round(t["bare_xlsx"], 3), "s"),
        BenchResult(
            "appraisal .xlsx throughput ÷ bare loop",
            round(t["bare_xlsx"] / t["xlsx"], 2),
            "×",
            full_size_target(ctx, 0.8),
            at_least=True,
        ),
    ]
