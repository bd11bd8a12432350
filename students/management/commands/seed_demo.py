"""``manage.py seed_demo``: build the demo county (DESIGN.md §8); the builder is students/demo/county.py."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from students.demo.county import (
    DEFAULT_SEED,
    DEFAULT_STUDENTS,
    MIN_STUDENTS,
    Seeder,
    date_argument,
    has_demo_data,
    parse_day,
    wipe_demo_data,
)
from students.demo.logins import DEFAULT_PASSWORD, render_logins


class Command(BaseCommand):
    help = (
        "生成演示数据:青山县的乡镇、村、学校、班级、学生、监护人、学年学期和演示账号。"
        " Build the demo county (DESIGN.md §8); the same --seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS, help="学生人数 (default 2000)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子 (default 1)")
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help=f"所有演示账号的密码 (default {DEFAULT_PASSWORD})"
        )
        parser.add_argument(
            "--as-of",
            type=date_argument,
            default=None,
            help="考勤生成到哪一天 YYYY-MM-DD (default: today; outside a term → last school day of the latest term)",
        )
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--if-empty", action="store_true", help="已有数据时什么也不做 / do nothing when data exists")
        group.add_argument(
            "--reset",
            action="store_true",
            help="先清空全部业务数据和账号 / first delete ALL app data, accounts and sessions",
        )

    def handle(self, *args, **options):
        students = options["students"]
        if options["if_empty"] and options["reset"]:
            raise CommandError("--if-empty 与 --reset 不能同时使用 / --if-empty and --reset exclude each other")
        if students < MIN_STUDENTS:
            raise CommandError(f"--students 至少 {MIN_STUDENTS} / must be at least {MIN_STUDENTS}")
        verbose = options["verbosity"] > 0

        def write(msg: str) -> None:
            if verbose:
                self.stdout.write(msg)
                self.stdout.flush()

        if has_demo_data() and not options["reset"]:
            if options["if_empty"]:
                write("已有数据,未生成演示数据。 Data already present; seed_demo did nothing (--if-empty).")
                return
            raise CommandError(
                "数据库中已有数据;如需重建演示数据请加 --reset(将删除全部业务数据和账号)。"
                " The database already holds data; use --reset to delete it and seed again."
            )

        started = time.monotonic()
        write(f"seed_demo: {students:,} students, seed {options['seed']}")
        with transaction.atomic():
            if options["reset"]:
                wipe_demo_data()
                write(f"  已清空旧数据 old data deleted ({time.monotonic() - started:.1f} s)")
            seeder = Seeder(students, options["seed"], options["password"], write=write)
            counts = seeder.run(as_of=parse_day(options.get("as_of")))
        elapsed = time.monotonic() - started

        if verbose:
            labels = [
                ("townships", "乡镇"),
                ("villages", "村(社区)"),
                ("schools", "学校"),
                ("classrooms", "班级"),
                ("students", "学生"),
                ("guardians", "监护人"),
                ("users", "账号"),
                ("posts", "岗位"),
                ("school_years", "学年"),
                ("terms", "学期"),
                ("reports", "考勤日报"),
                ("absences", "缺勤"),
                ("revisions", "日报版本"),
                ("not_reported", "今日未报班级"),
                ("rules", "预警规则"),
                ("flags_red", "红色预警"),
                ("flags_orange", "橙色预警"),
                ("flags_yellow", "黄色预警"),
                ("notifications", "提醒"),
            ]
            summary = ", ".join(f"{zh} {key} {counts.get(key, 0):,}" for key, zh in labels)
            write(f"完成 done (as of {seeder.as_of:%Y-%m-%d}): {summary}")
            write("分阶段用时 phases: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in seeder.timings.items()))
            write(f"用时 total time: {elapsed:.1f} s")
            write("")
            write(render_logins(password=options["password"]))
