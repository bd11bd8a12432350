"""API v1 of screening (排查比对, DESIGN.md §7): household-register runs, their children, resolutions.

- ``/api/v1/screening/runs/``: the runs of the caller's counties, newest first; ``POST`` a register
  (multipart ``file``, bureau only) → 202 with the run, compared by a Celery job;
- ``/runs/{id}/children/``, ``/compare/?with=``, ``/progress/``, ``/file/`` (the original file, bureau only);
- ``/api/v1/screening/children/{id}/`` and its actions ``resolve``, ``confirm``, ``reject``,
  ``report-absent`` and ``evidence``;
- ``/api/v1/screening/template.xlsx``: the register template.

Scope first (casework/screening/selectors.py): a child the caller cannot see does not exist for them
(404) for reading, for its evidence and for its actions, whatever the body says; importing exists for
the bureau only, anyone else gets 404 before their input is read. Every count comes from
``selectors.outcome_counts`` over the children the caller sees.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from students import scoping
from students.api_common import parse_input
from students.errors import InvalidInput, OutOfScope, as_id
from students.uploads import download

from ..models import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from . import downloads, selectors, services

NOT_FOUND = "排查儿童不存在或您无权查看"


def _codes(choices) -> str:
    return "; ".join(f"{code} {label}" for code, label in choices)


RUN_STATUS_HELP = _codes(ScreeningRun.Status.choices)
OUTCOME_HELP = _codes(ScreeningOutcome.choices)
RESOLUTION_HELP = _codes(Resolution.choices)
SUGGESTION_HELP = _codes(ScreenedChild.Suggestion.choices)
MATCH_HELP = _codes(ScreenedChild.MatchMethod.choices)


# Codes documented in words: the schema names enum components per field name, and "status",
# "resolution" … are taken by other choice sets (a collision is a warning, and warnings fail the build).
def _described(description: str) -> type[serializers.CharField]:
    """A CharField whose codes the schema explains in words (``description``)."""
    return extend_schema_field({"type": "string", "description": description})(
        type("DescribedCharField", (serializers.CharField,), {})
    )


RunStatusField = _described(RUN_STATUS_HELP)
OutcomeField = _described(OUTCOME_HELP)
ResolutionField = _described(RESOLUTION_HELP)
SuggestionField = _described(SUGGESTION_HELP)
MatchMethodField = _described(MATCH_HELP)
GenderField = _described("M 男; F 女")


# --- output -----------------------------------------------------------------------------------


class ScreeningRunCountsOut(serializers.Serializer):
    """``selectors.outcome_counts`` over the run's children the caller sees (+ the file's rows for the bureau)."""

    total = serializers.IntegerField()
    attending = serializers.IntegerField()
    enrolled_absent = serializers.IntegerField()
    not_enrolled = serializers.IntegerField()
    not_registered = serializers.IntegerField()
    resolved = serializers.IntegerField()
    unresolved = serializers.IntegerField()
    suggested = serializers.IntegerField()
    out_of_school = serializers.IntegerField()
    absent_reported = serializers.IntegerField()
    register_rows = serializers.IntegerField(required=False, help_text="户籍名单行数(仅教育局)")
    not_of_age = serializers.IntegerField(required=False, help_text="不在适龄范围的人数(仅教育局)")


class ScreeningRowErrorOut(serializers.Serializer):
    row = serializers.IntegerField(help_text="文件行号(0:整个文件)")
    field = serializers.CharField()
    message = serializers.CharField()


class ScreeningRunOut(serializers.ModelSerializer):
    status = RunStatusField(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    imported_by_name = serializers.CharField(source="imported_by.__str__", read_only=True)
    error = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = ScreeningRun
        fields = [
            "id",
            "title",
            "status",
            "status_display",
            "progress",
            "stage",
            "cutoff_on",
            "absent_days",
            "file_name",
            "file_size",
            "file_sha256",
            "file_format",
            "imported_by",
            "imported_by_name",
            "created_at",
            "finished_at",
            "data_as_of",
            "error",
            "error_count",
            "errors",
            "counts",
        ]

    def _bureau(self, run) -> bool:
        return downloads.is_county_bureau(self.context["request"].user, run)

    def get_error(self, run) -> str:
        return run.error if self._bureau(run) else ""

    @extend_schema_field(ScreeningRowErrorOut(many=True))
    def get_errors(self, run) -> list:
        """The rows the file was refused for (their text quotes the register): the bureau only."""
        return list(run.errors or []) if self._bureau(run) else []

    @extend_schema_field(ScreeningRunCountsOut)
    def get_counts(self, run) -> dict:
        user = self.context["request"].user
        counted = self.context.get("counts")  # the list's page, counted in one query
        if counted is not None and run.pk in counted:
            counts = dict(counted[run.pk])
        else:
            counts = selectors.outcome_counts(selectors.children_visible_to(user).filter(run=run))
        if self._bureau(run):
            counts |= {key: (run.counts or {}).get(key, 0) for key in ("register_rows", "not_of_age")}
        return counts


class ScreeningSuggestedStudentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    school_name = serializers.CharField(source="school.name", default="")


class ScreeningChildActionsOut(serializers.Serializer):
    resolve = serializers.BooleanField()
    confirm = serializers.BooleanField()
    reject = serializers.BooleanField()
    report_absent = serializers.BooleanField()


class ScreeningChildOut(serializers.ModelSerializer):
    """A screened child. ``context["resolver_ids"]``: the children the caller may resolve (one query a page)."""

    gender = GenderField(read_only=True)
    id_number = serializers.SerializerMethodField()
    township_name = serializers.CharField(source="township.name", default="", read_only=True)
    village_name = serializers.CharField(source="village.name", default="", read_only=True)
    outcome = OutcomeField(read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    match_method = MatchMethodField(read_only=True)
    school_name = serializers.CharField(source="school.name", default="", read_only=True)
    classroom_name = serializers.CharField(source="classroom.name", default="", read_only=True)
    suggestion = SuggestionField(read_only=True)
    suggested_student = serializers.SerializerMethodField()
    resolution = ResolutionField(read_only=True)
    resolution_display = serializers.CharField(source="get_resolution_display", read_only=True)
    resolved_by_name = serializers.SerializerMethodField()
    has_evidence = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = ScreenedChild
        fields = [
            "id",
            "run",
            "name",
            "gender",
            "birth_date",
            "age",
            "id_number",
            "household_head",
            "relation_to_head",
            "township",
            "township_name",
            "village",
            "village_name",
            "group",
            "hukou_address",
            "current_address",
            "guardian_name",
            "guardian_phone",
            "outcome",
            "outcome_display",
            "match_method",
            "student",
            "school",
            "school_name",
            "classroom",
            "classroom_name",
            "suggestion",
            "suggested_student",
            "evidence_text",
            "resolution",
            "resolution_display",
            "resolved_school",
            "resolved_place",
            "resolution_note",
            "resolved_by",
            "resolved_by_name",
            "resolved_on",
            "has_evidence",
            "case",
            "actions",
        ]

    def _user(self):
        return self.context["request"].user

    def _resolver(self, child) -> bool:
        return child.pk in self.context["resolver_ids"]

    def get_id_number(self, child) -> str:
        return selectors.shown_id(self._user(), child.id_number)

    @extend_schema_field(ScreeningSuggestedStudentOut(allow_null=True))
    def get_suggested_student(self, child) -> dict | None:
        """The student the comparison suggests: shown to those who decide it (the bureau, the child's cadres)."""
        if child.suggested_student_id is None or not self._resolver(child):
            return None
        return ScreeningSuggestedStudentOut(child.suggested_student).data

    def get_resolved_by_name(self, child) -> str:
        return str(child.resolved_by) if child.resolved_by_id else ""

    def get_has_evidence(self, child) -> bool:
        return bool(child.evidence)

    @extend_schema_field(ScreeningChildActionsOut)
    def get_actions(self, child) -> dict:
        resolver = self._resolver(child)
        pending = child.suggestion == ScreenedChild.Suggestion.PENDING
        settled = child.resolution == Resolution.GRADUATED or (
            child.resolution == Resolution.OUT_OF_SCHOOL and child.case_id is not None
        )
        absent = child.outcome == ScreeningOutcome.ENROLLED_ABSENT and child.student_id is not None
        return {
            "resolve": resolver and child.outcome == ScreeningOutcome.NOT_ENROLLED and not pending and not settled,
            "confirm": resolver and pending,
            "reject": resolver and pending,
            "report_absent": absent
            and not (child.case_id and child.case.is_open)
            and scoping.scope_for(self._user()).manages_student(child.student),
        }


class ScreeningPlaceProgressOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk", allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField(help_text="待核实(未在本县学籍)人数")
    resolved = serializers.IntegerField()
    left = serializers.IntegerField()
    percent = serializers.IntegerField()
    suggested = serializers.IntegerField()
    out_of_school = serializers.IntegerField()
    responsible = serializers.ListField(child=serializers.CharField(), help_text="负责的乡镇、村干部")


class ScreeningTownshipProgressOut(ScreeningPlaceProgressOut):
    villages = ScreeningPlaceProgressOut(many=True)


class ScreeningProgressOut(serializers.Serializer):
    run = serializers.IntegerField()
    townships = ScreeningTownshipProgressOut(many=True)


class ScreeningChangeOut(serializers.Serializer):
    kind = serializers.CharField(help_text="; ".join(f"{k} {v}" for k, v in selectors.CHANGE_KINDS.items()))
    kind_display = serializers.CharField()
    child = serializers.IntegerField(allow_null=True, help_text="本批次的排查儿童编号(不再出现时为空)")
    name = serializers.CharField()
    id_number = serializers.CharField()
    township = serializers.CharField()
    village = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class ScreeningCompareOut(serializers.Serializer):
    run = serializers.IntegerField()
    compared_with = serializers.IntegerField()
    count = serializers.IntegerField()
    changes = ScreeningChangeOut(many=True)


# --- input ------------------------------------------------------------------------------------


class ScreeningRunIn(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, help_text="名称;省略时如“2026年秋季学期户籍比对”")
    cutoff_on = serializers.DateField(required=False, allow_null=True, help_text="年龄计算截止日;省略时为本学年8月31日")
    absent_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=32767, help_text="名在人不在:连续缺勤上学日(1–20,默认5)"
    )


class ScreeningRunUpload(ScreeningRunIn):
    """The multipart form (documentation of the request; the file goes to the service unparsed)."""

    file = serializers.FileField(help_text="户籍名单:.xlsx,或 UTF-8 / GBK 编码的 .csv")


class ScreeningResolveIn(serializers.Serializer):
    resolution = ResolutionField(required=False, allow_blank=True, help_text=f"核实结论(必填):{RESOLUTION_HELP}")
    school = serializers.CharField(required=False, allow_blank=True, help_text="就读学校/机构(在外地就读必填)")
    place = serializers.CharField(required=False, allow_blank=True, help_text="所在地(在外地就读、随迁就读必填)")
    note = serializers.CharField(required=False, allow_blank=True, help_text="说明")
    responsible_school = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1, help_text="失学/辍学:负责劝返的学校编号"
    )


class ScreeningResolveUpload(ScreeningResolveIn):
    evidence = serializers.FileField(required=False, help_text="佐证材料:PDF 或 JPG,不超过 5 MB")


class ScreeningNoteIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, help_text="说明(选填)")


# --- runs -------------------------------------------------------------------------------------

CHILD_RELATED = (
    "township",
    "village",
    "student__school",
    "suggested_student__school",
    "school",
    "classroom",
    "resolved_by",
    "case",
)

CHILD_FILTERS = [
    OpenApiParameter("outcome", str, description=OUTCOME_HELP),
    OpenApiParameter("resolution", str, description=RESOLUTION_HELP),
    OpenApiParameter("suggestion", str, description=SUGGESTION_HELP),
    OpenApiParameter("township", int, description="乡镇编号"),
    OpenApiParameter("village", int, description="村(社区)编号"),
    OpenApiParameter("school", int, description="学籍学校编号"),
    OpenApiParameter("unresolved", bool, description="true:仅未核实的“未在本县学籍”儿童"),
    OpenApiParameter("q", str, description="姓名、户主或身份证号(脱敏的岗位须输入完整号码)"),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]


def resolver_ids(user, children: list[ScreenedChild]) -> set[int]:
    """Which of ``children`` the user may resolve (``selectors.is_resolver_of``, one query for a page)."""
    scope = scoping.scope_for(user)
    mine = {child.pk for child in children if scope.manages_county(child.run.county_id)}
    others = [child.pk for child in children if child.pk not in mine]
    if others and scope.residence_line:
        mine |= set(
            ScreenedChild.objects.filter(
                scoping.residence_q(scope, "township_id", "village_id"), pk__in=others
            ).values_list("pk", flat=True)
        )
    return mine


def children_of(user):
    return selectors.children_visible_to(user).select_related("run", *CHILD_RELATED)


def child_data(request, child: ScreenedChild) -> dict:
    context = {"request": request, "resolver_ids": resolver_ids(request.user, [child])}
    return ScreeningChildOut(child, context=context).data


class ScreeningRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ScreeningRunOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ScreeningRun.objects.none()
        return selectors.runs_visible_to(self.request.user).select_related("imported_by").order_by("-created_at", "-pk")

    def list(self, request, *args, **kwargs):
        """The runs, newest first; their children counted for the whole page at once."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        runs = list(page) if page is not None else list(self.filter_queryset(self.get_queryset()))
        counts = selectors.outcome_counts_by_run(selectors.children_visible_to(request.user), [r.pk for r in runs])
        answer = self.get_serializer(runs, many=True, context={**self.get_serializer_context(), "counts": counts})
        return self.get_paginated_response(answer.data) if page is not None else Response(answer.data)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Importing is the bureau's: anyone else is answered 404 before the upload is read.
        if request.method == "POST" and not self.detail and not selectors.may_import(request.user):
            raise OutOfScope("只有教育局可以导入户籍名单")

    def _run(self, pk) -> ScreeningRun:
        return selectors.run_for(self.request.user, pk)

    @extend_schema(
        request={"multipart/form-data": ScreeningRunUpload},
        responses={
            202: ScreeningRunOut,
            400: OpenApiResponse(
                description="{detail, errors: [{row, field, message}]}: the file was refused, nothing kept"
            ),
        },
    )
    def create(self, request):
        """Import a household register (户籍名单): kept as a run and compared by a job (poll the run).
        A file with bad rows answers the run with status ``rejected`` and its ``errors``."""
        data = parse_input(ScreeningRunIn, request.data)
        run = services.start_import(
            user=request.user,
            upload=request.FILES.get("file"),
            title=data.get("title") or "",
            cutoff_on=data.get("cutoff_on"),
            absent_days=data.get("absent_days"),
        )
        return Response(
            ScreeningRunOut(self._run(run.pk), context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(responses=ScreeningRunOut)
    def retrieve(self, request, pk=None):
        return Response(ScreeningRunOut(self._run(pk), context={"request": request}).data)

    @extend_schema(parameters=CHILD_FILTERS, responses=ScreeningChildOut(many=True))
    @action(detail=True, methods=["get"])
    def children(self, request, pk=None):
        """The run's children the caller sees (适龄儿童少年台账 rows), grouped by township, village and household."""
        run = self._run(pk)
        children = selectors.filter_children(
            children_of(request.user).filter(run=run),
            user=request.user,
            **downloads.child_filters(request.query_params),
        )
        page = self.paginate_queryset(children)
        assert page is not None  # the API always paginates
        context = {"request": request, "resolver_ids": resolver_ids(request.user, page)}
        return self.get_paginated_response(ScreeningChildOut(page, many=True, context=context).data)

    @extend_schema(
        parameters=[OpenApiParameter("with", int, required=True, description="较早的批次编号")],
        responses=ScreeningCompareOut,
    )
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        """The children whose outcome changed since the earlier run ``with``: newly 失学, resolved, moved in or out."""
        run = self._run(pk)
        other_id = as_id(request.query_params.get("with"), "比较批次")
        if other_id is None:
            raise InvalidInput("请用 with 参数指定要比较的较早批次")
        other = self._run(other_id)
        if other.pk == run.pk:
            raise InvalidInput("请选择另一个批次进行比较")
        if run.status != ScreeningRun.Status.DONE or other.status != ScreeningRun.Status.DONE:
            raise InvalidInput("只能比较已完成比对的批次")
        changes = selectors.compare_runs(request.user, run, other)
        return Response({"run": run.pk, "compared_with": other.pk, "count": len(changes), "changes": changes})

    @extend_schema(responses=ScreeningProgressOut)
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        """Per township and village: the unmatched children resolved and left, and the cadres answering for them."""
        run = self._run(pk)
        places = selectors.progress(request.user, run)
        return Response(ScreeningProgressOut({"run": run.pk, "townships": places}).data)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The register file as imported (.xlsx or .csv), for the bureau of the run's county."""
        run = self._run(pk)
        if not downloads.is_county_bureau(request.user, run):
            raise OutOfScope("排查批次不存在或您无权查看")
        return downloads.register_file(run)


# --- children ---------------------------------------------------------------------------------


class ScreenedChildViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ScreeningChildOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScreenedChild.objects.none()
        return children_of(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A child the user cannot see is not found, whatever the body says: scope before input.
        posted = self.detail and kwargs.get("pk") and request.method == "POST"
        if posted and not selectors.children_visible_to(request.user).filter(pk=kwargs["pk"]).exists():
            raise OutOfScope(NOT_FOUND)

    def _child(self, pk) -> ScreenedChild:
        return scoping.get_visible_or_404(self.get_queryset(), pk=pk)

    def _answer(self, pk) -> Response:
        return Response(child_data(self.request, self._child(pk)))

    def retrieve(self, request, pk=None):
        return self._answer(pk)

    @extend_schema(
        request={"multipart/form-data": ScreeningResolveUpload, "application/json": ScreeningResolveIn},
        responses=ScreeningChildOut,
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser, FormParser])
    def resolve(self, request, pk=None):
        """Record where a child no school of the county enrols is (with evidence); ``out_of_school`` opens a case."""
        data = parse_input(ScreeningResolveIn, request.data)
        evidence = request.FILES.get("evidence")
        services.resolve(
            user=request.user,
            child_id=pk,
            data=services.ResolutionInput(
                resolution=data.get("resolution") or "",
                school=data.get("school") or "",
                place=data.get("place") or "",
                note=data.get("note") or "",
                evidence=evidence,
                responsible_school_id=data.get("responsible_school"),
            ),
        )
        return self._answer(pk)

    @extend_schema(request=None, responses=ScreeningChildOut)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """The suggested student is this child (姓名+出生日期+村): matched and compared."""
        services.confirm_suggestion(user=request.user, child_id=pk)
        return self._answer(pk)

    @extend_schema(request=None, responses=ScreeningChildOut)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Not the same child: it stays 未在本县学籍."""
        services.reject_suggestion(user=request.user, child_id=pk)
        return self._answer(pk)

    @extend_schema(request=ScreeningNoteIn, responses=ScreeningChildOut)
    @action(detail=True, methods=["post"], url_path="report-absent", url_name="report-absent")
    def report_absent(self, request, pk=None):
        """名在人不在: report the matched student as a suspected dropout (source 排查比对)."""
        data = parse_input(ScreeningNoteIn, request.data)
        services.report_absent(user=request.user, child_id=pk, note=data.get("note") or "")
        return self._answer(pk)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def evidence(self, request, pk=None):
        """The resolution's evidence (PDF or JPG) as an attachment, for those who see the child."""
        child = self._child(pk)
        if not child.evidence:
            raise OutOfScope("佐证材料不存在")
        return download(child.evidence, child.evidence_name)


# --- the template -----------------------------------------------------------------------------


class TemplateView(APIView):
    @extend_schema(
        operation_id="v1_screening_template_retrieve",
        responses={(200, downloads.XLSX_TYPE): OpenApiTypes.BINARY},
    )
    def get(self, request):
        """The household-register template (.xlsx) with its instructions: for the bureau and the cadres."""
        if not downloads.may_get_template(request.user):
            raise OutOfScope("模板仅供教育局和乡镇(村)干部下载")
        return downloads.template()
