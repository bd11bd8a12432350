"""`make bench` sections of reporting (registered with students.bench_sections in AppConfig.ready).

They run after the bench's seed of the 100,000-student county, with the clock on the seed's day.
"""

import datetime as dt
import zoneinfo

from django.test.utils import override_settings

from students.bench_sections import BenchContext, BenchResult
from students.models import County, User

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# The targets are for the 100,000-student county; on a small one fixed costs dominate the ratios.
FULL_SIZE = 50_000


def _target(ctx: BenchContext, value: float) -> float | None:
    return value if ctx.students >= FULL_SIZE else None


def _clock(ctx: BenchContext):
    import time_machine  # a dev dependency, like the bench itself

    day = ctx.data.get("as_of") or dt.date(2026, 11, 25)
    return time_machine.travel(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=True), day


def bench_reports(ctx: BenchContext) -> list[BenchResult]:
    """County weekly report (numbers and .xlsx) against the bare SQL aggregates it needs: ≤ 1.5×."""
    from . import runs
    from .reports import bench_county_weekly

    clock, day = _clock(ctx)
    with clock, override_settings(DEBUG=False):
        period = runs.previous_iso_week(day + dt.timedelta(days=7))  # the week of the seed's day
        report, bare = bench_county_weekly(County.objects.order_by("pk").first().pk, period, repeat=5)
    return [
        BenchResult(f"county weekly report {period} (s)", round(report, 3), "s"),
        BenchResult("county weekly bare SQL aggregates (s)", round(bare, 3), "s"),
        BenchResult("county weekly report ÷ bare SQL", round(report / bare, 2), "×", _target(ctx, 1.5)),
    ]


def bench_ledger(ctx: BenchContext) -> list[BenchResult]:
    """County dropout ledger export against a bare openpyxl write-only loop: throughput ≥ 80 %."""
    from .ledgers import bench_ledger as measure

    clock, _day = _clock(ctx)
    with clock, override_settings(DEBUG=False):
        result = measure(User.objects.get(username="bureau"), repeat=3)
    ratio = result["bare_seconds"] / result["ledger_seconds"]
    return [
        BenchResult(f"dropout ledger export, {result['rows']} rows (s)", result["ledger_seconds"], "s"),
        BenchResult("bare openpyxl write-only loop, same rows (s)", result["bare_seconds"], "s"),
        BenchResult("ledger throughput ÷ bare loop throughput", round(ratio, 2), "×", _target(ctx, 0.8), at_least=True),
    ]


def bench_dashboards(ctx: BenchContext) -> list[BenchResult]:
    """Principal dashboard p95 < 50 ms, county dashboard p95 < 300 ms."""
    from .dashboards import bench_dashboards as measure

    clock, _day = _clock(ctx)
    with clock, override_settings(DEBUG=False):
        result = measure(repeat=30)
    return [
        BenchResult("principal dashboard uncached p50 (ms)", result["school_uncached"]["p50"], "ms"),
        BenchResult("principal dashboard uncached p95 (ms)", result["school_uncached"]["p95"], "ms"),
        BenchResult("county dashboard uncached p50 (ms)", result["county_uncached"]["p50"], "ms"),
        BenchResult("county dashboard uncached p95 (ms)", result["county_uncached"]["p95"], "ms"),
        BenchResult("principal dashboard p50 (ms)", result["school"]["p50"], "ms"),
        BenchResult("principal dashboard p95 (ms)", result["school"]["p95"], "ms", _target(ctx, 50.0)),
        BenchResult("county dashboard p50 (ms)", result["county"]["p50"], "ms"),
        BenchResult("county dashboard p95 (ms)", result["county"]["p95"], "ms", _target(ctx, 300.0)),
        BenchResult("principal dashboard queries", result["school"]["queries"], ""),
        BenchResult("county dashboard queries", result["county"]["queries"], ""),
    ]
