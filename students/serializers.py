"""Output serializers for the org tree and people. Input is parsed in api.py / services."""

from rest_framework import serializers

from .models import Classroom, Guardian, Post, School, Student
from .scoping import display_id_number


class SchoolSerializer(serializers.ModelSerializer):
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    township_name = serializers.CharField(source="township.name", default="", read_only=True)
    enrolled_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = School
        fields = [
            "id",
            "code",
            "name",
            "stage",
            "stage_display",
            "county",
            "township",
            "township_name",
            "dropout_rate_target",
            "enrolled_count",
        ]


class ClassroomSerializer(serializers.ModelSerializer):
    grade_level = serializers.IntegerField(source="grade.level", read_only=True)
    grade_name = serializers.CharField(source="grade.name", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    enrolled_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Classroom
        fields = ["id", "name", "number", "school", "school_name", "grade_level", "grade_name", "enrolled_count"]


class GuardianSerializer(serializers.ModelSerializer):
    class Meta:
        model = Guardian
        fields = ["name", "relation", "phone", "employer", "works_away"]


class StudentSerializer(serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField()
    student_no = serializers.SerializerMethodField()
    gender_display = serializers.CharField(source="get_gender_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    school_name = serializers.CharField(source="school.name", default="", read_only=True)
    classroom_name = serializers.CharField(source="classroom.name", default="", read_only=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "student_no",
            "id_number",
            "name",
            "name_pinyin",
            "gender",
            "gender_display",
            "birth_date",
            "ethnicity",
            "school",
            "school_name",
            "classroom",
            "classroom_name",
            "village",
            "status",
            "status_display",
            "boarding",
            "special_groups",
        ]

    def get_id_number(self, obj: Student) -> str:
        return display_id_number(self.context["request"].user, obj.id_number)

    def get_student_no(self, obj: Student) -> str:
        return display_id_number(self.context["request"].user, obj.student_no)


class StudentDetailSerializer(StudentSerializer):
    guardians = GuardianSerializer(many=True, read_only=True)
    village_name = serializers.CharField(source="village.__str__", default="", read_only=True)

    class Meta(StudentSerializer.Meta):
        fields = [
            *StudentSerializer.Meta.fields,
            "village_name",
            "hukou_address",
            "address",
            "disability_type",
            "guardians",
        ]


class PostSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    scope = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "role", "role_display", "title", "scope", "start_date", "end_date"]

    def get_scope(self, post: Post) -> dict:
        for level in ("classroom", "school", "village", "township", "county"):
            obj = getattr(post, level)
            if obj is not None:
                return {"level": level, "id": obj.pk, "name": str(obj)}
        return {}
