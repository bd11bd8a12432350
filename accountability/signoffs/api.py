"""API v1 of the weekly sign-off chain: thin parsing around :mod:`.services` and :mod:`.selectors`.

``/api/v1/weekly-signoffs/`` lists the rows in scope (filters ``week``, ``school``, ``status``,
``late``); ``sign/`` (the principal: ``{school, week, note}``), ``{id}/receive/`` and ``{id}/return/``
(the bureau: ``{comment}``) move them; ``board/?week=`` is every school's status for one week.
"""

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from students.api_common import parse_input
from students.errors import OutOfScope, as_id

from ..models import WeeklySignoff
from . import selectors, services, weeks

MAX_ID = 2**63 - 1

# --- output -----------------------------------------------------------------------------------


@extend_schema_field(
    {
        # The enum sits inside allOf: a top-level enum named "status" would collide with other apps' status enums.
        "allOf": [{"type": "string", "enum": WeeklySignoff.Status.values}],
        "description": "; ".join(f"{code} {label}" for code, label in WeeklySignoff.Status.choices),
    }
)
class StatusField(serializers.CharField):
    """The status code (an inline enum: the name ``status`` is taken by other apps' enums)."""


class SignoffOut(serializers.ModelSerializer):
    status = StatusField(read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    signed_by_name = serializers.SerializerMethodField()
    received_by_name = serializers.SerializerMethodField()
    late = serializers.BooleanField(read_only=True, help_text="签发或签收逾期")
    on_time = serializers.SerializerMethodField(help_text="按期签发:在签发期限内签发且当前为已签发或已签收")

    class Meta:
        model = WeeklySignoff
        fields = [
            "id",
            "school",
            "school_name",
            "week",
            "week_start",
            "status",
            "status_display",
            "sign_due",
            "signed_by",
            "signed_by_name",
            "signed_at",
            "sign_late",
            "sign_note",
            "received_by",
            "received_by_name",
            "received_at",
            "receive_late",
            "returned_at",
            "return_comment",
            "times_returned",
            "late",
            "on_time",
        ]

    def get_signed_by_name(self, row) -> str:
        return str(row.signed_by) if row.signed_by_id else ""

    def get_received_by_name(self, row) -> str:
        return str(row.received_by) if row.received_by_id else ""

    def get_on_time(self, row) -> bool:
        return selectors.is_on_time(row)


class BoardRowOut(serializers.Serializer):
    school = serializers.IntegerField(source="school.pk")
    school_name = serializers.CharField(source="school.name")
    status = StatusField(help_text="尚无记录的学校为 pending")
    status_display = serializers.CharField()
    sign_due = serializers.DateField()
    late = serializers.BooleanField(help_text="签发或签收逾期")
    overdue = serializers.BooleanField(help_text="待签发(或被退回)且已过签发期限")
    on_time = serializers.BooleanField()
    signoff = SignoffOut(allow_null=True, help_text="签发记录(尚无记录时为空)")


class BoardOut(serializers.Serializer):
    week = serializers.CharField()
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    counts = inline_serializer(
        "SignoffBoardCounts",
        {
            name: serializers.IntegerField()
            for name in ("total", "pending", "signed", "received", "returned", "on_time", "late", "overdue")
        },
    )
    schools = BoardRowOut(many=True, source="rows")


# --- input ------------------------------------------------------------------------------------


class SignoffSignIn(serializers.Serializer):
    school = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    week = serializers.CharField(max_length=20, help_text="ISO 周,如 2026-W47")
    note = serializers.CharField(required=False, allow_blank=True, help_text="签发意见(选填)")


class SignoffReturnIn(serializers.Serializer):
    comment = serializers.CharField(help_text="退回意见(必填)")


# --- views ------------------------------------------------------------------------------------


class SignoffFilter(django_filters.FilterSet):
    week = django_filters.CharFilter(method="by_week", help_text="ISO 周,如 2026-W47")
    school = django_filters.CharFilter(method="by_school", help_text="学校编号")
    status = django_filters.ChoiceFilter(choices=WeeklySignoff.Status.choices)
    late = django_filters.BooleanFilter(method="by_late", help_text="有逾期标记(签发或签收逾期)")

    class Meta:
        model = WeeklySignoff
        fields = ["week", "school", "status", "late"]

    def by_week(self, queryset, name, value):
        return queryset.filter(week=weeks.parse_week(value)[0]) if value else queryset

    def by_school(self, queryset, name, value):
        school_id = as_id(value, "学校")
        return queryset if school_id is None else queryset.filter(school_id=school_id)

    def by_late(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(selectors.LATE_MARK_Q) if value else queryset.exclude(selectors.LATE_MARK_Q)


class WeeklySignoffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = SignoffFilter
    serializer_class = SignoffOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return WeeklySignoff.objects.none()
        return selectors.signoff_list(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A row the user cannot see is not found, whatever the body says: scope before input.
        posted = self.detail and kwargs.get("pk") and request.method == "POST"
        if posted and not selectors.signoffs_visible_to(request.user).filter(pk=kwargs["pk"]).exists():
            raise OutOfScope("周报签发记录不存在或您无权查看")

    def _answer(self, signoff_id):
        return Response(SignoffOut(selectors.signoff_detail(self.request.user, signoff_id)).data)

    @extend_schema(request=SignoffSignIn, responses=SignoffOut)
    @action(detail=False, methods=["post"])
    def sign(self, request):
        """The principal signs the school's week (creates the row, or signs a returned week again)."""
        data = parse_input(SignoffSignIn, request.data)
        row = services.sign_week(
            user=request.user, school_id=data["school"], week=data["week"], note=data.get("note", "")
        )
        return self._answer(row.pk)

    @extend_schema(request=None, responses=SignoffOut)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        """The bureau receives a signed week."""
        return self._answer(services.receive_week(user=request.user, signoff_id=pk).pk)

    @extend_schema(request=SignoffReturnIn, responses=SignoffOut)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        """The bureau returns a signed week with its comment; the school signs again."""
        data = parse_input(SignoffReturnIn, request.data)
        return self._answer(services.return_week(user=request.user, signoff_id=pk, comment=data["comment"]).pk)

    @extend_schema(
        parameters=[
            OpenApiParameter("week", OpenApiTypes.STR, description="ISO 周,如 2026-W47;默认为最近已结束的一周")
        ],
        responses=BoardOut,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def board(self, request):
        """Every school in scope with its status for one week, and the counts."""
        week = request.query_params.get("week") or weeks.last_finished_week(timezone.localdate())
        return Response(BoardOut(selectors.week_board(request.user, week)).data)
