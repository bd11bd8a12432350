"""Attendance and early warning: teachers submitting their class's daily report through the API,
and the nightly rule evaluation over the whole county.

- attendance: 200 classes that have not reported on ``as_of`` each POST their report
  (two absences) through ``django.test.Client``, timed per request. Twice: with Celery eager
  (the class's risk re-evaluation runs inside the request, as with no worker) and with the
  task only queued (REDIS_URL's broker; the messages are purged afterwards).
- nightly: ``risk.nightly`` over the whole county, once as a re-run over the seed's flags and
  once cold after deleting every RiskFlag.
"""

import datetime as dt
import json
import random
import time
from collections import Counter

from students.attendance import risk
from students.models import DailyReport, Post, RiskFlag, Student, User

from .core import BenchContext, BenchResult, bench_as_of, clock, percentile, quiet, timed

SUBMIT_CLASSES = 200  # per mode
SUBMIT_URL = "/api/v1/attendance/"


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
        Post.objects.class_teachers(day)
        .filter(classroom_id__in=rooms)
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

    # One client for every teacher: a new Client builds a new handler, whose middleware (WhiteNoise
    # scanning a collected static/ folder) would be timed with every submit; a server builds it once.
    shared = Client()

    def client_for(room: int) -> Client:
        shared.force_login(users[teacher_of[room]])
        return shared

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
