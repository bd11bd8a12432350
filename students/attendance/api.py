"""API v1 for daily attendance and risk flags. Thin: parse, call a service or selector, answer."""

import datetime as dt

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from students.api_common import parse_input
from students.attendance import risk
from students.attendance import services as attendance
from students.attendance.selectors import missing_reports, reports_visible_to
from students.errors import InvalidInput
from students.models import DailyReport, RiskFlag


def parse_date(value, *, field: str = "date", default: dt.date | None = None) -> dt.date:
    if not value:
        if default is not None:
            return default
        raise InvalidInput(f"缺少日期参数 {field}(格式 YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"日期格式错误:{value}(应为 YYYY-MM-DD)") from exc


class AbsenceIn(serializers.Serializer):
    student = serializers.IntegerField()
    kind = serializers.CharField(help_text="sick 病假, personal 事假, unexcused 旷课, unknown 不明")
    note = serializers.CharField(required=False, allow_blank=True)
    family_contacted = serializers.BooleanField(required=False)


# What the submit parses with DRF; the absences are checked by attendance.parse_absences.
class ReportHead(serializers.Serializer):
    classroom = serializers.IntegerField()
    date = serializers.DateField()
    version = serializers.IntegerField(required=False, allow_null=True)
    submitted_as = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="填报人的用户编号:与当前登录账号不符时拒绝(403)。离线考勤页发送本机保存的考勤时带上,"
        "以免共用手机时以另一账号提交。 The user id the report was taken as (the offline outbox sends it): "
        "refused with 403 unless it is the signed-in user.",
    )


# The submit's body as the API schema documents it.
class ReportIn(ReportHead):
    absences = AbsenceIn(many=True, required=False)


class AbsenceOut(serializers.Serializer):
    student = serializers.IntegerField(source="student_id")
    student_name = serializers.CharField(source="student.name")
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    note = serializers.CharField()
    family_contacted = serializers.BooleanField()


def _label(field: str):
    return DailyReport._meta.get_field(field).verbose_name


# Declared field by field, not a ModelSerializer: the attendance submit answers with it, and building
# a ModelSerializer's fields from the model on every request was a tenth of the submit's time under load.
class ReportOut(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    classroom = serializers.IntegerField(source="classroom_id", read_only=True, label=_label("classroom"))
    school = serializers.IntegerField(source="school_id", read_only=True, label=_label("school"))
    date = serializers.DateField(read_only=True, label=_label("date"))
    version = serializers.IntegerField(read_only=True, label=_label("version"))
    enrolled_count = serializers.IntegerField(read_only=True, label=_label("enrolled_count"))
    present_count = serializers.IntegerField(read_only=True, label=_label("present_count"))
    absent_count = serializers.IntegerField(read_only=True)
    submitted_by = serializers.IntegerField(source="submitted_by_id", read_only=True, label=_label("submitted_by"))
    submitted_by_name = serializers.CharField(source="submitted_by.__str__", read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, label=_label("submitted_at"))
    absences = serializers.SerializerMethodField()

    @extend_schema_field(AbsenceOut(many=True))
    def get_absences(self, report: DailyReport) -> list:
        """The report's absences as AbsenceOut writes them (a test holds the two equal), built directly:
        a nested serializer per answer cost more than the rest of it. A submit's answer passes the rows
        it wrote in the context."""
        rows = self.context.get("absences")
        return [
            {
                "student": a.student_id,
                "student_name": a.student.name,
                "kind": a.kind,
                "kind_display": str(a.get_kind_display()),
                "note": a.note,
                "family_contacted": a.family_contacted,
            }
            for a in (report.absences.all() if rows is None else rows)
        ]


class ReportFilter(django_filters.FilterSet):
    classroom = django_filters.NumberFilter(field_name="classroom_id")
    school = django_filters.NumberFilter(field_name="school_id")
    date = django_filters.DateFilter()
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = DailyReport
        fields = ["classroom", "school", "date"]


class AttendanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReportOut
    filterset_class = ReportFilter

    def get_queryset(self):
        return reports_visible_to(self.request.user)

    @extend_schema(request=ReportIn, responses={201: ReportOut, 200: ReportOut})
    def create(self, request):
        data = parse_input(ReportHead, request.data)
        if data.get("submitted_as") not in (None, request.user.pk):
            raise PermissionDenied("这份考勤是另一账号在本机离线记录的,不能以当前账号提交;请该老师登录后发送")
        result = attendance.submit_daily_report(
            user=request.user,
            classroom_id=data["classroom"],
            day=data["date"],
            absences=attendance.parse_absences(request.data.get("absences") or []),
            version=data.get("version"),
        )
        # A new version is answered from what was just written; a retry reads the report it repeated.
        if result.absences is not None:
            answer = ReportOut(result.report, context={"absences": result.absences})
        else:
            answer = ReportOut(reports_visible_to(request.user).get(pk=result.report.pk))
        return Response(answer.data, status=status.HTTP_201_CREATED if result.created else 200)

    @extend_schema(
        responses=inline_serializer(
            "MissingReports",
            {"date": serializers.DateField(), "count": serializers.IntegerField(), "results": serializers.ListField()},
        )
    )
    @action(detail=False, methods=["get"])
    def missing(self, request):
        day = parse_date(request.query_params.get("date"), default=timezone.localdate())
        classes = missing_reports(request.user, day, school=request.query_params.get("school"))
        return Response(
            {
                "date": day.isoformat(),
                "count": len(classes),
                "results": [
                    {"id": c.pk, "name": c.name, "school": c.school_id, "school_name": c.school.name} for c in classes
                ],
            }
        )


class FlagOut(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    classroom = serializers.IntegerField(source="student.classroom_id", read_only=True)
    school = serializers.IntegerField(source="student.school_id", read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    explanation = serializers.SerializerMethodField()

    class Meta:
        model = RiskFlag
        fields = [
            "id",
            "student",
            "student_name",
            "classroom",
            "school",
            "rule_code",
            "rule_version",
            "category",
            "level",
            "level_display",
            "status",
            "status_display",
            "evidence",
            "evidence_text",
            "explanation",
            "raised_at",
            "raised_by",
            "handled_at",
            "handled_by",
            "handling_note",
        ]

    def get_explanation(self, flag: RiskFlag) -> str:
        params = (flag.evidence or {}).get("params")
        return risk.explain(flag.rule_code, params) if params else flag.get_category_display()


class FlagFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=RiskFlag.Level.choices)
    status = django_filters.ChoiceFilter(choices=RiskFlag.Status.choices)
    school = django_filters.NumberFilter(field_name="student__school_id")
    classroom = django_filters.NumberFilter(field_name="student__classroom_id")
    student = django_filters.NumberFilter(field_name="student_id")
    rule_code = django_filters.CharFilter()

    class Meta:
        model = RiskFlag
        fields = ["level", "status", "school", "classroom", "student", "rule_code"]


class FlagIn(serializers.Serializer):
    student = serializers.IntegerField()
    category = serializers.ChoiceField(choices=RiskFlag.Category.choices)
    level = serializers.ChoiceField(choices=RiskFlag.Level.choices)
    note = serializers.CharField()


class HandleIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="note 的别名 / alias of note")


class RiskFlagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = FlagOut
    filterset_class = FlagFilter

    def get_queryset(self):
        return risk.flags_visible_to(self.request.user).select_related("student").order_by("-raised_at", "-id")

    @extend_schema(request=FlagIn, responses={201: FlagOut})
    def create(self, request):
        data = parse_input(FlagIn, request.data)
        flag = risk.raise_manual_flag(
            user=request.user,
            student_id=data["student"],
            category=data["category"],
            level=data["level"],
            note=data["note"],
        )
        return Response(FlagOut(flag).data, status=status.HTTP_201_CREATED)

    def _handle(self, request, pk, action_name):
        data = parse_input(HandleIn, request.data)
        note = data.get("note") or data.get("reason") or ""
        flag = risk.handle_flag(user=request.user, flag_id=pk, action=action_name, note=note)
        return Response(FlagOut(flag).data)

    @extend_schema(request=HandleIn, responses=FlagOut)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._handle(request, pk, "acknowledge")

    @extend_schema(request=HandleIn, responses=FlagOut)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._handle(request, pk, "resolve")

    @extend_schema(request=HandleIn, responses=FlagOut)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._handle(request, pk, "dismiss")
