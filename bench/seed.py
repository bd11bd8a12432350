"""The seed: ``seed_demo --reset`` of the benchmark county."""

from django.core.management import call_command

from students.demo.county import resolve_as_of
from students.models import County

from .core import BENCH_DAY, BenchContext, BenchResult, clock, timed


def bench_seed(ctx: BenchContext) -> list[BenchResult]:
    """seed_demo --reset: ≤ 300 s for 100,000 students (scaled linearly for other sizes)."""

    def run():
        with clock(BENCH_DAY):  # the seed's as_of is "today"
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
    ctx.data["as_of"] = resolve_as_of(County.objects.get().pk, BENCH_DAY)[0]
    target = max(10.0, 300.0 * ctx.students / 100_000)
    return [
        BenchResult(f"seed_demo {ctx.students} students", round(seconds, 1), "s", round(target, 1)),
        BenchResult("seed_demo rate", round(ctx.students / seconds), "students/s"),
    ]
