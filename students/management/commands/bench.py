"""Benchmarks: ``python manage.py bench [--students 100000] [--seed 1] [--only NAME …]``.

Each section is a function taking a :class:`BenchContext` and returning a list of
:class:`BenchResult` (name, value, unit, target). Add later sections (attendance, dashboards,
exports) to ``BENCHES``; they run in order on the freshly seeded database, and the command
prints one table at the end. A result over its target is marked FAIL and the command exits
non-zero.

The first section re-seeds the database with ``seed_demo --reset``: it deletes all app data
and accounts. On a database that already holds data the command therefore refuses unless
``--reset`` is given. It migrates first, so it can run on an empty throwaway database, e.g.

    scripts/with-services.sh .venv/bin/python manage.py bench --students 100000
"""

import dataclasses
import time
from collections.abc import Callable

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .demo_logins import table
from .seed_demo import has_demo_data


@dataclasses.dataclass
class BenchResult:
    name: str
    value: float
    unit: str
    target: float | None = None  # upper bound; None means "for information"

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.value <= self.target


@dataclasses.dataclass
class BenchContext:
    students: int
    seed: int
    write: Callable[[str], None]
    stdout: object = None  # where sections send their commands' output
    verbosity: int = 1
    data: dict = dataclasses.field(default_factory=dict)  # sections may leave things for later ones


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_seed(ctx: BenchContext) -> list[BenchResult]:
    """seed_demo --reset: ≤ 300 s for 100,000 students (scaled linearly for other sizes)."""

    def run():
        call_command(
            "seed_demo",
            students=ctx.students,
            seed=ctx.seed,
            reset=True,
            verbosity=ctx.verbosity,
            stdout=ctx.stdout,
        )

    seconds = timed(run)
    ctx.data["seeded"] = True
    target = max(10.0, 300.0 * ctx.students / 100_000)
    return [
        BenchResult(f"seed_demo {ctx.students} students", round(seconds, 1), "s", round(target, 1)),
        BenchResult("seed_demo rate", round(ctx.students / seconds), "students/s"),
    ]


# Sections run in this order; each is (name for --only, function).
BENCHES: list[tuple[str, Callable[[BenchContext], list[BenchResult]]]] = [
    ("seed", bench_seed),
]


class Command(BaseCommand):
    help = (
        "性能测试(会用 seed_demo --reset 重建数据库中的全部演示数据)。"
        " Run the benchmarks; re-seeds the database with seed_demo --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="允许清空已有数据 / allow wiping a database that already holds data",
        )
        parser.add_argument(
            "--only", nargs="*", default=None, help=f"只运行这些部分 / sections: {', '.join(n for n, _ in BENCHES)}"
        )
        parser.add_argument("--no-migrate", action="store_true", help="不先执行 migrate / skip migrate")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]

        def write(msg: str) -> None:
            if verbosity > 0:
                self.stdout.write(msg)
                self.stdout.flush()

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)

        if has_demo_data() and not options["reset"]:
            raise CommandError(
                "bench 会用 seed_demo --reset 清空全部数据;数据库中已有数据,确认请加 --reset。"
                " bench wipes all app data (seed_demo --reset); the database holds data, pass --reset to confirm."
            )

        selected = BENCHES
        if options["only"]:
            unknown = set(options["only"]) - {name for name, _ in BENCHES}
            if unknown:
                raise CommandError(f"未知部分 unknown sections: {', '.join(sorted(unknown))}")
            selected = [(name, fn) for name, fn in BENCHES if name in options["only"]]

        ctx = BenchContext(
            students=options["students"],
            seed=options["seed"],
            write=write,
            stdout=self.stdout,
            verbosity=verbosity,
        )
        write(f"bench on {connection.vendor} ({connection.settings_dict.get('NAME')}), {ctx.students:,} students")
        results: list[BenchResult] = []
        for name, fn in selected:
            write(f"== {name}")
            section = fn(ctx)
            for result in section:
                write(f"   {result.name}: {result.value} {result.unit}")
            results += section

        rows = [
            [
                r.name,
                f"{r.value:,}",
                r.unit,
                "" if r.target is None else f"≤ {r.target:,}",
                {True: "ok", False: "FAIL", None: ""}[r.ok],
            ]
            for r in results
        ]
        self.stdout.write("")
        self.stdout.write(table(["benchmark", "value", "unit", "target", ""], rows))
        failed = [r.name for r in results if r.ok is False]
        if failed:
            raise CommandError(f"超出目标 over target: {', '.join(failed)}")
