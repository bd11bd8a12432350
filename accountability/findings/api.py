"""API v1 for findings (通报 / 限期整改) and teacher fault records: thin parsing around the services,
scoped like the pages (accountability/findings/selectors.py).

A finding the caller cannot see does not exist for them (404), for reading, for its evidence files
and for its actions, whatever the body says: scope before input. Creating (issuing a finding,
recording a fault) exists for the bureau only: anyone else gets 404 before their input is read.
"""

import django_filters
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from students.api_common import parse_input
from students.errors import OutOfScope, as_id

from ..models import Finding, FindingAttachment, TeacherFault
from . import selectors, services
from .views import attachment_response, evidence_files

NOT_FOR_YOU = "只有教育局可以办理"
STATUS_HELP = "open 待整改; answered 已报整改; accepted 已验收; returned 退回重改"
SOURCE_HELP = "inspection 督导检查; metric 指标未达标"

# --- output -----------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "description": STATUS_HELP})
class FindingStatusField(serializers.CharField):
    """A code documented in words: the schema names enum components per field name, and "status" and
    "source" are taken by other choice sets (a collision is a warning, and warnings fail the build)."""


@extend_schema_field({"type": "string", "description": SOURCE_HELP})
class FindingSourceField(serializers.CharField):
    pass


class FindingAttachmentOut(serializers.ModelSerializer):
    uploaded_by_name = serializers.CharField(source="uploaded_by.__str__", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = FindingAttachment
        fields = ["id", "name", "size", "sha256", "uploaded_by", "uploaded_by_name", "uploaded_at", "url"]

    def get_url(self, attachment) -> str:
        url = reverse("api-finding-attachment", args=[attachment.finding_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class FindingOut(serializers.ModelSerializer):
    status = FindingStatusField(read_only=True)
    source = FindingSourceField(read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    issued_by_name = serializers.CharField(source="issued_by.__str__", read_only=True)
    overdue = serializers.SerializerMethodField()
    attachment_count = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "county",
            "school",
            "school_name",
            "source",
            "source_display",
            "metric",
            "period",
            "facts",
            "requirement",
            "status",
            "status_display",
            "issued_by",
            "issued_by_name",
            "issued_on",
            "due_on",
            "overdue",
            "answer",
            "answered_by",
            "answered_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "attachment_count",
        ]

    def get_overdue(self, finding) -> bool:
        return selectors.is_overdue(finding)

    def get_attachment_count(self, finding) -> int:
        count = getattr(finding, "attachment_count", None)
        return count if count is not None else len(finding.attachments.all())


class FindingDetailOut(FindingOut):
    attachments = FindingAttachmentOut(many=True, read_only=True)
    page_url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta(FindingOut.Meta):
        fields = [*FindingOut.Meta.fields, "attachments", "page_url"]


class TeacherFaultOut(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.__str__", read_only=True)
    student_name = serializers.CharField(source="case.student.name", read_only=True)
    school = serializers.IntegerField(source="case.school_id", read_only=True)
    school_name = serializers.CharField(source="case.school.name", read_only=True)
    recorded_by_name = serializers.CharField(source="recorded_by.__str__", read_only=True)

    class Meta:
        model = TeacherFault
        fields = [
            "id",
            "county",
            "person",
            "person_name",
            "case",
            "student_name",
            "school",
            "school_name",
            "reason",
            "recorded_by",
            "recorded_by_name",
            "recorded_on",
        ]


# --- input ------------------------------------------------------------------------------------


class FindingIn(serializers.Serializer):
    school = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    facts = serializers.CharField(required=False, allow_blank=True, help_text="通报事实(必填)")
    requirement = serializers.CharField(required=False, allow_blank=True, help_text="整改要求")
    due_on = serializers.DateField(required=False, allow_null=True, help_text="整改期限;省略时按本县默认工作日数")
    source = FindingSourceField(required=False, help_text=SOURCE_HELP)
    metric = serializers.CharField(required=False, allow_blank=True)
    period = serializers.CharField(required=False, allow_blank=True)


class FindingAnswerIn(serializers.Serializer):
    answer = serializers.CharField(required=False, allow_blank=True, help_text="整改措施(必填)")


class FindingAnswerUpload(FindingAnswerIn):
    """The multipart form (documentation of the request; the files go to the service unparsed)."""

    files = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="佐证材料:PDF 或 JPG,每个不超过 5 MB,最多 10 个"
    )


class FindingDecisionIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, help_text="验收意见")


class FindingReturnIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, help_text="退回意见(必填)")
    due_on = serializers.DateField(required=False, allow_null=True, help_text="新的整改期限(选填)")


class TeacherFaultIn(serializers.Serializer):
    person = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="责任人(用户编号)")
    case = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="辍学个案编号")
    reason = serializers.CharField(required=False, allow_blank=True, help_text="认定理由(必填)")


# --- findings ---------------------------------------------------------------------------------


class FindingFilter(django_filters.FilterSet):
    school = django_filters.CharFilter(method="by_school", help_text="学校编号")
    status = django_filters.ChoiceFilter(choices=Finding.Status.choices)
    overdue = django_filters.BooleanFilter(method="by_overdue", help_text="true:仅逾期;false:未逾期")

    class Meta:
        model = Finding
        fields = ["school", "status", "overdue"]

    def by_school(self, queryset, name, value):
        return selectors.filter_findings(queryset, school=as_id(value, "学校"))

    def by_overdue(self, queryset, name, value):
        return selectors.filter_findings(queryset, overdue=value)


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = FindingFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Finding.objects.none()
        if self.action == "list":
            return selectors.finding_list(self.request.user)
        return self._detail_queryset()

    def _detail_queryset(self):
        return (
            selectors.findings_visible_to(self.request.user)
            .select_related("school", "issued_by")
            .prefetch_related(selectors.attachments_prefetch())
        )

    def get_serializer_class(self):
        return FindingOut if self.action == "list" else FindingDetailOut

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A finding the user cannot see is not found, whatever the body says: scope before input.
        posted = self.detail and kwargs.get("pk") and request.method == "POST"
        if posted and not selectors.findings_visible_to(request.user).filter(pk=kwargs["pk"]).exists():
            raise OutOfScope("通报不存在或您无权查看")
        if request.method == "POST" and not self.detail and not selectors.may_issue(request.user):
            raise OutOfScope(NOT_FOR_YOU)

    def _answer(self, finding_id, code=status.HTTP_200_OK) -> Response:
        finding = self._detail_queryset().get(pk=finding_id)
        return Response(FindingDetailOut(finding, context={"request": self.request}).data, status=code)

    @extend_schema(request=FindingIn, responses={201: FindingDetailOut})
    def create(self, request):
        """Issue a finding to a school of the bureau's county (通报, 限期整改)."""
        data = parse_input(FindingIn, request.data)
        finding = services.issue_finding(
            user=request.user,
            school_id=data["school"],
            facts=data.get("facts", ""),
            requirement=data.get("requirement", ""),
            due_on=data.get("due_on"),
            source=data.get("source") or Finding.Source.INSPECTION,
            metric=data.get("metric", ""),
            period=data.get("period", ""),
        )
        return self._answer(finding.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": FindingAnswerUpload, "application/json": FindingAnswerIn},
        responses=FindingDetailOut,
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser, FormParser])
    def answer(self, request, pk=None):
        """The school reports its rectification (multipart with ``files``, or JSON without files)."""
        data = parse_input(FindingAnswerIn, request.data)
        services.answer_finding(
            user=request.user, finding_id=pk, answer=data.get("answer", ""), files=evidence_files(request.FILES)
        )
        return self._answer(pk)

    @extend_schema(request=FindingDecisionIn, responses=FindingDetailOut)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The bureau accepts the rectification (验收)."""
        data = parse_input(FindingDecisionIn, request.data)
        services.accept_finding(user=request.user, finding_id=pk, note=data.get("note", ""))
        return self._answer(pk)

    @extend_schema(request=FindingReturnIn, responses=FindingDetailOut)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        """The bureau sends the answer back (退回重改) with its reasons."""
        data = parse_input(FindingReturnIn, request.data)
        services.return_finding(user=request.user, finding_id=pk, note=data.get("note", ""), due_on=data.get("due_on"))
        return self._answer(pk)

    @extend_schema(
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)", url_name="attachment")
    def attachment(self, request, pk=None, attachment_id=None):
        """An evidence file (PDF or JPG) of a finding the caller may see, as an attachment."""
        attachment = selectors.attachment_for(request.user, pk, attachment_id)
        if attachment is None:
            raise OutOfScope("佐证材料不存在或您无权查看")
        return attachment_response(attachment)


# --- teacher fault records --------------------------------------------------------------------


class TeacherFaultFilter(django_filters.FilterSet):
    person = django_filters.CharFilter(method="by_id", help_text="责任人(用户编号)")
    case = django_filters.CharFilter(method="by_id", help_text="辍学个案编号")
    school = django_filters.CharFilter(method="by_id", help_text="学校编号")

    class Meta:
        model = TeacherFault
        fields = ["person", "case", "school"]

    def by_id(self, queryset, name, value):
        labels = {"person": "责任人", "case": "个案", "school": "学校"}
        field = {"school": "case__school_id"}.get(name, f"{name}_id")
        return queryset.filter(**{field: as_id(value, labels[name])})


class TeacherFaultViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """责任流失认定: the bureau's records (they veto the person's appraisal). Bureau only."""

    serializer_class = TeacherFaultOut
    filterset_class = TeacherFaultFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TeacherFault.objects.none()
        return selectors.fault_list(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and not selectors.may_issue(request.user):
            raise OutOfScope(NOT_FOR_YOU)

    @extend_schema(request=TeacherFaultIn, responses={201: TeacherFaultOut})
    def create(self, request):
        data = parse_input(TeacherFaultIn, request.data)
        fault = services.record_fault(
            user=request.user, person_id=data["person"], case_id=data["case"], reason=data.get("reason", "")
        )
        return Response(TeacherFaultOut(self.get_queryset().get(pk=fault.pk)).data, status=status.HTTP_201_CREATED)
