"""GET /api/v1/appraisals/ (JSON) and /api/v1/appraisals.xlsx: the appraisal of a term or school year."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from students import scoping
from students.errors import InvalidInput, OutOfScope, as_id
from students.models import SchoolYear, Term

from . import appraisal, services
from .api_ledgers import xlsx_response

PARAMETERS = [
    OpenApiParameter("term", int, description="学期编号(默认本学期)"),
    OpenApiParameter("school_year", int, description="学年编号(代替 term:全学年)"),
    OpenApiParameter("school", int, description="学校编号"),
]


def appraisal_period(user, params) -> tuple[dt.date, dt.date, str]:
    """The term or school year asked for, in a county the user works in; up to today when it is running."""
    counties = scoping.post_county_ids(user)
    today = timezone.localdate()
    if not counties.exists():  # no post in any county: nothing to appraise (answered empty)
        return today, today, ""
    year_id, term_id = as_id(params.get("school_year"), "学年"), as_id(params.get("term"), "学期")
    if year_id:
        year = SchoolYear.objects.filter(pk=year_id, county_id__in=counties).first()
        if year is None:
            raise OutOfScope("学年不存在")
        return year.start_date, min(year.end_date, today), f"{year.name}学年"
    terms = Term.objects.filter(school_year__county_id__in=counties).select_related("school_year")
    term = (
        terms.filter(pk=term_id).first()
        if term_id
        else terms.filter(start_date__lte=today).order_by("-start_date").first()
    )
    if term is None:
        if term_id:
            raise OutOfScope("学期不存在")
        raise InvalidInput("本县尚未设置学期,请先在校历中添加学年和学期")
    return term.start_date, min(term.end_date, today), f"{term.school_year.name} {term.name}"


class AppraisalView(APIView):
    @extend_schema(parameters=PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        start, end, label = appraisal_period(request.user, request.query_params)
        school = as_id(request.query_params.get("school"), "学校")
        return Response(appraisal.for_user(request.user, start, end, label=label, school=school).to_dict())


class AppraisalXlsxView(APIView):
    @extend_schema(
        parameters=PARAMETERS,
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        start, end, label = appraisal_period(request.user, request.query_params)
        school = as_id(request.query_params.get("school"), "学校")
        found = appraisal.for_user(request.user, start, end, label=label, school=school)
        if not found.schools and not found.people:
            raise OutOfScope("没有可下载的考核")
        content = appraisal.workbook(found, scope_name=scoping.scope_name(request.user), exported_by=str(request.user))
        services.log_download(
            request.user,
            what="appraisal",
            label=f"控辍保学考核 {label}",
            row_count=len(found.schools) + len(found.people),
            params={k: v for k, v in request.query_params.items() if k in ("term", "school_year", "school")},
            request=request,
        )
        return xlsx_response(content, f"控辍保学考核-{label}.xlsx")
