"""The household-register import (排查摸底) against a bare openpyxl read + bulk insert of the same file.

The register: REGISTER_ROWS school-age children of the bench county (its students by their 身份证号,
then children no school enrols), one row each, written as the demo writes its register
(casework/screening/demo.py: an .xlsx with shared strings, as Excel saves one).

- bare: openpyxl's read-only reader over the same file (every row's values), then the same rows
  (row number + the 13 cells as text) into a scratch table, a multi-row INSERT per 2,000 rows;
- import: ``services.start_import`` as ``bureau`` + ``services.execute_import`` inline (keeping the
  file, reading it, checking every row, comparing with 学籍 and attendance, writing the children),
  split into its read / check / compare / write steps by timing the functions it calls.

Throughput ratio = bare seconds ÷ import seconds (target ≥ 0.5 on a full-size county). Runs
alternate (bare, import) and the best of each is kept. The import's run, its children and its file
are deleted afterwards, and the table vacuumed, so that nothing is left for later sections.
"""

import contextlib
import io
import random
import time

from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from openpyxl import load_workbook

from casework.models import ScreenedChild, ScreeningRun
from casework.screening import demo, matching, register, services
from students.models import County, User

from .core import FULL_SIZE, BenchContext, BenchResult, clock, full_size_target, seed_day, vacuum

REGISTER_ROWS = 100_000
SMALL_ROWS = 2_000  # a small bench (the test suite's) stays quick
SCRATCH = "bench_register_rows"
BATCH = 2000


def register_file(county: County, rows: int, seed: int) -> bytes:
    """The bench's register: ``rows`` children of ``county`` as an .xlsx."""
    return demo.register_xlsx(demo.RegisterBuilder(county, random.Random(seed)).children_only(rows))


def bare_import(content: bytes) -> int:
    """openpyxl read-only read of the file, then its rows into a scratch table; the number of rows."""
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = [(number, *values) for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()
    rows = rows[1:]  # the header
    width = len(register.COLUMNS)
    columns = ", ".join(["row_number", *(f"c{i}" for i in range(width))])
    one = "(" + ", ".join(["%s"] * (width + 1)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        text = ", ".join(f"c{i} varchar(200)" for i in range(width))
        cursor.execute(f"CREATE TABLE {SCRATCH} (row_number integer, {text})")
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            params = [value for row in batch for value in (*row, *[None] * (width + 1 - len(row)))]
            cursor.execute(f"INSERT INTO {SCRATCH} ({columns}) VALUES {', '.join([one] * len(batch))}", params)
        cursor.execute(f"SELECT count(*) FROM {SCRATCH}")
        count = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {SCRATCH}")
    return count


@contextlib.contextmanager
def steps_timed(timings: dict[str, float]):
    """The import's steps timed where it calls them: register.read_rows, register.check_rows,
    matching.compare (with the students and attendance it loads before), services.write_children."""
    wrapped = [
        (register, "read_rows", "read"),
        (register, "check_rows", "check"),
        (matching, "load_students", "compare"),
        (matching.Attendance, "load", "compare"),
        (matching, "compare", "compare"),
        (services, "write_children", "write"),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in wrapped]

    def timing(func, step):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timings[step] = timings.get(step, 0.0) + time.perf_counter() - started

        return timed

    for owner, name, step in wrapped:
        original = getattr(owner, name)
        setattr(owner, name, classmethod(timing(original.__func__, step)) if name == "load" else timing(original, step))
    try:
        yield timings
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def real_import(content: bytes, bureau: User) -> tuple[ScreeningRun, dict[str, float]]:
    """start_import + execute_import, inline: Celery eager for the duration (the job runs as start_import's
    commit queues it, through the task; a broker would keep a message for a run the bench deletes)."""
    timings: dict[str, float] = {}
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        with steps_timed(timings):
            upload = SimpleUploadedFile("bench户籍名单.xlsx", content, content_type="application/octet-stream")
            run = services.start_import(user=bureau, upload=upload, title="bench 户籍比对")
            run = services.execute_import(run.pk)
    finally:
        current_app.conf.task_always_eager = eager
    if run.status != ScreeningRun.Status.DONE:
        raise CommandError(f"bench register import {run.status}: {run.error} {run.errors[:3]}")
    return run, timings


def forget(run: ScreeningRun) -> None:
    """The bench's run, its children (one DELETE, not the ORM's row-by-row cascade) and its file."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ScreenedChild._meta.db_table} WHERE run_id = %s", [run.pk])
    name = run.file.name
    ScreeningRun.objects.filter(pk=run.pk).delete()
    if name:
        run.file.storage.delete(name)


def bench_screening(ctx: BenchContext) -> list[BenchResult]:
    """A REGISTER_ROWS-row register: the real import's throughput ≥ 0.5 × a bare openpyxl read + bulk insert."""
    county = County.objects.get()
    bureau = User.objects.get(username="bureau")
    full = ctx.students >= FULL_SIZE
    rows = REGISTER_ROWS if full else SMALL_ROWS
    repeat = 2 if full else 1
    bare_times, real_times, splits = [], [], []
    with clock(seed_day(ctx)), override_settings(DEBUG=False):
        started = time.perf_counter()
        content = register_file(county, rows, ctx.seed)
        ctx.write(
            f"   register: {rows:,} rows, {len(content) / 1048576:.1f} MB ({time.perf_counter() - started:.1f} s)"
        )
        for _ in range(repeat):
            started = time.perf_counter()
            written = bare_import(content)
            bare_times.append(time.perf_counter() - started)
            if written != rows:
                raise CommandError(f"bare import wrote {written} rows, not {rows}")
            started = time.perf_counter()
            run, split = real_import(content, bureau)
            real_times.append(time.perf_counter() - started)
            splits.append(split)
            children = run.counts["register_rows"]
            forget(run)
            if children != rows:
                raise CommandError(f"the import read {children} rows, not {rows}")
            vacuum(ScreenedChild)  # the deleted rows must not slow the next run or later sections
    bare, real = min(bare_times), min(real_times)
    split = splits[real_times.index(real)]
    ratio = bare / real
    ctx.write(
        "   import steps: "
        + ", ".join(f"{step} {split.get(step, 0.0):.1f} s" for step in ("read", "check", "compare", "write"))
        + f"; bare ÷ import per pair {[round(b / r, 2) for b, r in zip(bare_times, real_times, strict=True)]}"
    )
    return [
        BenchResult(f"register import {rows:,} rows (s)", round(real, 1), "s"),
        BenchResult("register import throughput", round(rows / real), "rows/s"),
        BenchResult(f"bare openpyxl read + bulk insert {rows:,} rows (s)", round(bare, 1), "s"),
        BenchResult("bare read + insert throughput", round(rows / bare), "rows/s"),
        *(
            BenchResult(f"register import: {step} (s)", round(split.get(step, 0.0), 1), "s")
            for step in ("read", "check", "compare", "write")
        ),
        BenchResult(
            "register import throughput ÷ bare read + insert",
            round(ratio, 2),
            "×",
            full_size_target(ctx, 0.5),
            at_least=True,
        ),
    ]
