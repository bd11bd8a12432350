"""The bare yardstick: the attendance write on the project's own tables, with nothing around it.

A DRF ``APIView`` with a serializer, no authentication, permissions, scoping, calendar check,
revision or Celery task: one SELECT checks that the classroom exists and every listed student is
enrolled in it (and counts the enrolled, which DailyReport needs), one
``INSERT … ON CONFLICT (classroom_id, date) DO UPDATE … RETURNING`` upserts the report, then the
absences are replaced (DELETE + bulk INSERT), in one transaction — the write of the reference app
in /work/shared/ceiling (app/att/service.py), on ``students_dailyreport`` and ``students_absence``.

``make load`` drives it side by side with POST /api/v1/attendance/ in the same gunicorn: the
ratio of the two rates is the price of everything the project does besides the write. It is
routed only by :mod:`bench.load.urls` (settings :mod:`bench.load.settings`), never in production.
"""

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from students.models import Absence, AbsenceKind, Classroom, DailyReport, Student

BARE_PATH = "/load/bare/attendance/"
MAX_ABSENCES = 60

_UPSERT = """
INSERT INTO {t} (classroom_id, school_id, date, version, enrolled_count, present_count, submitted_by_id, submitted_at)
VALUES (%s, %s, %s, 1, %s, %s, %s, %s)
ON CONFLICT (classroom_id, date) DO UPDATE SET
    version = {t}.version + 1,
    enrolled_count = EXCLUDED.enrolled_count,
    present_count = EXCLUDED.present_count,
    submitted_by_id = EXCLUDED.submitted_by_id,
    submitted_at = EXCLUDED.submitted_at
RETURNING id, version
"""


class Invalid(Exception):
    pass


def bare_submit(
    *, classroom_id: int, day: dt.date, absences: list[tuple[int, str, str]], submitted_by: int
) -> tuple[int, int]:
    """Upsert the class's report for ``day`` and replace its absences; (report id, version). Raises Invalid."""
    student_ids = [s for s, _kind, _note in absences]
    enrolled_q = Q(students__status=Student.Status.ENROLLED)
    with transaction.atomic():
        row = (
            Classroom.objects.filter(pk=classroom_id)
            .annotate(
                enrolled=Count("students", filter=enrolled_q),
                listed=Count("students", filter=enrolled_q & Q(students__pk__in=student_ids)),
            )
            .values_list("school_id", "enrolled", "listed")
            .first()
        )
        if row is None:
            raise Invalid("unknown classroom")
        school_id, enrolled, listed = row
        if listed != len(student_ids):
            raise Invalid("student(s) not enrolled in the classroom")
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT.format(t=DailyReport._meta.db_table),
                [classroom_id, school_id, day, enrolled, enrolled - len(absences), submitted_by, timezone.now()],
            )
            report_id, version = cursor.fetchone()
        Absence.objects.filter(report_id=report_id).delete()
        if absences:
            Absence.objects.bulk_create(
                Absence(report_id=report_id, student_id=s, date=day, kind=kind, note=note) for s, kind, note in absences
            )
    return report_id, version


class AbsenceIn(serializers.Serializer):
    student = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=AbsenceKind.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class BareReportIn(serializers.Serializer):
    classroom = serializers.IntegerField(min_value=1)
    date = serializers.DateField()
    submitted_by = serializers.IntegerField(min_value=1)  # a user id: there is no authentication
    absences = AbsenceIn(many=True, required=False, default=list, max_length=MAX_ABSENCES)

    def validate_absences(self, value):
        ids = [a["student"] for a in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("duplicate student")
        return value


class BareAttendance(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        ser = BareReportIn(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        absences = [(a["student"], a["kind"], a["note"]) for a in data["absences"]]
        try:
            report_id, version = bare_submit(
                classroom_id=data["classroom"], day=data["date"], absences=absences, submitted_by=data["submitted_by"]
            )
        except Invalid as exc:
            return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "report": report_id,
                "classroom": data["classroom"],
                "date": data["date"].isoformat(),
                "version": version,
                "absences": len(absences),
            },
            status=status.HTTP_201_CREATED,
        )
