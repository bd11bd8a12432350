"""API v1 for 目标责任书: thin parsing around :mod:`.services`, scoped like the pages (:mod:`.selectors`).

- ``/api/v1/pledges/`` list (filters ``school``, ``term``, ``kind``, ``signed``) / retrieve / create;
- ``POST /api/v1/pledges/{id}/scan/`` multipart ``file`` (PDF or JPG) + ``signed_on``; ``GET`` the same
  path streams the scan (attachment, never cached) to those who see the pledge, 404 to anyone else;
- ``GET /api/v1/pledges/unsigned/?term=&school=``: who has not signed for the term;
- ``/api/v1/pledge-templates/`` (+ ``/{kind}/``): the bureau's printable texts, list / read / update.

A pledge the caller cannot see does not exist for them (404), for reading, for its scan and for
its actions, whatever the body says: scope before input. Creating exists for those who may write
some pledge (bureau, school leaders, class teachers); the templates for the bureau only.
"""

import django_filters
from django.urls import reverse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from students import scoping
from students.api_common import parse_input
from students.errors import InvalidInput, OutOfScope, as_id

from ..models import Pledge, PledgeTemplate
from ..models.pledges import PledgeKind
from . import documents, selectors, services
from .views import scan_response

MAX_ID = 2**63 - 1
K = PledgeKind
NOT_FOR_YOU = "您的岗位不能登记责任书"
KIND_HELP = "; ".join(f"{code} {label}" for code, label in K.choices)


@extend_schema_field(
    {
        # Inside allOf: a top-level enum named "kind" would collide with other apps' kind enums.
        "allOf": [{"type": "string", "enum": K.values}],
        "description": KIND_HELP,
    }
)
class PledgeKindField(serializers.CharField):
    """The kind code (an inline enum: the name ``kind`` is taken by other apps' enums)."""


# --- output -----------------------------------------------------------------------------------


def _url(request, path: str) -> str:
    return request.build_absolute_uri(path) if request else path


class PledgeOut(serializers.ModelSerializer):
    kind = PledgeKindField(read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    term_name = serializers.CharField(source="term.__str__", read_only=True)
    party_a_name = serializers.CharField(source="party_a.__str__", read_only=True)
    party_b_name = serializers.SerializerMethodField()
    student_name = serializers.SerializerMethodField()
    signed = serializers.SerializerMethodField(help_text="已签订:有签订日期且已上传签字扫描件")
    scan_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    print_url = serializers.SerializerMethodField()

    class Meta:
        model = Pledge
        fields = [
            "id",
            "county",
            "school",
            "school_name",
            "term",
            "term_name",
            "kind",
            "kind_display",
            "party_a",
            "party_a_name",
            "party_b",
            "party_b_name",
            "student",
            "student_name",
            "guardian_name",
            "targets",
            "signed_on",
            "signed",
            "scan_name",
            "scan_size",
            "scan_sha256",
            "scan_url",
            "created_by",
            "created_at",
            "page_url",
            "print_url",
        ]

    def get_party_b_name(self, pledge) -> str:
        return str(pledge.party_b) if pledge.party_b_id else ""

    def get_student_name(self, pledge) -> str:
        return pledge.student.name if pledge.student_id else ""

    def get_signed(self, pledge) -> bool:
        return selectors.is_signed(pledge)

    def get_scan_url(self, pledge) -> str | None:
        if not pledge.scan:
            return None
        return _url(self.context.get("request"), reverse("api-pledge-scan", args=[pledge.pk]))

    def get_page_url(self, pledge) -> str:
        return reverse("accountability:pledge", args=[pledge.pk])

    def get_print_url(self, pledge) -> str:
        return reverse("accountability:pledge-print", args=[pledge.pk])


class UnsignedOut(serializers.Serializer):
    school = serializers.IntegerField(source="school.pk")
    school_name = serializers.CharField(source="school.name")
    kind = PledgeKindField()
    kind_display = serializers.CharField(source="kind_label")
    post = serializers.CharField(source="post_label", help_text="校长、班主任或任课教师")
    person = serializers.IntegerField(source="person.pk")
    person_name = serializers.CharField(source="person.__str__")
    classrooms = serializers.ListField(child=serializers.CharField())
    pledge = serializers.IntegerField(source="pledge_id", allow_null=True, help_text="已登记未签订的责任书编号")
    link = serializers.CharField(help_text="登记或上传签字扫描件的页面;无权办理时为空")


UnsignedPage = inline_serializer(
    "PledgeUnsignedPage",
    {
        "term": serializers.IntegerField(),
        "term_name": serializers.CharField(),
        "count": serializers.IntegerField(),
        "results": UnsignedOut(many=True),
    },
)


class PledgeTemplateOut(serializers.Serializer):
    county = serializers.IntegerField()
    kind = PledgeKindField()
    kind_display = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    custom = serializers.BooleanField(help_text="true:本县已自定义;false:系统默认文本")
    updated_by = serializers.IntegerField(allow_null=True)
    updated_by_name = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


TemplatePage = inline_serializer(
    "PledgeTemplatePage",
    {
        "county": serializers.IntegerField(),
        "placeholders": serializers.DictField(child=serializers.CharField()),
        "results": PledgeTemplateOut(many=True),
    },
)


def template_data(county_id: int, kind: str, row: PledgeTemplate | None) -> dict:
    title, body = (row.title, row.body) if row else documents.DEFAULT_TEMPLATES[kind]
    return {
        "county": county_id,
        "kind": kind,
        "kind_display": str(K(kind).label),
        "title": title,
        "body": body,
        "custom": row is not None,
        "updated_by": row.updated_by_id if row else None,
        "updated_by_name": str(row.updated_by) if row else "",
        "updated_at": row.updated_at if row else None,
    }


# --- input ------------------------------------------------------------------------------------


class PledgeIn(serializers.Serializer):
    kind = PledgeKindField(help_text=KIND_HELP)
    school = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    term = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="学期编号(本县的学期)")
    party_a = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="甲方(用户编号)")
    party_b = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="乙方(用户编号);学校—家长责任书不填"
    )
    student = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="学生编号(仅学校—家长责任书)"
    )
    guardian_name = serializers.CharField(required=False, allow_blank=True, help_text="家长姓名(仅学校—家长责任书)")
    targets = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="责任目标,每项一句;省略时按类别默认"
    )


class PledgeScanIn(serializers.Serializer):
    signed_on = serializers.DateField(required=False, allow_null=True, help_text="签订日期(必填,不能晚于今天)")


class PledgeScanUpload(PledgeScanIn):
    """The multipart form (documentation of the request; the file goes to the service unparsed)."""

    file = serializers.FileField(help_text="签字扫描件:PDF 或 JPG,不超过 5 MB")


class PledgeTemplateIn(serializers.Serializer):
    county = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="县(区)编号;省略时为本人所在县"
    )
    title = serializers.CharField(required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, help_text="正文;占位符见列表的 placeholders")


# --- pledges ----------------------------------------------------------------------------------


class PledgeFilter(django_filters.FilterSet):
    school = django_filters.CharFilter(method="by_id", help_text="学校编号")
    term = django_filters.CharFilter(method="by_id", help_text="学期编号")
    kind = django_filters.CharFilter(method="by_kind", help_text=KIND_HELP)
    signed = django_filters.BooleanFilter(method="by_signed", help_text="true:已签订;false:未签订")

    class Meta:
        model = Pledge
        fields = ["school", "term", "kind", "signed"]

    def by_id(self, queryset, name, value):
        labels = {"school": "学校", "term": "学期"}
        return selectors.filter_pledges(queryset, **{name: as_id(value, labels[name])})

    def by_kind(self, queryset, name, value):
        if value not in K.values:
            raise InvalidInput(f"未知的责任书类别:{value[:40]}")
        return selectors.filter_pledges(queryset, kind=value)

    def by_signed(self, queryset, name, value):
        return selectors.filter_pledges(queryset, signed=value)


class PledgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PledgeOut
    filterset_class = PledgeFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Pledge.objects.none()
        return selectors.pledge_list(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A pledge the user cannot see is not found, whatever the body says: scope before input.
        posted = self.detail and kwargs.get("pk") and request.method == "POST"
        if posted and not selectors.pledges_visible_to(request.user).filter(pk=kwargs["pk"]).exists():
            raise OutOfScope("责任书不存在或您无权查看")
        if request.method == "POST" and not self.detail and not selectors.may_create(request.user):
            raise OutOfScope(NOT_FOR_YOU)

    def _answer(self, pledge_id, code=status.HTTP_200_OK) -> Response:
        pledge = self.get_queryset().get(pk=pledge_id)
        return Response(PledgeOut(pledge, context={"request": self.request}).data, status=code)

    @extend_schema(request=PledgeIn, responses={201: PledgeOut})
    def create(self, request):
        """Put a 目标责任书 on file (unsigned until its scan and signed date are recorded)."""
        data = parse_input(PledgeIn, request.data)
        pledge = services.create_pledge(
            user=request.user,
            kind=data["kind"],
            school_id=data["school"],
            term_id=data["term"],
            party_a_id=data["party_a"],
            party_b_id=data.get("party_b"),
            student_id=data.get("student"),
            guardian_name=data.get("guardian_name", ""),
            targets=data.get("targets"),
        )
        return self._answer(pledge.pk, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": PledgeScanUpload, "application/json": PledgeScanIn},
        responses=PledgeOut,
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def scan(self, request, pk=None):
        """GET: the signed scan (PDF or JPG) as an attachment. POST: record the signed scan and date
        (replacing an earlier scan keeps its name and checksum in the history)."""
        if request.method == "GET":
            pledge = selectors.scan_for(request.user, pk)
            if pledge is None:
                raise OutOfScope("扫描件不存在或您无权查看")
            return scan_response(pledge)
        data = parse_input(PledgeScanIn, request.data)
        upload = request.FILES.get("file") or request.FILES.get("scan")
        services.record_signature(user=request.user, pledge_id=pk, signed_on=data.get("signed_on"), scan=upload)
        return self._answer(pk)

    @extend_schema(
        parameters=[
            OpenApiParameter("term", OpenApiTypes.INT, description="学期编号;省略时为当前学期"),
            OpenApiParameter("school", OpenApiTypes.INT, description="学校编号"),
        ],
        responses=UnsignedPage,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def unsigned(self, request):
        """Who has not signed for the term, school by school (bureau and school leaders; 404 for others)."""
        user = request.user
        scope = scoping.scope_for(user)
        if not (scope.county_level or scope.leads_a_school):
            raise OutOfScope("没有可查看的责任书签订情况")
        term_id = as_id(request.query_params.get("term"), "学期")
        school = as_id(request.query_params.get("school"), "学校")
        term = selectors.visible_term(user, term_id) if term_id else selectors.current_term(user)
        if term is None:
            raise InvalidInput("本县尚未设置学期,请先在校历中添加学期")
        rows = selectors.unsigned(user, term, school=school)
        return Response(
            {"term": term.pk, "term_name": str(term), "count": len(rows), "results": UnsignedOut(rows, many=True).data}
        )


# --- templates --------------------------------------------------------------------------------


class _OneObjectSchema(AutoSchema):
    """Every answer of the templates endpoint is one object (the list is wrapped with its placeholders)."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class PledgeTemplateViewSet(viewsets.ViewSet):
    """The printable text of each kind of 责任书 for the bureau's county (the built-in text until saved)."""

    schema = _OneObjectSchema()
    lookup_field = "kind"
    lookup_value_regex = "[a-z_]{1,40}"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not scoping.scope_for(request.user).county_level:
            raise OutOfScope("只有教育局可以维护责任书模板")

    def _county(self, given) -> int:
        wanted = as_id(given, "县(区)")
        counties = scoping.managed_counties(self.request.user)
        if wanted is not None:
            if not counties.filter(pk=wanted).exists():
                raise OutOfScope("县(区)不存在或您无权管理")
            return wanted
        home = scoping.scope_for(self.request.user).home_county_id
        if home is None:
            raise InvalidInput("请指定县(区)(county)")
        return home

    @staticmethod
    def _kind(kind) -> str:
        if kind not in K.values:
            raise OutOfScope("未知的责任书类别")
        return kind

    @extend_schema(
        operation_id="v1_pledge_templates_list",
        parameters=[OpenApiParameter("county", OpenApiTypes.INT, description="县(区)编号;省略时为本人所在县")],
        responses=TemplatePage,
    )
    def list(self, request):
        """The county's text of each kind, with the placeholders a text may use."""
        county_id = self._county(request.query_params.get("county"))
        saved = selectors.templates_of(county_id)
        rows = [template_data(county_id, code, saved.get(code)) for code in K.values]
        return Response(
            {
                "county": county_id,
                "placeholders": dict(documents.PLACEHOLDERS),
                "results": PledgeTemplateOut(rows, many=True).data,
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("county", OpenApiTypes.INT, description="县(区)编号;省略时为本人所在县")],
        responses=PledgeTemplateOut,
    )
    def retrieve(self, request, kind=None):
        """The county's text of one kind (the built-in text until the bureau saves its own)."""
        kind = self._kind(kind)
        county_id = self._county(request.query_params.get("county"))
        return Response(PledgeTemplateOut(template_data(county_id, kind, selectors.template_for(county_id, kind))).data)

    def _save(self, request, kind, *, partial: bool) -> Response:
        kind = self._kind(kind)
        data = parse_input(PledgeTemplateIn, request.data)
        county_id = self._county(data.get("county"))
        if partial and "title" not in data and "body" not in data:
            raise InvalidInput("请提供标题(title)或正文(body)")
        current = template_data(county_id, kind, selectors.template_for(county_id, kind)) if partial else {}
        row = services.save_template(
            user=request.user,
            county_id=county_id,
            kind=kind,
            title=data["title"] if "title" in data else current.get("title", ""),
            body=data["body"] if "body" in data else current.get("body", ""),
        )
        return Response(PledgeTemplateOut(template_data(county_id, kind, row)).data)

    @extend_schema(request=PledgeTemplateIn, responses=PledgeTemplateOut)
    def update(self, request, kind=None):
        """Replace the county's text of this kind ({placeholders} checked: unknown ones are a 400)."""
        return self._save(request, kind, partial=False)

    @extend_schema(request=PledgeTemplateIn, responses=PledgeTemplateOut)
    def partial_update(self, request, kind=None):
        return self._save(request, kind, partial=True)
