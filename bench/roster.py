"""Roster import: a principal uploads a 1,000-row .xlsx roster of new students, then the same file again."""

import datetime as dt
import random

from django.core.management.base import CommandError
from django.test.utils import override_settings

from students.models import Classroom, Post, User

from .core import BenchContext, BenchResult, timed


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
