"""API v1 for weekly / monthly reports: list, detail, file, generate, sign. Scoped like the pages.

A run outside the caller's scope does not exist for them (404). Generating answers 202 with the
run: a new one queued for a worker, or the existing run for the same kind × period × scope.
"""

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from students.api_common import parse_input
from students.errors import InvalidTransition

from . import selectors, services
from .models import ReportRun
from .periods import PERIODIC
from .views_reports import file_response

# --- output ------------------------------------------------------------------------------------


class SignatureOut(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    user_name = serializers.CharField(source="user.__str__")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class RunOut(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    scope = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField()

    class Meta:
        model = ReportRun
        fields = [
            "id",
            "kind",
            "kind_display",
            "period",
            "scope_type",
            "scope_id",
            "scope_name",
            "scope",
            "generation",
            "status",
            "status_display",
            "progress",
            "data_as_of",
            "checksum",
            "row_count",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "file_url",
            "page_url",
            "signature",
        ]

    def get_scope(self, run) -> dict:
        return {"type": run.scope_type, "id": run.scope_id, "name": run.scope_name}

    def get_file_url(self, run) -> str | None:
        if run.status != ReportRun.Status.DONE or not run.file:
            return None
        url = reverse("api-report-file", args=[run.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_page_url(self, run) -> str:
        return reverse("report-detail", args=[run.pk])

    def get_signature(self, run) -> dict | None:
        signature = getattr(run, "signature", None)  # RelatedObjectDoesNotExist is an AttributeError
        return SignatureOut(signature).data if signature else None


class RunDetailOut(RunOut):
    data = serializers.JSONField(read_only=True)

    class Meta(RunOut.Meta):
        fields = [*RunOut.Meta.fields, "data"]


# --- input -------------------------------------------------------------------------------------


class GenerateIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, v) for k, v in ReportRun.Kind.choices if k in PERIODIC])
    period = serializers.CharField(help_text="周报 2026-W47,月报 2026-11")
    scope = serializers.IntegerField(
        required=False, allow_null=True, help_text="班级、学校或县的编号;省略时取本人唯一的范围"
    )
    scope_type = serializers.ChoiceField(choices=ReportRun.ScopeType.choices, required=False, allow_blank=True)
    regenerate = serializers.BooleanField(required=False, default=False)


class SignIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


# --- views -------------------------------------------------------------------------------------


class RunFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReportRun.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ReportRun.Status.choices)
    scope_type = django_filters.ChoiceFilter(choices=ReportRun.ScopeType.choices)
    scope_id = django_filters.NumberFilter()
    period = django_filters.CharFilter()

    class Meta:
        model = ReportRun
        fields = ["kind", "status", "scope_type", "scope_id", "period"]


class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = RunFilter

    def get_queryset(self):
        return (
            selectors.runs_visible_to(self.request.user)
            .select_related("signature__user")
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self):
        return RunOut if self.action == "list" else RunDetailOut

    def _answer(self, run_id, code=status.HTTP_200_OK) -> Response:
        run = self.get_queryset().get(pk=run_id)
        return Response(RunDetailOut(run, context={"request": self.request}).data, status=code)

    @extend_schema(request=GenerateIn, responses={202: RunDetailOut})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """Queue a report (or answer with the existing run for the same kind, period and scope)."""
        data = parse_input(GenerateIn, request.data)
        run, _created = services.request_run(
            user=request.user,
            kind=data["kind"],
            period=data["period"],
            scope_type=data.get("scope_type") or "",
            scope_id=data.get("scope"),
            regenerate=data.get("regenerate", False),
        )
        return self._answer(run.pk, status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The .xlsx of a finished run; the download is logged."""
        run = self.get_object()
        if run.status != ReportRun.Status.DONE or not run.file:
            raise InvalidTransition("报表尚未生成完成")
        return file_response(request, run)

    @extend_schema(request=SignIn, responses={201: RunDetailOut})
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """The principal signs off a finished school weekly report of their school (once)."""
        data = parse_input(SignIn, request.data)
        services.sign_run(user=request.user, run_id=pk, note=data.get("note", ""))
        return self._answer(pk, status.HTTP_201_CREATED)
