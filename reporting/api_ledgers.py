"""API v1 for Excel ledgers and the download log. Thin: parse, call reporting.services / selectors, answer.

``GET /api/v1/ledgers/<name>.xlsx`` answers the file (200) or, for a big county-wide export,
202 with the report run that builds it. ``GET /api/v1/downloads/`` lists the download log.
"""

import json
from urllib.parse import quote

import django_filters
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from . import ledgers, selectors, services
from .models import DownloadLog, ReportRun
from .xlsx import XLSX_CONTENT_TYPE


class XlsxRenderer(BaseRenderer):
    """Lets clients ask for the spreadsheet type; errors under it are still JSON bodies."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    ascii_name = "ledger.xlsx"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store"
    return response


def _param(request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def run_summary(run: ReportRun) -> dict:
    """The run building a county-wide ledger, as the 202 answer shows it."""
    return {
        "id": run.pk,
        "kind": run.kind,
        "kind_display": str(run.get_kind_display()),
        "period": run.period,
        "scope_type": run.scope_type,
        "scope_id": run.scope_id,
        "scope": run.scope_name,
        "generation": run.generation,
        "status": run.status,
        "progress": run.progress,
        "row_count": run.row_count,
        "data_as_of": run.data_as_of.isoformat() if run.data_as_of else None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "url": run.get_absolute_url(),
        "file_url": reverse("api-report-file", args=[run.pk]) if run.status == ReportRun.Status.DONE else None,
    }


RunAccepted = inline_serializer(
    "LedgerRunAccepted",
    fields={
        "id": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "kind_display": serializers.CharField(),
        "period": serializers.CharField(),
        "scope_type": serializers.CharField(),
        "scope_id": serializers.IntegerField(),
        "scope": serializers.CharField(),
        "generation": serializers.IntegerField(),
        "status": serializers.CharField(),
        "progress": serializers.IntegerField(),
        "row_count": serializers.IntegerField(),
        "data_as_of": serializers.DateTimeField(allow_null=True),
        "created_at": serializers.DateTimeField(),
        "url": serializers.CharField(),
        "file_url": serializers.CharField(allow_null=True),
    },
)


@extend_schema(
    operation_id="ledger_download",
    summary=(
        "Excel 台账(辍学学生台账 dropouts、疑似辍学学生台账 suspected、劝返清单 returns、适龄儿童少年台账 screening)"
    ),
    description=(
        "The ledger in the caller's scope. Small exports (a school or class, or fewer than ~5,000 rows) are "
        "answered at once; a large county-wide export for the bureau answers 202 with the report run that "
        "builds it (follow `url`, download `file_url` when done). Every download is logged. "
        "`screening` lists the children of one screening run (`run`, default the latest; 404 when no "
        "register has been imported), grouped by household, with a summary sheet per township; "
        "`run`, `township` and `village` apply to it alone."
    ),
    parameters=[
        OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(ledgers.LEDGERS)),
        OpenApiParameter("school", OpenApiTypes.INT, description="只导出该学校"),
        OpenApiParameter("classroom", OpenApiTypes.INT, description="只导出该班级"),
        OpenApiParameter("run", OpenApiTypes.INT, description="screening:排查批次(默认最近一次已完成的)"),
        OpenApiParameter("township", OpenApiTypes.INT, description="screening:只导出该乡镇"),
        OpenApiParameter("village", OpenApiTypes.INT, description="screening:只导出该村(社区)"),
    ],
    responses={
        (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="xlsx 文件"),
        (202, "application/json"): OpenApiResponse(RunAccepted, description="全县台账已转入后台生成"),
        400: OpenApiResponse(description="编号格式错误"),
        404: OpenApiResponse(description="台账、学校、班级、排查批次、乡镇或村不存在或无权查看;尚未导入户籍名单"),
        409: OpenApiResponse(description="该排查批次尚未完成比对"),
    },
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, XlsxRenderer])
def ledger_download(request, name: str):
    ledger = ledgers.LEDGERS.get(name)
    if ledger is None:
        raise NotFound("台账不存在")
    export = services.export_ledger(
        request.user,
        name,
        school=_param(request, "school"),
        classroom=_param(request, "classroom"),
        options={key: _param(request, key) for key in ledger.options},
        request=request,
    )
    if export.run is not None:
        body = run_summary(export.run)
        return Response(body, status=202, headers={"Location": body["url"]})
    return xlsx_response(export.content, export.filename)


# --- download log -----------------------------------------------------------------------------


class DownloadLogFilter(django_filters.FilterSet):
    user = django_filters.NumberFilter(field_name="user_id", label="下载人编号")
    what = django_filters.CharFilter(field_name="what", label="内容(如 ledger_dropouts)")
    date = django_filters.DateFilter(field_name="at", lookup_expr="date", label="日期")
    date_from = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="起始日期")
    date_to = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="截止日期")
    school = django_filters.NumberFilter(field_name="school_id", label="学校编号")

    class Meta:
        model = DownloadLog
        fields = ["user", "what", "date", "date_from", "date_to", "school"]


class DownloadLogOut(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = DownloadLog
        fields = [
            "id",
            "at",
            "user",
            "username",
            "user_name",
            "what",
            "label",
            "params",
            "row_count",
            "run",
            "school_id",
            "county_id",
            "ip_address",
        ]


class DownloadLogList(generics.ListAPIView):
    """The download log: the bureau sees its county's downloads, everyone else their own."""

    serializer_class = DownloadLogOut
    filterset_class = DownloadLogFilter

    def get_queryset(self):
        return selectors.downloads_visible_to(self.request.user).order_by("-at", "-id")
