"""``python manage.py bench [--students 100000] [--seed 1] [--reset] [--only NAME …] [--no-migrate]``.

A thin wrapper over :func:`bench.runner.run` (see bench/runner.py for what it measures). ``bench``
is an installed app without models at the right end of the dependency line: it imports every app
and no app imports it (tests/test_architecture.py holds that line).
"""

from django.core.management.base import BaseCommand

from bench import runner


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
            "--only",
            nargs="*",
            default=None,
            help=f"只运行这些部分 / sections: {', '.join(runner.SECTION_NAMES)}",
        )
        parser.add_argument("--no-migrate", action="store_true", help="不先执行 migrate / skip migrate")
        parser.add_argument(
            "--report-only",
            action="store_true",
            help="只报告,不因超出目标而失败 / print the table, never fail on a missed target",
        )

    def handle(self, *args, **options):
        runner.run(
            students=options["students"],
            seed=options["seed"],
            reset=options["reset"],
            only=options["only"],
            migrate=not options["no_migrate"],
            stdout=self.stdout,
            verbosity=options["verbosity"],
            report_only=options["report_only"],
        )
