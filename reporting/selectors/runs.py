"""Report runs and the download log: what a user may see, request and sign.

Every function takes the user and asks :mod:`students.scoping`; a run outside the user's scope
does not exist for them (the pages and the API answer 404).
"""

from django.db.models import Q, QuerySet

from students import scoping
from students.errors import InvalidInput, OutOfScope
from students.models import County, Post, School

from ..models import DownloadLog, ReportRun, ReportSignature

CLASS_OPTIONS_LIMIT = 500


def runs_visible_to(user) -> QuerySet[ReportRun]:
    """Runs whose scope the user may see: their counties' (bureau), their schools', their classes'."""
    scope = scoping.scope_for(user)
    qs = ReportRun.objects.select_related("requested_by")
    if scope.superuser:
        return qs
    # The schools of the user's bureau counties (no query for anyone else) and the schools they lead.
    schools = list(School.objects.filter(scoping.county_q(scope, "county_id")).values_list("pk", flat=True))
    schools += scope.post_ids("school")
    classes = list(scoping.manageable_classrooms(user).values_list("pk", flat=True))
    return qs.filter(
        (Q(scope_type=ReportRun.ScopeType.COUNTY) & scoping.county_q(scope, "scope_id"))
        | Q(scope_type=ReportRun.ScopeType.SCHOOL, scope_id__in=schools)
        | Q(scope_type=ReportRun.ScopeType.CLASSROOM, scope_id__in=classes)
    )


def downloads_visible_to(user) -> QuerySet[DownloadLog]:
    """The bureau sees its county's downloads; everyone sees their own."""
    scope = scoping.scope_for(user)
    qs = DownloadLog.objects.select_related("user")
    if scope.superuser:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(Q(user=user) | scoping.county_q(scope, "county_id"))


def resolve_scope(user, scope_type: str, scope_id) -> tuple[int, str, int]:
    """(scope id, display name, county id) if the user may see reports for that scope, else OutOfScope."""
    try:
        scope_id = int(scope_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("缺少或无效的范围编号 scope") from exc
    scope = scoping.scope_for(user)
    if scope_type == ReportRun.ScopeType.COUNTY:
        county = County.objects.filter(pk=scope_id).first()
        if county is None or not scope.manages_county(scope_id):
            raise OutOfScope("范围不存在或您无权查看")
        return county.pk, county.name, county.pk
    if scope_type == ReportRun.ScopeType.SCHOOL:
        school = School.objects.filter(pk=scope_id).first()
        if school is None or not scope.manages_school(school):
            raise OutOfScope("范围不存在或您无权查看")
        return school.pk, school.name, school.county_id
    if scope_type == ReportRun.ScopeType.CLASSROOM:
        classroom = scoping.manageable_classrooms(user).select_related("school").filter(pk=scope_id).first()
        if classroom is None:
            raise OutOfScope("范围不存在或您无权查看")
        return classroom.pk, f"{classroom.school.name} {classroom.name}", classroom.school.county_id
    raise InvalidInput("未知的范围类型")


def default_scope(user, scope_type: str) -> int | None:
    """The obvious scope for a user who did not name one: their one county, school or class (by post)."""
    ids = scoping.scope_for(user).post_ids(scope_type)  # scope types are named like the post levels
    return ids[0] if len(ids) == 1 else None


def report_scopes(user) -> list[tuple[str, int, str]]:
    """(scope type, id, name) of every county, school and class the user may generate reports for."""
    counties = list(scoping.managed_counties(user).values_list("pk", "name"))
    schools = list(scoping.managed_schools(user).order_by("code").values_list("pk", "name"))
    classes = list(
        scoping.manageable_classrooms(user)
        .select_related("school")
        .order_by("school__code", "grade__level", "number")
        .values_list("pk", "school__name", "name")[:CLASS_OPTIONS_LIMIT]
    )
    scopes = [(ReportRun.ScopeType.COUNTY.value, pk, name) for pk, name in counties]
    scopes += [(ReportRun.ScopeType.SCHOOL.value, pk, name) for pk, name in schools]
    scopes += [(ReportRun.ScopeType.CLASSROOM.value, pk, f"{school} {name}") for pk, school, name in classes]
    return scopes


def is_principal_of(user, school_id: int) -> bool:
    return bool(
        user.is_authenticated
        and Post.objects.active().filter(user=user, role=Post.Role.PRINCIPAL, school_id=school_id).exists()
    )


def can_sign(user, run: ReportRun) -> bool:
    """Whether the user may sign off this run now: a finished school weekly report of their school, unsigned."""
    return (
        run.kind == ReportRun.Kind.SCHOOL_WEEKLY
        and run.status == ReportRun.Status.DONE
        and is_principal_of(user, run.scope_id)
        and not ReportSignature.objects.filter(run=run).exists()
    )
