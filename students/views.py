"""Pages of the org tree and people: thin views over ``students.selectors``.

Every queryset starts from a selector, so scoping is decided in ``students/scoping.py`` only;
an object outside the user's scope raises Http404 inside the selector.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from students.attendance.selectors import flags_for, student_term_calendar

from . import home_sections, selectors
from .errors import int_or_none
from .models import RiskFlag, Student
from .notifications import unread_for
from .scoping import (
    IDENTIFYING_NUMBERS,
    Scope,
    classrooms_visible_to,
    display_id_number,
    get_visible_or_404,
    history_names,
    led_school_q,
    schools_visible_to,
    scope_for,
    student_q,
    taught_classroom_q,
)

PAGE_SIZE = 50
HISTORY_LIMIT = 20
# A class filter drop-down listing more classes than this asks the user to pick a school first.
CLASS_OPTIONS_LIMIT = 100


def _paginate(request, queryset, param: str = "page") -> Page:
    """One page of ``queryset``; the page knows its parameter and the rest of the query string."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))
    rest = request.GET.copy()
    rest.pop(param, None)
    page.page_param = param
    page.base_query = rest.urlencode()
    return page


def _residents_only(scope: Scope) -> Q:
    """Q for students living in the cadre's township / village (the administrative line)."""
    return student_q(Scope(township_ids=scope.township_ids, village_ids=scope.village_ids))


@login_required
def home(request):
    user = request.user
    scope = scope_for(user)
    context = {
        "no_post": scope.is_empty,
        "tasks": list(unread_for(user, limit=10)),
        "sections": home_sections.sections_for(user),
    }
    if scope.county_level:
        context["county_schools"] = _paginate(request, selectors.school_list(user), "schools_page")
    if scope.leads_a_school:
        classes = selectors.classroom_list(user).filter(led_school_q(scope, "school_id"))
        context["school_classes"] = _paginate(request, selectors.with_class_teacher(classes), "classes_page")
        context["several_schools"] = scope.school_post_count > 1
    if scope.teaches_a_class:
        my_classes = selectors.classroom_list(user).filter(taught_classroom_q(scope, "pk"))
        if scope.classroom_post_count == 1:
            my_class = my_classes.first()
            context["my_class"] = my_class
            if my_class is not None:
                students = selectors.student_list(user, classroom=my_class.pk)
                context["my_students"] = _paginate(request, students, "students_page")
        else:
            context["my_classes"] = _paginate(request, selectors.with_class_teacher(my_classes), "my_classes_page")
    if scope.residence_line:
        residents = selectors.student_list(user).filter(_residents_only(scope))
        context["residents"] = _paginate(request, residents, "residents_page")
    return render(request, "students/home.html", context)


@login_required
def school_list(request):
    q = request.GET.get("q", "").strip()
    page = _paginate(request, selectors.school_list(request.user, q=q))
    return render(request, "students/school_list.html", {"page_obj": page, "q": q})


@login_required
def school_detail(request, pk: int):
    school = selectors.school_detail(request.user, pk)
    classes = selectors.with_class_teacher(selectors.classroom_list(request.user, school=school.pk))
    page = _paginate(request, classes)
    return render(request, "students/school_detail.html", {"school": school, "page_obj": page})


def _student_filters(request) -> dict:
    status = request.GET.get("status", "")
    return {
        "q": request.GET.get("q", "").strip(),
        "status": status if status in Student.Status.values else "",
    }


@login_required
def classroom_detail(request, pk: int):
    classroom = get_visible_or_404(selectors.with_class_teacher(selectors.classroom_list(request.user)), pk=pk)
    filters = _student_filters(request)
    students = selectors.student_list(request.user, classroom=classroom.pk, **filters)
    return render(
        request,
        "students/classroom_detail.html",
        {
            "classroom": classroom,
            "page_obj": _paginate(request, students),
            "filters": filters,
            "status_choices": Student.Status.choices,
        },
    )


@login_required
def student_list(request):
    user = request.user
    filters = _student_filters(request)
    school_id = int_or_none(request.GET.get("school"))
    classroom_id = int_or_none(request.GET.get("classroom"))
    students = selectors.student_list(user, school=school_id, classroom=classroom_id, **filters)

    schools = list(schools_visible_to(user).order_by("code").values_list("pk", "name"))
    class_options = (
        classrooms_visible_to(user).select_related("school").order_by("school__code", "grade__level", "number")
    )
    if school_id:
        class_options = class_options.filter(school_id=school_id)
    class_options = list(class_options[: CLASS_OPTIONS_LIMIT + 1])
    too_many_classes = len(class_options) > CLASS_OPTIONS_LIMIT
    return render(
        request,
        "students/student_list.html",
        {
            "page_obj": _paginate(request, students),
            "filters": filters,
            "school_id": school_id,
            "classroom_id": classroom_id,
            "schools": schools,
            "class_options": [] if too_many_classes else class_options,
            "too_many_classes": too_many_classes,
            "show_school": len(schools) > 1,
            "status_choices": Student.Status.choices,
        },
    )


@login_required
def student_detail(request, pk: int):
    student = selectors.student_detail(request.user, pk)
    return render(
        request,
        "students/student_detail.html",
        {
            "student": student,
            "id_number": display_id_number(request.user, student.id_number),
            "guardians": list(student.guardians.all()),
            "history": _history_rows(request.user, student),
            "term_calendar": student_term_calendar(student, timezone.localdate()),
            "flags": list(flags_for(request.user, student=student.pk)[:50]),
            "flag_categories": RiskFlag.Category.choices,
            "flag_levels": RiskFlag.Level.choices,
        },
    )


# Change history -------------------------------------------------------------------------------

_FK_FIELDS = ("school", "classroom", "village")


def _history_rows(user, student: Student) -> list[dict]:
    """The latest changes of ``student``: who, when and field by field what (in one query + lookups)."""
    records = list(student.history.select_related("history_user")[: HISTORY_LIMIT + 1])
    deltas = []
    for i, record in enumerate(records[:HISTORY_LIMIT]):
        older = records[i + 1] if i + 1 < len(records) else None
        changes = record.diff_against(older).changes if record.history_type == "~" and older else []
        deltas.append((record, changes))

    # Names of related objects in the changes: one query per model, only if something changed.
    wanted: dict[str, set] = {name: set() for name in _FK_FIELDS}
    for _record, changes in deltas:
        for change in changes:
            if change.field in wanted:
                wanted[change.field].update(v for v in (change.old, change.new) if v)
    names = history_names(user, student, wanted)

    rows = []
    for record, changes in deltas:
        rows.append(
            {
                "when": record.history_date,
                "who": str(record.history_user) if record.history_user else _("系统"),
                "kind": record.history_type,
                "changes": [
                    {
                        "field": Student._meta.get_field(change.field).verbose_name,
                        "old": _display_value(user, change.field, change.old, names),
                        "new": _display_value(user, change.field, change.new, names),
                    }
                    for change in changes
                ],
            }
        )
    return rows


def _display_value(user, field_name: str, value, names: dict) -> str:
    if value in (None, ""):
        return "—"
    if field_name in IDENTIFYING_NUMBERS:
        return display_id_number(user, value)
    if field_name in _FK_FIELDS:
        return names.get(field_name, {}).get(value, f"#{value}")
    field = Student._meta.get_field(field_name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)
