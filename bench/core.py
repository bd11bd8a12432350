"""What every benchmark section shares: its result rows, its context, the bench's clock and timing helpers.

A section is ``section(ctx: BenchContext) -> list[BenchResult]``.
"""

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import time
import zoneinfo
from collections.abc import Callable

from django.core.management.base import CommandError
from django.db import DatabaseError, connection

from students.models import DailyReport

BENCH_DAY = dt.date(2026, 11, 25)  # a Wednesday of the seeded autumn term: the bench's "today"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# The targets of the reports, ledger and dashboards are for the 100,000-student county; on a small
# one fixed costs dominate the ratios.
FULL_SIZE = 50_000


@dataclasses.dataclass
class BenchResult:
    name: str
    value: float
    unit: str
    target: float | None = None  # upper bound (lower bound with at_least); None means "for information"
    at_least: bool = False

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def target_label(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.at_least else '≤'} {self.target:,}"


@dataclasses.dataclass
class BenchContext:
    students: int
    seed: int
    write: Callable[[str], None]
    stdout: object = None  # where sections send their commands' output
    verbosity: int = 1
    data: dict = dataclasses.field(default_factory=dict)  # sections may leave things for later ones


Section = Callable[[BenchContext], list[BenchResult]]


def full_size_target(ctx: BenchContext, value: float) -> float | None:
    """``value`` as the target on a full-size county, none (for information) on a small bench."""
    return value if ctx.students >= FULL_SIZE else None


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def clock(day: dt.date):
    """The clock at 10:00 Shanghai time on ``day``, ticking (time-machine is a dev dependency)."""
    import time_machine

    return time_machine.travel(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=True)


def seed_day(ctx: BenchContext) -> dt.date:
    """The seed's as_of if the seed section ran, else the bench's day (no query)."""
    return ctx.data.get("as_of") or BENCH_DAY


@contextlib.contextmanager
def quiet(*loggers: str, level: int = logging.ERROR):
    """Silence per-request log lines (eager task results, the warm-up's 400) while timing."""
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, old in saved.items():
            logging.getLogger(name).setLevel(old)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def bench_as_of(ctx: BenchContext) -> dt.date:
    """The seed's as_of: remembered from the seed section, else the latest reported day."""
    if "as_of" not in ctx.data:
        latest = DailyReport.objects.order_by("-date").values_list("date", flat=True).first()
        if latest is None:
            raise CommandError("没有考勤数据,请先运行 seed 部分 / no attendance: run the seed section first")
        ctx.data["as_of"] = latest
    return ctx.data["as_of"]


def vacuum(*models) -> None:
    """VACUUM ANALYZE the models' tables on PostgreSQL, or every table when none is named (not
    possible, and not needed, inside a transaction). After a seed this also leaves autovacuum nothing
    to do during a measurement: its first pass over the freshly written tables took whole seconds."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        if not models:
            cursor.execute("VACUUM ANALYZE")  # the tables this role owns; the system catalogs are skipped
        for model in models:
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')


def checkpoint() -> bool:
    """Ask PostgreSQL for a CHECKPOINT, so that writing back what came before (a 100,000-student seed)
    does not run during a measurement. False where not possible: another database, or a role without
    ``pg_checkpoint`` (scripts/with-services.sh grants it on PostgreSQL 15 and later)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        return False
    return True
