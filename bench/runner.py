"""The benchmark run: sections in order on a freshly seeded database, then one table.

``python manage.py bench [--students 100000] [--seed 1] [--only NAME …]`` (the command in
reporting/management/commands/bench.py) calls :func:`run`. Each section is a function taking a
:class:`~bench.core.BenchContext` and returning a list of :class:`~bench.core.BenchResult` (name,
value, unit, target); they run in the order of :data:`SECTIONS`. A result over its target is
marked FAIL and the command exits non-zero.

The first section re-seeds the database with ``seed_demo --reset``: it deletes all app data
and accounts. On a database that already holds data the command therefore refuses unless
``--reset`` is given. It migrates first, so it can run on an empty throwaway database, e.g.

    scripts/with-services.sh .venv/bin/python manage.py bench --students 100000

The clock stands at BENCH_DAY 10:00 Asia/Shanghai (time-machine, ticking) while the seed picks
its ``as_of`` and while teachers submit, because a submit accepts only this week's past school
days. Sections run with DEBUG off, as in production. Before every section but the seed the
database is settled (VACUUM ANALYZE of every table, a CHECKPOINT where the role may ask for one)
and so is the process (a full garbage collection, then ``gc.freeze()`` of what is left).

Sections (one module each): seed (:mod:`bench.seed`), attendance and nightly
(:mod:`bench.attendance`), roster (:mod:`bench.roster`), reports (:mod:`bench.reports`), ledger
(:mod:`bench.ledgers`), dashboards (:mod:`bench.dashboards`), accountability (:mod:`bench.accountability`),
screening (:mod:`bench.screening`), pwa (:mod:`bench.pwa`: the attendance page's weight and time to
interactive on a phone over 3G, through gunicorn and headless Chromium).
"""

import gc
import warnings

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import override_settings

from students.demo.county import has_demo_data
from students.demo.logins import table

from .accountability import bench_accountability
from .attendance import bench_attendance, bench_nightly
from .core import BenchContext, BenchResult, Section, checkpoint, vacuum
from .dashboards import bench_dashboards
from .ledgers import bench_ledger
from .pwa import bench_pwa
from .reports import bench_reports
from .roster import bench_roster
from .screening import bench_screening
from .seed import bench_seed

# Sections run in this order; each is (name for --only, function).
SECTIONS: list[tuple[str, Section]] = [
    ("seed", bench_seed),
    ("attendance", bench_attendance),
    ("nightly", bench_nightly),
    ("roster", bench_roster),
    ("reports", bench_reports),
    ("ledger", bench_ledger),
    ("dashboards", bench_dashboards),
    ("accountability", bench_accountability),
    ("screening", bench_screening),
    ("pwa", bench_pwa),
]
SECTION_NAMES = [name for name, _section in SECTIONS]


def run(
    *,
    students: int,
    seed: int,
    reset: bool,
    only: list[str] | None,
    migrate: bool,
    stdout,
    verbosity: int = 1,
    report_only: bool = False,
) -> list[BenchResult]:
    """Run the selected sections (all by default), print their table to ``stdout``.

    CommandError if a figure misses its target, unless ``report_only`` (the test suite checks that
    the benchmarks run and report, not how fast the machine running the tests is).
    """

    def write(msg: str) -> None:
        if verbosity > 0:
            stdout.write(msg)
            stdout.flush()

    if migrate:
        call_command("migrate", interactive=False, verbosity=0)

    if has_demo_data() and not reset:
        raise CommandError(
            "bench 会用 seed_demo --reset 清空全部数据;数据库中已有数据,确认请加 --reset。"
            " bench wipes all app data (seed_demo --reset); the database holds data, pass --reset to confirm."
        )

    selected = SECTIONS
    if only:
        unknown = set(only) - set(SECTION_NAMES)
        if unknown:
            raise CommandError(f"未知部分 unknown sections: {', '.join(sorted(unknown))}")
        selected = [(name, fn) for name, fn in SECTIONS if name in only]

    ctx = BenchContext(students=students, seed=seed, write=write, stdout=stdout, verbosity=verbosity)
    write(f"bench on {connection.vendor} ({connection.settings_dict.get('NAME')}), {ctx.students:,} students")
    results: list[BenchResult] = []
    # As in production: no query log, and the test client's host is allowed. (WhiteNoise warns
    # once that collectstatic has not run; the API does not need static files.)
    with (
        override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
        for name, fn in selected:
            write(f"== {name}")
            if name != "seed":
                # Settle the database first (as make load does): autovacuum's first pass over what the
                # seed or an earlier section wrote, and the write-back, must not run while this one times.
                vacuum()
                checkpoint()
                # And this process: what the seed and earlier sections left on the heap is frozen out
                # of the garbage collector's way (as a worker that has just started, or gunicorn's
                # gc.freeze() after loading), so it does not tax whichever code allocates the most.
                gc.collect()
                gc.freeze()
            section = fn(ctx)
            for result in section:
                write(f"   {result.name}: {result.value} {result.unit}")
            results += section

    rows = [
        [
            r.name,
            f"{r.value:,}",
            r.unit,
            r.target_label,
            {True: "ok", False: "FAIL", None: ""}[r.ok],
        ]
        for r in results
    ]
    stdout.write("")
    stdout.write(table(["benchmark", "value", "unit", "target", ""], rows))
    failed = [r.name for r in results if r.ok is False]
    if failed and not report_only:
        raise CommandError(f"超出目标 over target: {', '.join(failed)}")
    return results
