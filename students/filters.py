import django_filters
from django.db.models import Exists, OuterRef

from .models import Classroom, RiskFlag, RiskLevel, School, Student
from .selectors import search_students


class StudentFilter(django_filters.FilterSet):
    school = django_filters.NumberFilter(field_name="school_id")
    classroom = django_filters.NumberFilter(field_name="classroom_id")
    status = django_filters.ChoiceFilter(choices=Student.Status.choices)
    q = django_filters.CharFilter(method="search", label="姓名 / 拼音首字母 / 学籍号")
    risk_level = django_filters.ChoiceFilter(
        choices=RiskLevel.choices, method="with_open_flag", label="有该等级未处理预警"
    )

    class Meta:
        model = Student
        fields = ["school", "classroom", "status", "q", "risk_level"]

    def search(self, queryset, name, value):
        return search_students(self.request.user, queryset, value)

    def with_open_flag(self, queryset, name, value):
        open_flags = RiskFlag.objects.filter(student=OuterRef("pk"), level=value, status__in=RiskFlag.OPEN_STATUSES)
        return queryset.filter(Exists(open_flags))


class SchoolFilter(django_filters.FilterSet):
    township = django_filters.NumberFilter(field_name="township_id")
    stage = django_filters.ChoiceFilter(choices=School.Stage.choices)
    q = django_filters.CharFilter(method="search", label="学校名称或代码")

    class Meta:
        model = School
        fields = ["township", "stage", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(name__contains=value) | queryset.filter(code__startswith=value)


class ClassroomFilter(django_filters.FilterSet):
    school = django_filters.NumberFilter(field_name="school_id")
    grade = django_filters.NumberFilter(field_name="grade__level")

    class Meta:
        model = Classroom
        fields = ["school", "grade"]
