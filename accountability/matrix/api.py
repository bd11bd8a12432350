"""API v1 for the 包保 matrix, its gaps, and the leading groups: thin parsing around services and selectors."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from students.api_common import parse_input
from students.errors import OutOfScope, as_id

from ..models import LeadingGroup, LeadingGroupMember, Responsibility
from . import selectors, services

R = Responsibility


class ResponsibilityOut(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.__str__", read_only=True)
    line_display = serializers.CharField(source="get_line_display", read_only=True)
    target_kind_display = serializers.CharField(source="get_target_kind_display", read_only=True)
    target = serializers.SerializerMethodField()
    target_name = serializers.SerializerMethodField()

    class Meta:
        model = Responsibility
        fields = [
            "id",
            "school_year",
            "person",
            "person_name",
            "line",
            "line_display",
            "target_kind",
            "target_kind_display",
            "target",
            "target_name",
            "owner_school",
            "note",
            "created_by",
            "created_at",
        ]

    def get_target(self, row: Responsibility) -> int:
        return getattr(row, R.TARGET_FIELDS[row.target_kind] + "_id")

    def get_target_name(self, row: Responsibility) -> str:
        return str(row.target)


class ResponsibilityIn(serializers.Serializer):
    person = serializers.IntegerField(min_value=1)
    line = serializers.ChoiceField(choices=R.Line.choices)
    target_kind = serializers.ChoiceField(choices=R.TargetKind.choices)
    target = serializers.IntegerField(min_value=1)
    school_year = serializers.IntegerField(min_value=1, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class LinkOut(serializers.Serializer):
    line = serializers.CharField()
    kind = serializers.CharField()
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField(source="person")


class ChainOut(serializers.Serializer):
    education = LinkOut(many=True)
    administrative = LinkOut(many=True)


class StudentGapOut(serializers.Serializer):
    student = serializers.IntegerField(source="student.pk")
    name = serializers.CharField(source="student.name")
    school = serializers.IntegerField(source="student.school_id")
    classroom = serializers.IntegerField(source="student.classroom_id", allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())
    chain = ChainOut()


class ClassroomGapOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="__str__")
    school = serializers.IntegerField(source="grade.school_id")


class GapsOut(serializers.Serializer):
    school_year = serializers.IntegerField(source="school_year.pk", allow_null=True)
    count = serializers.IntegerField()
    students = StudentGapOut(many=True)
    classrooms = ClassroomGapOut(many=True)


class ResponsibilityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = ResponsibilityOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Responsibility.objects.none()
        params = self.request.query_params
        if self.action != "list":
            return selectors.responsibilities_visible_to(self.request.user).select_related("person")
        return selectors.responsibility_list(
            self.request.user,
            school_year=as_id(params.get("school_year"), "学年"),
            school=as_id(params.get("school"), "学校"),
            line=params.get("line") if params.get("line") in R.Line.values else None,
            target_kind=params.get("target_kind") if params.get("target_kind") in R.TargetKind.values else None,
            person=as_id(params.get("person"), "责任人"),
        )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A row the user cannot see is not found, whatever the method: scope before anything else.
        pk = kwargs.get("pk")
        if pk and not selectors.responsibilities_visible_to(request.user).filter(pk=pk).exists():
            raise OutOfScope("包保责任不存在")

    @extend_schema(request=ResponsibilityIn, responses={201: ResponsibilityOut})
    def create(self, request):
        data = parse_input(ResponsibilityIn, request.data)
        row = services.add_responsibility(
            user=request.user,
            person_id=data["person"],
            line=data["line"],
            target_kind=data["target_kind"],
            target_id=data["target"],
            school_year_id=data.get("school_year"),
            note=data.get("note", ""),
        )
        return Response(ResponsibilityOut(row).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.remove_responsibility(user=request.user, responsibility_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("school", int, description="学校编号"),
            OpenApiParameter("school_year", int, description="学年编号(默认本学年)"),
        ],
        responses=GapsOut,
    )
    @action(detail=False, methods=["get"])
    def gaps(self, request):
        """At-risk students and open cases with nobody on a line, and classes with no leader."""
        params = request.query_params
        year_id = as_id(params.get("school_year"), "学年")
        school_id = as_id(params.get("school"), "学校")
        year = None
        if year_id is not None:
            year = services.visible_school_year(request.user, year_id)
        found = selectors.gaps(request.user, school=school_id, school_year=year)
        return Response(GapsOut(found).data)


class MemberOut(serializers.ModelSerializer):
    name = serializers.CharField(source="user.__str__", read_only=True)

    class Meta:
        model = LeadingGroupMember
        fields = ["user", "name", "duty", "task"]


class LeadingGroupOut(serializers.ModelSerializer):
    leader_name = serializers.CharField(source="leader.__str__", read_only=True)
    members = MemberOut(many=True, read_only=True)

    class Meta:
        model = LeadingGroup
        fields = ["id", "school", "school_year", "leader", "leader_name", "duties", "members", "updated_at"]


class MemberIn(serializers.Serializer):
    user = serializers.IntegerField(min_value=1)
    duty = serializers.ChoiceField(choices=LeadingGroupMember.Duty.choices, default=LeadingGroupMember.Duty.MEMBER)
    task = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class LeadingGroupIn(serializers.Serializer):
    school = serializers.IntegerField(min_value=1)
    school_year = serializers.IntegerField(min_value=1, required=False)
    leader = serializers.IntegerField(min_value=1)
    duties = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    members = MemberIn(many=True, required=False, default=list)


class LeadingGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LeadingGroupOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LeadingGroup.objects.none()
        qs = selectors.leading_groups_visible_to(self.request.user).select_related("leader")
        school = as_id(self.request.query_params.get("school"), "学校")
        if school:
            qs = qs.filter(school_id=school)
        return qs.prefetch_related("members__user").order_by("school_id", "-school_year__start_date")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        pk = kwargs.get("pk")
        if pk and not selectors.leading_groups_visible_to(request.user).filter(pk=pk).exists():
            raise OutOfScope("领导小组不存在")

    @extend_schema(request=LeadingGroupIn, responses={200: LeadingGroupOut})
    def create(self, request):
        """Set up or change the school's leading group for the school year (default: the current one)."""
        data = parse_input(LeadingGroupIn, request.data)
        group = services.save_leading_group(
            user=request.user,
            school_id=data["school"],
            school_year_id=data.get("school_year"),
            leader_id=data["leader"],
            duties=data.get("duties", ""),
            members=[services.MemberInput(m["user"], m["duty"], m.get("task", "")) for m in data.get("members", [])],
        )
        group = self.get_queryset().get(pk=group.pk)
        return Response(LeadingGroupOut(group).data)
