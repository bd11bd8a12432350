"""Reads of cases. Every function takes the user; scoping is decided here and in students.scoping.

A case is visible to:
- whoever sees its student (class teacher, school, bureau, the cadre of the student's home);
- the school the case belongs to now;
- schools the case was handed over from (read access to what they wrote);
- the responsible persons named in the current plan (一人一案), even outside their usual scope.
"""

import datetime as dt
from typing import TypeVar

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from students import scoping
from students.models import Post

from .models import CaseActivity, CaseHandover, DropoutCase, ReturnPlan

OWNER_FIELDS = ("school_leader", "class_teacher", "township_cadre", "village_cadre")

_Cases = TypeVar("_Cases", bound=QuerySet[DropoutCase])  # filtering keeps a queryset's annotations


def case_q(user) -> Q:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Q()
    q = scoping.student_q(scope, "student__")
    if scope.leads_a_school:
        q |= scoping.led_school_q(scope, "school_id")
        handed_over = CaseHandover.objects.filter(scoping.led_school_q(scope, "from_school_id"), case=OuterRef("pk"))
        q |= Q(Exists(handed_over))
    if scope.is_bureau:
        q |= scoping.county_q(scope, "school__county_id")
    return q | owned_by_q(user)


def cases_visible_to(user) -> QuerySet[DropoutCase]:
    return DropoutCase.objects.filter(case_q(user))


def is_owner(user, case: DropoutCase) -> bool:
    plan = current_plan(case)
    return plan is not None and user.pk in plan.owner_ids


def current_plan(case: DropoutCase) -> ReturnPlan | None:
    cached = getattr(case, "_current_plan", None)
    if cached is not None:
        return cached[0] if cached else None
    plan = (
        case.plans.filter(is_current=True)
        .select_related("school_leader", "class_teacher", "township_cadre", "village_cadre")
        .first()
    )
    case._current_plan = [plan] if plan else []
    return plan


def owned_by_q(owner) -> Q:
    owns = Q()
    for field in OWNER_FIELDS:
        owns |= Q(**{field: owner})
    return Q(Exists(ReturnPlan.objects.filter(owns, case=OuterRef("pk"), is_current=True)))


def filter_cases(
    user,
    qs: _Cases,
    *,
    status: str = "",
    statuses=None,
    school=None,
    reason: str = "",
    owner=None,
    overdue: bool = False,
    q: str = "",
) -> _Cases:
    """The list filters, shared by the case list, its status tabs and the API."""
    if status:
        qs = qs.filter(status=status)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if school:
        qs = qs.filter(school_id=school)
    if reason:
        qs = qs.filter(reason=reason)
    if owner:
        qs = qs.filter(owned_by_q(owner))
    if overdue:
        qs = qs.filter(overdue_q())
    if q:
        qs = qs.filter(Q(student__name__contains=q) | scoping.student_number_q(user, q, "student__"))
    return qs


def case_list(
    user,
    *,
    status: str = "",
    school=None,
    reason: str = "",
    owner=None,
    overdue: bool = False,
    q: str = "",
    statuses=None,
) -> QuerySet[DropoutCase]:
    """Cases in scope with what a list needs, in a constant number of queries."""
    qs = (
        cases_visible_to(user)
        .select_related("student", "school", "classroom")
        .prefetch_related(
            Prefetch(
                "plans",
                queryset=ReturnPlan.objects.filter(is_current=True).select_related(
                    "school_leader", "class_teacher", "township_cadre", "village_cadre"
                ),
                to_attr="current_plans",
            )
        )
        .annotate(
            activity_count=Count("activities", distinct=True),
            last_activity_on=Max("activities__occurred_on"),
        )
    )
    qs = filter_cases(
        user, qs, status=status, statuses=statuses, school=school, reason=reason, owner=owner, overdue=overdue, q=q
    )
    return qs.order_by(F("next_due_on").asc(nulls_last=True), "-detected_on", "-id")


def overdue_q(today: dt.date | None = None) -> Q:
    today = today or timezone.localdate()
    return Q(status__in=DropoutCase.OPEN_STATUSES, next_due_on__lt=today)


def case_detail(user, pk) -> DropoutCase:
    return scoping.get_visible_or_404(
        cases_visible_to(user).select_related(
            "student",
            "student__village",
            "student__village__township",
            "school",
            "classroom",
            "created_by",
            "signed_by",
            "previous_case",
        ),
        pk=pk,
    )


def timeline(case: DropoutCase) -> list[dict]:
    """Events and activities in one chronological list for the case page."""
    rows = [
        {"at": e.at, "day": timezone.localtime(e.at).date(), "kind": "event", "obj": e}
        for e in case.events.select_related("by")
    ]
    rows += [
        {
            "at": a.created_at,
            "day": a.occurred_on,
            "kind": "activity",
            "obj": a,
        }
        for a in case.activities.select_related("created_by")
    ]
    return sorted(rows, key=lambda r: (r["day"], r["at"]), reverse=True)


def failed_contacts(case: DropoutCase, since: dt.date | None = None) -> int:
    qs = case.activities.filter(outcome__in=CaseActivity.FAILED)
    if since:
        qs = qs.filter(occurred_on__gte=since)
    return qs.count()


def case_status_counts(user, **filters) -> dict[str, int]:
    """Cases per status matching the other list filters (one grouped query) — for the status tabs."""
    matching = filter_cases(user, cases_visible_to(user), **filters)
    return dict(matching.order_by().values_list("status").annotate(n=Count("pk")))


def plan_candidates(case: DropoutCase, plan) -> dict:
    """Who may be named in the plan: the school's leaders and class teachers, the home township's cadres."""
    student = case.student
    township_id = student.village.township_id if student.village_id and student.village else case.school.township_id
    where = Q(role__in=Post.SCHOOL_ROLES, school_id=case.school_id) | Q(
        role=Post.Role.CLASS_TEACHER, classroom__school_id=case.school_id
    )
    if township_id:
        where |= Q(role=Post.Role.CADRE, township_id=township_id)
    posts = list(
        Post.objects.active()
        .filter(where)
        .select_related("user", "classroom", "village")
        .order_by("role", "classroom__grade__level", "classroom__number", "user__username")
    )
    people: dict[str, dict[int, str]] = {"leaders": {}, "teachers": {}, "township": {}, "village": {}}
    teacher_of_class = None
    for post in posts:
        if post.role in Post.SCHOOL_ROLES:
            people["leaders"].setdefault(post.user_id, f"{post.user}({post.get_role_display()})")
        elif post.role == Post.Role.CLASS_TEACHER:
            people["teachers"].setdefault(post.user_id, f"{post.user}({post.classroom.name})")
            if post.classroom_id == case.classroom_id and teacher_of_class is None:
                teacher_of_class = post.user_id
        elif post.village_id is None:
            people["township"].setdefault(post.user_id, f"{post.user}(乡镇)")
        if post.role == Post.Role.CADRE and post.village_id and post.village_id == student.village_id:
            people["village"].setdefault(post.user_id, f"{post.user}({post.village.name})")
    if not people["township"]:  # no township-level post: any cadre of the township may lead
        for post in posts:
            if post.role == Post.Role.CADRE:
                people["township"].setdefault(post.user_id, f"{post.user}({post.village or '乡镇'})")
    if plan is not None:  # people named before stay selectable when the plan is revised
        for key, person in (
            ("leaders", plan.school_leader),
            ("teachers", plan.class_teacher),
            ("township", plan.township_cadre),
            ("village", plan.village_cadre),
        ):
            if person is not None:
                people[key].setdefault(person.pk, str(person))
    return {key: list(value.items()) for key, value in people.items()} | {"teacher_of_class": teacher_of_class}


def home_section(user) -> dict | None:
    """ "我负责的个案" on the home page: open cases the user owns in a plan, overdue first."""
    mine = list(case_list(user, owner=user.pk).filter(status__in=DropoutCase.OPEN_STATUSES)[:10])
    overdue = case_list(user, overdue=True).count() if scoping.scope_for(user).leads_a_school else 0
    if not mine and not overdue:
        return None
    return {"template": "casework/home_section.html", "context": {"cases": mine, "overdue_in_scope": overdue}}


def overdue_reminders_done(notes) -> set[int]:
    """Of "case overdue" reminders (students.notifications), those whose item is no longer overdue:
    the case is closed, its next step or due date moved on (the step was done), or it is not yet due."""
    from students.notifications import parts

    wanted: dict[int, list[tuple[int, str, dt.date]]] = {}
    for note in notes:
        if fields := parts(note, "overdue", 3):
            try:
                wanted.setdefault(int(fields[0]), []).append((note.pk, fields[1], dt.date.fromisoformat(fields[2])))
            except ValueError:
                continue
    current = {
        pk: (status, due_kind, next_due_on)
        for pk, status, due_kind, next_due_on in DropoutCase.objects.filter(pk__in=wanted).values_list(
            "pk", "status", "due_kind", "next_due_on"
        )
    }
    today = timezone.localdate()
    done = set()
    for case_id, items in wanted.items():
        status, due_kind, next_due_on = current.get(case_id, (None, None, None))
        for pk, kind, due_on in items:
            if status not in DropoutCase.OPEN_STATUSES or (kind, due_on) != (due_kind, next_due_on) or due_on >= today:
                done.add(pk)
    return done
