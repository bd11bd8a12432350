"""`make bench` sections of reporting (registered with students.bench_sections in AppConfig.ready).

They run after the bench's seed of the 100,000-student county, with the clock on the seed's day.
"""

import contextlib
import copy
import datetime as dt
import random
import zoneinfo

from django.db import transaction
from django.test.utils import override_settings

from students.bench_sections import BenchContext, BenchResult
from students.models import County, User

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# The targets are for the 100,000-student county; on a small one fixed costs dominate the ratios.
FULL_SIZE = 50_000
# The ledger's throughput is measured at the size from which a county-wide export becomes a
# background job (ledgers.DIRECT_MAX_ROWS): the seed's own ledger (~130 rows on 100,000 students)
# is too small for a throughput, its fixed cost (queries, workbook parts) would be all it measures.
LEDGER_ROWS = 5_000


def _target(ctx: BenchContext, value: float) -> float | None:
    return value if ctx.students >= FULL_SIZE else None


def _clock(ctx: BenchContext):
    import time_machine  # a dev dependency, like the bench itself

    day = ctx.data.get("as_of") or dt.date(2026, 11, 25)
    return time_machine.travel(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=True), day


def bench_reports(ctx: BenchContext) -> list[BenchResult]:
    """County weekly report against the bare SQL aggregates it needs: ≤ 1.5×.

    The target is on the report's numbers (what its page and API resource serve), which is what
    the aggregates produce. The report's .xlsx is reported beside it: it adds the cost of openpyxl
    writing ~5,000 cells, which is compared with a bare openpyxl loop writing the same values.
    """
    from . import runs
    from .reports import bench_county_weekly

    clock, day = _clock(ctx)
    with clock, override_settings(DEBUG=False):
        period = runs.previous_iso_week(day + dt.timedelta(days=7))  # the week of the seed's day
        t = bench_county_weekly(County.objects.order_by("pk").first().pk, period, repeat=5)
    xlsx = t["report"] - t["numbers"]
    return [
        BenchResult(f"county weekly report {period}, numbers (s)", round(t["numbers"], 3), "s"),
        BenchResult("county weekly bare SQL aggregates (s)", round(t["bare_sql"], 3), "s"),
        BenchResult("county weekly numbers ÷ bare SQL", round(t["numbers"] / t["bare_sql"], 2), "×", _target(ctx, 1.5)),
        BenchResult("county weekly report with .xlsx (s)", round(t["report"], 3), "s"),
        BenchResult("county weekly report with .xlsx ÷ bare SQL", round(t["report"] / t["bare_sql"], 2), "×"),
        BenchResult("its .xlsx part (s)", round(xlsx, 3), "s"),
        BenchResult("bare openpyxl loop, same cells (s)", round(t["bare_xlsx"], 3), "s"),
        BenchResult(
            "county weekly report with .xlsx ÷ (bare SQL + bare openpyxl)",
            round(t["report"] / (t["bare_sql"] + t["bare_xlsx"]), 2),
            "×",
            _target(ctx, 1.5),
        ),
    ]


@contextlib.contextmanager
def ledger_volume(rows: int, *, seed: int = 1):
    """The county's dropout ledger grown to ``rows`` rows for the duration of the block, then rolled back.

    Each added case is a copy of one of the seed's ledger cases (status, dates, reason, current
    plan with its responsible persons, contact records) put on an enrolled student who has no
    case, so the rows carry the same mix of filled and empty columns as real ones. Yields the
    number of cases added.
    """
    from casework.models import CaseActivity, DropoutCase, ReturnPlan
    from students.models import Student

    from .ledgers import _dropouts_q, context_for_user

    ctx = context_for_user(User.objects.get(username="bureau"))
    with transaction.atomic():
        templates = list(ctx.cases.filter(_dropouts_q(ctx.year_start)).order_by("pk"))
        missing = rows - len(templates)
        added = 0
        if templates and missing > 0:
            plans = {p.case_id: p for p in ReturnPlan.objects.filter(case__in=templates, is_current=True)}
            contacts: dict[int, list] = {}
            for activity in CaseActivity.objects.filter(case__in=templates).order_by("pk"):
                contacts.setdefault(activity.case_id, []).append(activity)
            free = list(
                Student.objects.filter(school__county_id=ctx.county_id, status=Student.Status.ENROLLED, cases=None)
                .order_by("pk")
                .values_list("pk", "school_id", "classroom_id")
            )
            chosen = random.Random(seed).sample(free, min(missing, len(free)))
            cases = [
                _clone(
                    templates[index % len(templates)],
                    student_id=student_id,
                    school_id=school_id,
                    classroom_id=classroom_id,
                    previous_case_id=None,
                    source_flag_id=None,
                )
                for index, (student_id, school_id, classroom_id) in enumerate(chosen)
            ]
            DropoutCase.objects.bulk_create(cases, batch_size=1000)
            new_plans, new_contacts = [], []
            for index, case in enumerate(cases):
                template = templates[index % len(templates)]
                if template.pk in plans:
                    new_plans.append(_clone(plans[template.pk], case_id=case.pk))
                new_contacts += [
                    _clone(activity, case_id=case.pk, school_id=case.school_id)
                    for activity in contacts.get(template.pk, [])
                ]
            ReturnPlan.objects.bulk_create(new_plans, batch_size=1000)
            CaseActivity.objects.bulk_create(new_contacts, batch_size=1000)
            added = len(cases)
        try:
            yield added
        finally:
            transaction.set_rollback(True)
    if added:
        _vacuum(DropoutCase, ReturnPlan, CaseActivity)  # the rolled-back rows must not slow later sections


def _clone(instance, **fields):
    """An unsaved copy of a model instance with ``fields`` changed (its own state, no cached relations)."""
    clone = copy.copy(instance)
    clone._state = copy.copy(instance._state)
    clone._state.adding, clone._state.fields_cache = True, {}
    clone.pk = None
    for name, value in fields.items():
        setattr(clone, name, value)
    return clone


def _vacuum(*models) -> None:
    """VACUUM ANALYZE the models' tables on PostgreSQL (not possible, and not needed, inside a transaction)."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')


def bench_ledger(ctx: BenchContext) -> list[BenchResult]:
    """County dropout ledger export against a bare openpyxl write-only loop: throughput ≥ 80 %.

    Measured twice: on the seed's own ledger (reported, no target: a few dozen milliseconds of
    fixed cost decide the ratio there) and on the ledger grown to LEDGER_ROWS rows (the target).
    """
    from .ledgers import bench_ledger as measure

    clock, _day = _clock(ctx)
    bureau = User.objects.get(username="bureau")
    results = []
    with clock, override_settings(DEBUG=False):
        for grown in (False, True):
            volume = LEDGER_ROWS if ctx.students >= FULL_SIZE else LEDGER_ROWS // 10  # a small bench stays quick
            with ledger_volume(volume if grown else 0, seed=ctx.seed):
                result = measure(bureau, repeat=3)
            ratio = result["bare_seconds"] / result["ledger_seconds"]
            rows = result["rows"]
            results += [
                BenchResult(f"dropout ledger export, {rows:,} rows (s)", result["ledger_seconds"], "s"),
                BenchResult(f"bare openpyxl write-only loop, {rows:,} rows (s)", result["bare_seconds"], "s"),
                BenchResult(
                    f"ledger throughput ÷ bare loop, {rows:,} rows",
                    round(ratio, 2),
                    "×",
                    _target(ctx, 0.8) if grown else None,
                    at_least=True,
                ),
            ]
    return results


def bench_dashboards(ctx: BenchContext) -> list[BenchResult]:
    """Principal dashboard p95 < 50 ms, county dashboard p95 < 300 ms: as users come back to them
    (the week's numbers from the short cache) and computed afresh (the cache dropped before each
    request, as on the first view after a report was submitted)."""
    from .dashboards import bench_dashboards as measure

    clock, _day = _clock(ctx)
    with clock, override_settings(DEBUG=False):
        result = measure(repeat=50)
    return [
        BenchResult("principal dashboard uncached p50 (ms)", result["school_uncached"]["p50"], "ms"),
        BenchResult(
            "principal dashboard uncached p95 (ms)", result["school_uncached"]["p95"], "ms", _target(ctx, 50.0)
        ),
        BenchResult("county dashboard uncached p50 (ms)", result["county_uncached"]["p50"], "ms"),
        BenchResult("county dashboard uncached p95 (ms)", result["county_uncached"]["p95"], "ms", _target(ctx, 300.0)),
        BenchResult("principal dashboard p50 (ms)", result["school"]["p50"], "ms"),
        BenchResult("principal dashboard p95 (ms)", result["school"]["p95"], "ms", _target(ctx, 50.0)),
        BenchResult("county dashboard p50 (ms)", result["county"]["p50"], "ms"),
        BenchResult("county dashboard p95 (ms)", result["county"]["p95"], "ms", _target(ctx, 300.0)),
        BenchResult("principal dashboard queries", result["school"]["queries"], ""),
        BenchResult("county dashboard queries", result["county"]["queries"], ""),
    ]
