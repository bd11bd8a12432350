"""GET /api/v1/compliance/: the compliance metrics per school and per person, with targets and formulas."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from students import scoping
from students.errors import as_id

from . import compliance


class ComplianceView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="2026-W47、2026-11 或 term(本学期至今,默认)"),
            OpenApiParameter("start", OpenApiTypes.DATE, description="开始日期(与 end 同用,代替 period)"),
            OpenApiParameter("end", OpenApiTypes.DATE, description="结束日期"),
            OpenApiParameter("school", int, description="学校编号"),
            OpenApiParameter("person", int, description="责任人(班主任)用户编号"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        params = request.query_params
        start, end = compliance.period_for(
            scoping.scope_for(request.user).home_county_id or _a_county(request.user),
            period=params.get("period", ""),
            start=params.get("start", ""),
            end=params.get("end", ""),
        )
        result = compliance.for_user(
            request.user,
            start,
            end,
            school=as_id(params.get("school"), "学校"),
            person=as_id(params.get("person"), "用户"),
        )
        return Response(result.to_dict())


def _a_county(user) -> int | None:
    return scoping.post_county_ids(user).values_list("county_id", flat=True).first()
