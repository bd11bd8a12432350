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

The clock stands at BENCH_DAY 10:00 Asia/Shanghai (time-machine, ticking) while the seed picks
its ``as_of`` and while teachers submit, because a submit accepts only this week's past school
days. Sections run with DEBUG off, as in production.

Sections after the seed:

- attendance: 200 classes that have not reported on ``as_of`` each POST their report
  (two absences) through ``django.test.Client``, timed per request. Twice: with Celery eager
  (the class's risk re-evaluation runs inside the request, as with no worker) and with the
  task only queued (REDIS_URL's broker; the messages are purged afterwards).
- nightly: ``risk.nightly`` over the whole county, once as a re-run over the seed's flags and
  once cold after deleting every RiskFlag.
- roster: a principal uploads a 1,000-row .xlsx roster of new students, then the same file again.
"""

import contextlib
import datetime as dt
import json
import logging
import math
import random
import time
import warnings
import zoneinfo
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from students.attendance import risk
from students.bench_sections import SECTIONS, BenchContext, BenchResult
from students.demo.county import has_demo_data, resolve_as_of
from students.demo.logins import table
from students.models import Classroom, County, DailyReport, Post, RiskFlag, Student, User

BENCH_DAY = dt.date(2026, 11, 25)  # a Wednesday of the seeded autumn term: the bench's "today"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SUBMIT_CLASSES = 200  # per mode
SUBMIT_URL = "/api/v1/attendance/"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def clock(day: dt.date):
    """The clock at 10:00 Shanghai time on ``day``, ticking (time-machine is a dev dependency)."""
    import time_machine

    return time_machine.travel(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=True)


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


def unreported_classes(ctx: BenchContext, day: dt.date, wanted: int) -> list[int]:
    """``wanted`` classes (with ≥ 2 enrolled students) without a report on ``day``; deletes reports if short."""
    enrolled = Counter(
        Student.objects.filter(status=Student.Status.ENROLLED, classroom__isnull=False).values_list(
            "classroom_id", flat=True
        )
    )
    reported = set(DailyReport.objects.filter(date=day).values_list("classroom_id", flat=True))
    usable = sorted(pk for pk, n in enrolled.items() if n >= 2)
    free = [pk for pk in usable if pk not in reported]
    if len(free) < wanted:
        taken = [pk for pk in usable if pk in reported][: wanted - len(free)]
        DailyReport.objects.filter(date=day, classroom_id__in=taken).delete()  # absences, revisions cascade
        ctx.write(f"   deleted the {day} reports of {len(taken)} classes to have {wanted} unreported")
        free += taken
    return random.Random(ctx.seed).sample(free, min(wanted, len(free)))


def submit_reports(ctx: BenchContext, rooms: list[int], day: dt.date) -> tuple[list[float], Counter]:
    """Each class's teacher POSTs the day's report (one sick, one unexcused) through the test client."""
    from django.test import Client

    teacher_of = dict(
        Post.objects.active(day)
        .filter(role=Post.Role.CLASS_TEACHER, classroom_id__in=rooms)
        .order_by("-user_id")
        .values_list("classroom_id", "user_id")
    )
    users = User.objects.in_bulk(set(teacher_of.values()))
    pupils: dict[int, list[int]] = {}
    for student_id, classroom_id in (
        Student.objects.filter(classroom_id__in=rooms, status=Student.Status.ENROLLED)
        .order_by("classroom_id", "pk")
        .values_list("pk", "classroom_id")
    ):
        pupils.setdefault(classroom_id, []).append(student_id)

    def client_for(room: int) -> Client:
        client = Client()
        client.force_login(users[teacher_of[room]])
        return client

    # Warm up URL resolving, DRF, scoping and the calendar cache with a refused submit (400, nothing written).
    client_for(rooms[0]).post(
        SUBMIT_URL,
        json.dumps({"classroom": rooms[0], "date": day.isoformat(), "absences": [{"student": -1, "kind": "sick"}]}),
        content_type="application/json",
    )
    seconds: list[float] = []
    statuses: Counter = Counter()
    for room in rooms:
        client = client_for(room)
        first, second = pupils[room][:2]
        body = json.dumps(
            {
                "classroom": room,
                "date": day.isoformat(),
                "absences": [
                    {"student": first, "kind": "sick", "note": "发烧", "family_contacted": True},
                    {"student": second, "kind": "unexcused", "note": "电话未接通"},
                ],
            }
        )
        started = time.perf_counter()
        response = client.post(SUBMIT_URL, body, content_type="application/json")
        seconds.append(time.perf_counter() - started)
        statuses[response.status_code] += 1
        if response.status_code != 201 and statuses[response.status_code] == 1:
            ctx.write(f"   submit for class {room} answered {response.status_code}: {response.content[:300]!r}")
    return seconds, statuses


def bench_attendance(ctx: BenchContext) -> list[BenchResult]:
    """POST /api/v1/attendance/ for 200 unreported classes, evaluation eager vs queued: p95 queued ≤ 300 ms."""
    from celery.signals import after_task_publish

    from config.celery import app

    day = bench_as_of(ctx)
    results: list[BenchResult] = []
    published: Counter = Counter()

    def count_publish(sender=None, **_kwargs):
        published[sender] += 1

    after_task_publish.connect(count_publish, weak=False)
    with clock(day), quiet("celery.app.trace", "django.request", "kombu.connection"):
        rooms = unreported_classes(ctx, day, 2 * SUBMIT_CLASSES)
        half = len(rooms) // 2
        modes = [("eager", "risk evaluated in the request", True, None), ("queued", "task queued", False, 300.0)]
        saved = app.conf.task_always_eager
        errors = 0
        try:
            for (mode, label, eager, target), chunk in zip(modes, (rooms[:half], rooms[half:]), strict=True):
                app.conf.task_always_eager = eager
                seconds, statuses = submit_reports(ctx, chunk, day)
                errors += sum(n for code, n in statuses.items() if code != 201)
                ms = [s * 1000 for s in seconds]
                ctx.write(
                    f"   {mode}: {len(ms)} submits, mean {sum(ms) / len(ms):.1f} ms, max {max(ms):.1f} ms, "
                    f"statuses {dict(statuses)}"
                )
                results += [
                    BenchResult(f"attendance submit p50, {label} (ms)", round(percentile(ms, 50), 1), "ms"),
                    BenchResult(f"attendance submit p95, {label} (ms)", round(percentile(ms, 95), 1), "ms", target),
                ]
        finally:
            app.conf.task_always_eager = saved
            after_task_publish.disconnect(count_publish)
            # No worker will run the queued evaluations. (Nothing is queued when the submits run
            # inside a test's transaction: then leave a shared broker alone.)
            purged = app.control.purge() if published else 0
        ctx.write(
            f"   {sum(published.values())} evaluation tasks queued, {purged} messages purged; "
            f"{len(rooms)} classes submitted"
        )
    results.append(BenchResult("attendance submits not answered 201", errors, "requests", 0))
    return results


def bench_nightly(ctx: BenchContext) -> list[BenchResult]:
    """risk.nightly over the whole county: a re-run over the seed's flags, then cold (no flags): ≤ 60 s each."""
    day = bench_as_of(ctx)
    with clock(day):
        rerun = timed(lambda: risk.nightly(as_of=day))
        flags = RiskFlag.objects.count()
        deleted, _ = RiskFlag.objects.all().delete()
        cold = timed(lambda: risk.nightly(as_of=day))
        ctx.write(f"   {flags} flags before the cold run ({deleted} rows deleted), {RiskFlag.objects.count()} after")
    return [
        BenchResult("nightly rule evaluation, whole county, re-run (s)", round(rerun, 1), "s", 60.0),
        BenchResult("nightly rule evaluation, whole county, cold (s)", round(cold, 1), "s", 60.0),
    ]


def roster_file(classroom, rows: int, seed: int) -> bytes:
    """A 1,000-row roster of new students for one class, as a teacher would fill the template."""
    import io

    from openpyxl import Workbook

    from students.idnumber import make_id_number
    from students.roster import services as roster

    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.append(roster.COLUMNS)
    for i in range(rows):
        born = dt.date(2013, 1, 1) + dt.timedelta(days=i % 365)  # (birth date, sequence) pairs stay unique
        female = rng.random() < 0.5
        number = make_id_number("431299", born, i // 365, female)
        values = {
            roster.CLASSROOM: classroom.name,
            roster.NAME: "测试" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "子丑寅卯辰巳午未申酉"[i // 10 % 10],
            roster.GENDER: "女" if female else "男",
            roster.BIRTH_DATE: born.isoformat(),
            roster.STUDENT_NO: "G" + number,
            roster.ID_NUMBER: number,
            roster.GUARDIAN_NAME: "家长",
            roster.GUARDIAN_RELATION: "父亲",
            roster.GUARDIAN_PHONE: f"139{i:08d}",
        }
        sheet.append([values.get(column, "") for column in roster.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bench_roster(ctx: BenchContext) -> list[BenchResult]:
    """POST /api/v1/students/import/ with a 1,000-row roster, then the same file again: ≤ 10 s each."""
    from django.test import Client

    principal = User.objects.get(username="principal")
    school_id = Post.objects.get(user=principal, role=Post.Role.PRINCIPAL).school_id
    classroom = Classroom.objects.filter(school_id=school_id).order_by("-grade__level", "number").first()
    content = roster_file(classroom, 1000, ctx.seed)
    client = Client()
    client.force_login(principal)

    def upload():
        from django.core.files.uploadedfile import SimpleUploadedFile

        file = SimpleUploadedFile(
            "roster.xlsx", content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = client.post("/api/v1/students/import/", {"file": file})
        if response.status_code != 200:
            raise CommandError(f"roster import answered {response.status_code}: {response.content[:300]!r}")
        return response.json()

    with override_settings(DEBUG=False):
        first = timed(upload)
        again = timed(upload)
    return [
        BenchResult("roster import 1,000 new rows (s)", round(first, 2), "s", 10.0),
        BenchResult("roster re-import 1,000 rows (s)", round(again, 2), "s", 10.0),
    ]


# Sections run in this order; each is (name for --only, function).
BENCHES: list[tuple[str, Callable[[BenchContext], list[BenchResult]]]] = [
    ("seed", bench_seed),
    ("attendance", bench_attendance),
    ("nightly", bench_nightly),
    ("roster", bench_roster),
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

        available = BENCHES + SECTIONS
        selected = available
        if options["only"]:
            unknown = set(options["only"]) - {name for name, _ in available}
            if unknown:
                raise CommandError(f"未知部分 unknown sections: {', '.join(sorted(unknown))}")
            selected = [(name, fn) for name, fn in available if name in options["only"]]

        ctx = BenchContext(
            students=options["students"],
            seed=options["seed"],
            write=write,
            stdout=self.stdout,
            verbosity=verbosity,
        )
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
        self.stdout.write("")
        self.stdout.write(table(["benchmark", "value", "unit", "target", ""], rows))
        failed = [r.name for r in results if r.ok is False]
        if failed:
            raise CommandError(f"超出目标 over target: {', '.join(failed)}")
