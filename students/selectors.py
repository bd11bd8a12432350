"""Reads of the org tree and people. Every function starts from a scoped queryset."""

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from .models import Classroom, Post, School, Student
from .scoping import (
    classrooms_visible_to,
    get_visible_or_404,
    schools_visible_to,
    scope_for,
    student_number_q,
    student_q,
    students_visible_to,
)


def _enrolled_count(user) -> Count:
    """Count of the user's visible enrolled students, for annotating schools or classrooms."""
    condition = Q(students__status=Student.Status.ENROLLED) & student_q(scope_for(user), "students__")
    return Count("students", filter=condition, distinct=True)


def search_students(user, queryset: QuerySet[Student], q: str) -> QuerySet[Student]:
    """Name (汉字), pinyin initials or full pinyin, or 学籍号 / 身份证号 as ``user`` may search them
    (``scoping.student_number_q``: a prefix for those who see full numbers, else the whole number)."""
    q = (q or "").strip()
    if not q:
        return queryset
    numbers = student_number_q(user, q)
    if q.isascii():
        low = q.lower().replace(" ", "")
        return queryset.filter(Q(name_initials__startswith=low) | Q(name_pinyin__startswith=low) | numbers)
    return queryset.filter(Q(name__contains=q) | numbers)


def student_list(user, *, q: str = "", school=None, classroom=None, status: str = "") -> QuerySet[Student]:
    qs = students_visible_to(user).select_related("school", "classroom", "classroom__grade", "village")
    if school:
        qs = qs.filter(school_id=school)
    if classroom:
        qs = qs.filter(classroom_id=classroom)
    if status:
        qs = qs.filter(status=status)
    return search_students(user, qs, q).order_by("classroom__grade__level", "classroom__number", "name_pinyin", "id")


def student_detail(user, pk) -> Student:
    qs = students_visible_to(user).select_related(
        "school", "classroom", "classroom__grade", "village", "village__township"
    )
    return get_visible_or_404(qs.prefetch_related("guardians"), pk=pk)


def school_list(user, *, q: str = "") -> QuerySet[School]:
    """Schools in scope with the number of the user's visible enrolled students and classes."""
    qs = schools_visible_to(user).select_related("township").order_by("code")
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    return qs.annotate(enrolled_count=_enrolled_count(user))


def school_detail(user, pk) -> School:
    return get_visible_or_404(schools_visible_to(user).select_related("county", "township"), pk=pk)


def classroom_list(user, *, school=None, grade=None) -> QuerySet[Classroom]:
    qs = classrooms_visible_to(user).select_related("school", "grade")
    if school:
        qs = qs.filter(school_id=school)
    if grade:
        qs = qs.filter(grade__level=grade)
    return qs.annotate(enrolled_count=_enrolled_count(user)).order_by("school__code", "grade__level", "number")


def classroom_detail(user, pk) -> Classroom:
    return get_visible_or_404(classrooms_visible_to(user).select_related("school", "grade"), pk=pk)


def with_class_teacher(classrooms: QuerySet[Classroom]) -> QuerySet[Classroom]:
    """Annotate each classroom with its current class teacher's name, inside the same query."""
    teacher = (
        Post.objects.class_teachers()
        .filter(classroom=OuterRef("pk"))
        .order_by("start_date", "pk")
        .annotate(label=Coalesce(NullIf(F("user__display_name"), Value("")), F("user__username")))
        .values("label")[:1]
    )
    return classrooms.annotate(class_teacher_name=Subquery(teacher))
