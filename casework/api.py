"""API v1 for dropout cases: thin parsing around casework.services, scoped like the pages."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from students.api_common import parse_input
from students.errors import InvalidInput, OutOfScope

from . import selectors, services
from .models import CaseActivity, CaseEvent, DropoutCase, FollowUp, ReturnPlan

# --- output -----------------------------------------------------------------------------------


class PlanOut(serializers.ModelSerializer):
    measure_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    school_leader_name = serializers.CharField(source="school_leader.__str__", read_only=True)
    class_teacher_name = serializers.CharField(source="class_teacher.__str__", read_only=True)
    township_cadre_name = serializers.CharField(source="township_cadre.__str__", read_only=True)

    class Meta:
        model = ReturnPlan
        fields = [
            "id",
            "version",
            "is_current",
            "reason_analysis",
            "measures",
            "measure_labels",
            "method",
            "target_return_on",
            "school_leader",
            "school_leader_name",
            "class_teacher",
            "class_teacher_name",
            "township_cadre",
            "township_cadre_name",
            "village_cadre",
            "lead_is_township",
            "created_by",
            "created_at",
        ]


class ActivityOut(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = CaseActivity
        fields = [
            "id",
            "occurred_on",
            "kind",
            "kind_display",
            "target",
            "participants",
            "content",
            "outcome",
            "outcome_display",
            "next_step",
            "next_step_on",
            "created_by",
            "created_at",
        ]


class EventOut(serializers.ModelSerializer):
    class Meta:
        model = CaseEvent
        fields = ["id", "at", "by", "action", "from_status", "to_status", "note"]


class FollowUpOut(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = ["id", "kind", "due_on", "assignee", "done_on", "note"]


class CaseOut(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    reason_display = serializers.CharField(source="get_reason_display", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    plan = serializers.SerializerMethodField()

    class Meta:
        model = DropoutCase
        fields = [
            "id",
            "student",
            "student_name",
            "school",
            "school_name",
            "classroom",
            "status",
            "status_display",
            "source",
            "reason",
            "reason_display",
            "detected_on",
            "reported_on",
            "verified_on",
            "dropped_out_on",
            "returned_on",
            "closed_on",
            "next_due_on",
            "due_kind",
            "overdue",
            "dismiss_reason",
            "placement",
            "previous_case",
            "plan",
        ]

    def get_plan(self, case) -> dict | None:
        plans = getattr(case, "current_plans", None)
        plan = plans[0] if plans else (None if plans is not None else selectors.current_plan(case))
        return PlanOut(plan).data if plan else None


class CaseDetailOut(CaseOut):
    events = EventOut(many=True, read_only=True)
    activities = ActivityOut(many=True, read_only=True)
    follow_ups = FollowUpOut(many=True, read_only=True)
    escalation_proposal = serializers.SerializerMethodField()

    class Meta(CaseOut.Meta):
        fields = [
            *CaseOut.Meta.fields,
            "last_attended_on",
            "reason_detail",
            "whereabouts",
            "family_situation",
            "measures_taken",
            "guardian_opinion",
            "teacher_opinion",
            "office_opinion",
            "principal_opinion",
            "signed_by",
            "notice_number",
            "notice_issued_on",
            "notice_deadline",
            "close_basis",
            "events",
            "activities",
            "follow_ups",
            "escalation_proposal",
        ]

    def get_escalation_proposal(self, case) -> str:
        return services.escalation_proposal(case)


# --- input ------------------------------------------------------------------------------------


class CaseReportIn(serializers.Serializer):
    last_attended_on = serializers.DateField(required=False, allow_null=True)
    dropped_out_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.ChoiceField(choices=DropoutCase.Reason.choices, required=False, allow_blank=True)
    reason_detail = serializers.CharField(required=False, allow_blank=True)
    whereabouts = serializers.ChoiceField(choices=DropoutCase.Whereabouts.choices, required=False, allow_blank=True)
    family_situation = serializers.CharField(required=False, allow_blank=True)
    measures_taken = serializers.CharField(required=False, allow_blank=True)
    guardian_opinion = serializers.CharField(required=False, allow_blank=True)
    teacher_opinion = serializers.CharField(required=False, allow_blank=True)
    office_opinion = serializers.CharField(required=False, allow_blank=True)
    principal_opinion = serializers.CharField(required=False, allow_blank=True)


class CaseIn(CaseReportIn):
    student = serializers.IntegerField()
    flag = serializers.IntegerField(required=False, allow_null=True, help_text="红色预警编号:从预警一键建案")
    source = serializers.ChoiceField(choices=DropoutCase.Source.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class NoteIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class DismissIn(NoteIn):
    reason = serializers.ChoiceField(choices=DropoutCase.DismissReason.choices)


class PlanIn(serializers.Serializer):
    reason_analysis = serializers.CharField()
    measures = serializers.ListField(child=serializers.CharField())
    method = serializers.CharField()
    target_return_on = serializers.DateField()
    school_leader = serializers.IntegerField()
    class_teacher = serializers.IntegerField()
    township_cadre = serializers.IntegerField()
    village_cadre = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class ActivityIn(serializers.Serializer):
    occurred_on = serializers.DateField()
    kind = serializers.ChoiceField(choices=CaseActivity.Kind.choices)
    outcome = serializers.ChoiceField(choices=CaseActivity.Outcome.choices)
    participants = serializers.CharField()
    target = serializers.ChoiceField(choices=CaseActivity.Target.choices, required=False)
    content = serializers.CharField(required=False, allow_blank=True)
    next_step = serializers.CharField(required=False, allow_blank=True)
    next_step_on = serializers.DateField(required=False, allow_null=True)


class ReturnIn(NoteIn):
    returned_on = serializers.DateField()
    placement = serializers.ChoiceField(choices=DropoutCase.Placement.choices)
    classroom = serializers.IntegerField(required=False, allow_null=True)
    buddy = serializers.CharField(required=False, allow_blank=True)


class HandoverIn(NoteIn):
    classroom = serializers.IntegerField()


def report_form(data: dict) -> services.ReportForm:
    fields = set(services.ReportForm.__dataclass_fields__)
    return services.ReportForm(**{k: v for k, v in data.items() if k in fields and v is not None})


# --- views ------------------------------------------------------------------------------------


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DropoutCase.Status.choices)
    school = django_filters.NumberFilter(field_name="school_id")
    reason = django_filters.ChoiceFilter(choices=DropoutCase.Reason.choices)
    owner = django_filters.CharFilter(method="by_owner", help_text="用户编号,或 me")
    overdue = django_filters.BooleanFilter(method="by_overdue")
    student = django_filters.NumberFilter(field_name="student_id")

    class Meta:
        model = DropoutCase
        fields = ["status", "school", "reason", "owner", "overdue", "student"]

    def by_owner(self, queryset, name, value):
        owner = self.request.user.pk if value == "me" else value
        if not str(owner).isdigit():
            raise InvalidInput("owner 应为用户编号或 me")
        return queryset.filter(selectors.owned_by_q(int(owner)))

    def by_overdue(self, queryset, name, value):
        return queryset.filter(selectors.overdue_q()) if value else queryset.exclude(selectors.overdue_q())


class DropoutCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = CaseFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return DropoutCase.objects.none()
        if self.action == "retrieve":
            return self._detail_queryset()
        return selectors.case_list(self.request.user)

    def _detail_queryset(self):
        return (
            selectors.cases_visible_to(self.request.user)
            .select_related("student", "school")
            .prefetch_related("events", "activities", "follow_ups")
        )

    def get_serializer_class(self):
        return CaseDetailOut if self.action == "retrieve" else CaseOut

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A case the user cannot see is not found, whatever the body says: scope before input.
        posted = self.detail and kwargs.get("pk") and request.method == "POST"
        if posted and not selectors.cases_visible_to(request.user).filter(pk=kwargs["pk"]).exists():
            raise OutOfScope("个案不存在或您无权查看")

    def _answer(self, case_id, code=status.HTTP_200_OK):
        case = self._detail_queryset().get(pk=case_id)
        return Response(CaseDetailOut(case, context={"request": self.request}).data, status=code)

    @extend_schema(request=CaseIn, responses={201: CaseDetailOut})
    def create(self, request):
        data = parse_input(CaseIn, request.data)
        case = services.open_case(
            user=request.user,
            student_id=data["student"],
            source=data.get("source")
            or (DropoutCase.Source.ATTENDANCE if data.get("flag") else DropoutCase.Source.MANUAL),
            form=report_form(data),
            flag_id=data.get("flag"),
            note=data.get("note", ""),
        )
        return self._answer(case.pk, status.HTTP_201_CREATED)

    @extend_schema(request=CaseReportIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        """Fill in the 辍学学生情况报告表 (while suspected)."""
        case = services.update_report(
            user=request.user, case_id=pk, changes=dict(parse_input(CaseReportIn, request.data))
        )
        return self._answer(case.pk)

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="submit-report")
    def submit_report(self, request, pk=None):
        """The principal signs the report and sends it to the bureau."""
        data = parse_input(NoteIn, request.data)
        case = services.submit_report(user=request.user, case_id=pk, note=data.get("note", ""))
        return self._answer(case.pk)

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        data = parse_input(NoteIn, request.data)
        return self._answer(services.verify_case(user=request.user, case_id=pk, note=data.get("note", "")).pk)

    @extend_schema(request=DismissIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        data = parse_input(DismissIn, request.data)
        case = services.dismiss_case(user=request.user, case_id=pk, reason=data["reason"], note=data.get("note", ""))
        return self._answer(case.pk)

    @extend_schema(request=PlanIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def plan(self, request, pk=None):
        data = parse_input(PlanIn, request.data)
        services.make_plan(
            user=request.user,
            case_id=pk,
            plan=services.PlanInput.from_data(data),
            note=data.get("note", ""),
        )
        return self._answer(pk)

    @extend_schema(request=ActivityIn, responses={201: ActivityOut, 200: ActivityOut(many=True)})
    @action(detail=True, methods=["get", "post"])
    def activities(self, request, pk=None):
        if request.method == "GET":
            case = selectors.case_detail(request.user, pk)
            return Response(ActivityOut(case.activities.all(), many=True).data)
        data = parse_input(ActivityIn, request.data)
        row = services.add_activity(
            user=request.user,
            case_id=pk,
            activity=services.ActivityInput(
                occurred_on=data["occurred_on"],
                kind=data["kind"],
                outcome=data["outcome"],
                participants=data["participants"],
                target=data.get("target") or CaseActivity.Target.BOTH,
                content=data.get("content", ""),
                next_step=data.get("next_step", ""),
                next_step_on=data.get("next_step_on"),
            ),
        )
        return Response(ActivityOut(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        data = parse_input(NoteIn, request.data)
        return self._answer(services.escalate_case(user=request.user, case_id=pk, note=data.get("note", "")).pk)

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def notice(self, request, pk=None):
        """Issue the 限期返校通知书 (its delivery is logged as an activity of kind notice)."""
        return self._answer(services.issue_notice(user=request.user, case_id=pk).pk)

    @extend_schema(request=ReturnIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        data = parse_input(ReturnIn, request.data)
        case = services.record_return(
            user=request.user,
            case_id=pk,
            returned_on=data["returned_on"],
            placement=data["placement"],
            classroom_id=data.get("classroom"),
            buddy=data.get("buddy", ""),
            note=data.get("note", ""),
        )
        return self._answer(case.pk)

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = parse_input(NoteIn, request.data)
        return self._answer(services.close_case(user=request.user, case_id=pk, note=data.get("note", "")).pk)

    @extend_schema(request=HandoverIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def handover(self, request, pk=None):
        data = parse_input(HandoverIn, request.data)
        case = services.hand_over(
            user=request.user, case_id=pk, to_classroom_id=data["classroom"], note=data.get("note", "")
        )
        return self._answer(case.pk)
