"""Who may see what. The one place that decides it.

Every list, detail, count, search, export and report starts from a selector here. Objects
outside a user's scope do not exist for them: callers answer 404, never 403.

Nothing outside this module reads a scope's id sets (``school_ids``, ``county_ids``,
``classroom_ids``); callers ask the questions below (``scope.manages_school(school)``,
``managed_schools(user)``, …). ``tests/test_architecture.py`` holds that line.

Scopes come from the user's active posts:
- bureau → the whole county;
- principal / school leader → their school;
- class teacher / subject teacher → their classroom;
- township / village cadre → students whose home village lies in their township / village
  (the administrative line), and the schools and classrooms those students attend.
"""

import dataclasses
import datetime as dt

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.http import Http404
from django.utils import timezone

from . import idnumber
from .models import Classroom, County, Post, School, Student, Village

_CACHE_ATTR = "_kc_scope"
_SCOPE_KEY = "kc:scope:{}"  # the user's id → (day, Scope)
SCOPE_CACHE_SECONDS = 60

# Roles that see full identity numbers; everyone else sees the last four digits.
FULL_ID_ROLES = frozenset({Post.Role.BUREAU, Post.Role.PRINCIPAL, Post.Role.SCHOOL_LEADER})


@dataclasses.dataclass(frozen=True)
class Scope:
    superuser: bool = False
    roles: frozenset[str] = frozenset()
    county_ids: frozenset[int] = frozenset()
    township_ids: frozenset[int] = frozenset()
    village_ids: frozenset[int] = frozenset()
    school_ids: frozenset[int] = frozenset()
    classroom_ids: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (
            self.superuser
            or self.county_ids
            or self.township_ids
            or self.village_ids
            or self.school_ids
            or self.classroom_ids
        )

    @property
    def sees_full_id_numbers(self) -> bool:
        return self.superuser or bool(self.roles & FULL_ID_ROLES)

    @property
    def residence_line(self) -> bool:
        return bool(self.township_ids or self.village_ids)

    # --- what the posts make the user (decisions callers ask instead of reading the id sets) ---

    @property
    def is_bureau(self) -> bool:
        """Holds a bureau post (a county)."""
        return bool(self.county_ids)

    @property
    def county_level(self) -> bool:
        """Sees whole counties: a bureau post, or a superuser."""
        return self.superuser or self.is_bureau

    @property
    def leads_a_school(self) -> bool:
        """Holds a principal / school leader post."""
        return bool(self.school_ids)

    @property
    def teaches_a_class(self) -> bool:
        """Holds a class / subject teacher post."""
        return bool(self.classroom_ids)

    @property
    def on_education_line(self) -> bool:
        """Holds a post on the education line (bureau, school or class), or is a superuser; cadres are not."""
        return self.county_level or self.leads_a_school or self.teaches_a_class

    @property
    def school_post_count(self) -> int:
        return len(self.school_ids)

    @property
    def classroom_post_count(self) -> int:
        return len(self.classroom_ids)

    @property
    def only_school_id(self) -> int | None:
        """The school of a user whose widest post is one school leader post."""
        if len(self.school_ids) == 1 and not self.county_ids:
            return next(iter(self.school_ids))
        return None

    @property
    def only_classroom_id(self) -> int | None:
        """The class of a user whose only posts are one classroom's."""
        if len(self.classroom_ids) == 1 and not (self.county_ids or self.school_ids):
            return next(iter(self.classroom_ids))
        return None

    @property
    def home_county_id(self) -> int | None:
        """The (lowest-numbered) county of the user's bureau posts."""
        return min(self.county_ids) if self.county_ids else None

    def manages_county(self, county_id: int | None) -> bool:
        """Superuser, or bureau staff of that county."""
        return self.superuser or county_id in self.county_ids

    def leads_school(self, school_id: int | None) -> bool:
        """Principal / school leader of that school (a post, not the county's reach)."""
        return school_id is not None and school_id in self.school_ids

    def teaches_classroom(self, classroom_id: int | None) -> bool:
        """Class / subject teacher of that class."""
        return classroom_id is not None and classroom_id in self.classroom_ids

    def manages_school(self, school: School) -> bool:
        """Superuser, school leader of the school, or bureau staff of its county."""
        return self.superuser or self.leads_school(school.pk) or school.county_id in self.county_ids

    def manages_student(self, student: Student) -> bool:
        """On the education line of the student: their class, school or county (cadres are not)."""
        return (
            self.superuser
            or self.teaches_classroom(student.classroom_id)
            or self.leads_school(student.school_id)
            or (student.school is not None and student.school.county_id in self.county_ids)
        )

    def post_ids(self, level: str) -> list[int]:
        """The ids of the user's own posts at one level: ``county``, ``school`` or ``classroom`` (sorted)."""
        pools = {"county": self.county_ids, "school": self.school_ids, "classroom": self.classroom_ids}
        return sorted(pools.get(level, ()))

    def as_dict(self) -> dict[str, list[int]]:
        """The id sets for the API's ``/me/`` (sorted lists)."""
        return {
            "counties": sorted(self.county_ids),
            "townships": sorted(self.township_ids),
            "villages": sorted(self.village_ids),
            "schools": sorted(self.school_ids),
            "classrooms": sorted(self.classroom_ids),
        }


def scope_for(user, on: dt.date | None = None) -> Scope:
    """The user's scope today (or on a given day).

    Today's scope is kept on the user object for the request, and in the shared cache for
    ``SCOPE_CACHE_SECONDS`` between requests: every API call and page starts here, and reading the
    posts again each time was a tenth of the attendance submit's time under load. A post saved or
    deleted drops its user's entry at once (and again at commit); the entry also lapses at midnight,
    when posts start and end.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    if on is not None:
        return Scope(superuser=True) if user.is_superuser else _scope_from_posts(user, on)
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(superuser=True)
    else:
        today = timezone.localdate()
        key = _SCOPE_KEY.format(user.pk)
        hit = cache.get(key)
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == today and isinstance(hit[1], Scope):
            scope = hit[1]
        else:
            scope = _scope_from_posts(user, today)
            cache.set(key, (today, scope), SCOPE_CACHE_SECONDS)
    setattr(user, _CACHE_ATTR, scope)
    return scope


def _scope_from_posts(user, day: dt.date) -> Scope:
    rows = (
        Post.objects.active(day)
        .filter(user=user)
        .values_list("role", "county_id", "township_id", "village_id", "school_id", "classroom_id")
    )
    roles, counties, townships, villages, schools, classrooms = set(), set(), set(), set(), set(), set()
    for role, county_id, township_id, village_id, school_id, classroom_id in rows:
        roles.add(role)
        if role == Post.Role.BUREAU:
            counties.add(county_id)
        elif role in Post.SCHOOL_ROLES:
            schools.add(school_id)
        elif role in Post.CLASSROOM_ROLES:
            classrooms.add(classroom_id)
        elif role == Post.Role.CADRE:
            if village_id:
                villages.add(village_id)
            else:
                townships.add(township_id)
    return Scope(
        roles=frozenset(roles),
        county_ids=frozenset(counties),
        township_ids=frozenset(townships),
        village_ids=frozenset(villages),
        school_ids=frozenset(schools),
        classroom_ids=frozenset(classrooms),
    )


def _drop_cached_scope(user_id: int | None) -> None:
    if user_id:
        cache.delete(_SCOPE_KEY.format(user_id))


def _post_changed(sender, instance: Post, **kwargs) -> None:
    user_id = instance.user_id
    _drop_cached_scope(user_id)
    # Again once committed: a scope read by another request before the commit is not kept.
    transaction.on_commit(lambda: _drop_cached_scope(user_id))


post_save.connect(_post_changed, sender=Post, dispatch_uid="scope_forget_post_save")
post_delete.connect(_post_changed, sender=Post, dispatch_uid="scope_forget_post_delete")


def forget_scope(user) -> None:
    """Drop the cached scope (after posts change within one request or test, or by a bulk update)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
    _drop_cached_scope(getattr(user, "pk", None))


def _never() -> Q:
    return Q(pk__in=[])


def county_q(scope: Scope, field: str = "county_id") -> Q:
    """``field`` lies in one of the user's bureau counties (nothing for everyone else)."""
    return Q(**{f"{field}__in": scope.county_ids}) if scope.county_ids else _never()


def led_school_q(scope: Scope, field: str = "school_id") -> Q:
    """``field`` is one of the schools the user leads (nothing for everyone else)."""
    return Q(**{f"{field}__in": scope.school_ids}) if scope.school_ids else _never()


def taught_classroom_q(scope: Scope, field: str = "classroom_id") -> Q:
    """``field`` is one of the classes the user teaches (nothing for everyone else)."""
    return Q(**{f"{field}__in": scope.classroom_ids}) if scope.classroom_ids else _never()


def residence_q(scope: Scope, township_field: str, village_field: str | None = None) -> Q:
    """``township_field`` is one of the cadre's townships (or ``village_field`` one of their villages,
    or a village of their townships) — the administrative line's places; nothing for everyone else."""
    q = _never()
    if scope.township_ids:
        q |= Q(**{f"{township_field}__in": scope.township_ids})
    if village_field and scope.village_ids:
        q |= Q(**{f"{village_field}__in": scope.village_ids})
    return q


def student_q(scope: Scope, prefix: str = "") -> Q:
    """Q over Student (or over a model reaching Student through ``prefix``, e.g. 'student__')."""
    if scope.superuser:
        return Q()
    q = _never()
    if scope.county_ids:
        q |= Q(**{f"{prefix}school__county_id__in": scope.county_ids})
    if scope.school_ids:
        q |= Q(**{f"{prefix}school_id__in": scope.school_ids})
    if scope.classroom_ids:
        q |= Q(**{f"{prefix}classroom_id__in": scope.classroom_ids})
    if scope.township_ids:
        q |= Q(**{f"{prefix}village__township_id__in": scope.township_ids})
    if scope.village_ids:
        q |= Q(**{f"{prefix}village_id__in": scope.village_ids})
    return q


def students_visible_to(user) -> QuerySet[Student]:
    return Student.objects.filter(student_q(scope_for(user)))


def _residents_q(scope: Scope, school_field: str) -> Q:
    """Cadres see the schools / classrooms their residents attend."""
    if not scope.residence_line:
        return _never()
    residents = Student.objects.filter(
        Q(village__township_id__in=scope.township_ids) | Q(village_id__in=scope.village_ids),
        **{school_field: OuterRef("pk")},
    )
    return Q(Exists(residents))


def schools_visible_to(user) -> QuerySet[School]:
    scope = scope_for(user)
    if scope.superuser:
        return School.objects.all()
    q = _never()
    if scope.county_ids:
        q |= Q(county_id__in=scope.county_ids)
    if scope.school_ids:
        q |= Q(pk__in=scope.school_ids)
    if scope.classroom_ids:
        q |= Q(classrooms__in=scope.classroom_ids)
    q |= _residents_q(scope, "school_id")
    return School.objects.filter(pk__in=School.objects.filter(q).values("pk"))


def classrooms_visible_to(user) -> QuerySet[Classroom]:
    scope = scope_for(user)
    if scope.superuser:
        return Classroom.objects.all()
    q = _never()
    if scope.county_ids:
        q |= Q(school__county_id__in=scope.county_ids)
    if scope.school_ids:
        q |= Q(school_id__in=scope.school_ids)
    if scope.classroom_ids:
        q |= Q(pk__in=scope.classroom_ids)
    q |= _residents_q(scope, "classroom_id")
    return Classroom.objects.filter(q)


def get_visible_or_404(queryset: QuerySet, **lookup):
    """Fetch one object from an already scoped queryset; out of scope is simply not found."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def manageable_classrooms(user) -> QuerySet[Classroom]:
    scope = scope_for(user)
    if scope.superuser:
        return Classroom.objects.all()
    return Classroom.objects.filter(
        Q(pk__in=scope.classroom_ids) | Q(school_id__in=scope.school_ids) | Q(school__county_id__in=scope.county_ids)
    )


def manageable_classroom(user, classroom_id: int) -> Classroom | None:
    """The one class ``classroom_id`` (with its school) if ``manageable_classrooms(user)`` holds it, else None.

    The same rule decided in Python on the class's own row: one simple query, for the attendance
    submit, the system's hottest write.
    """
    try:
        classroom = Classroom.objects.select_related("school").get(pk=classroom_id)  # get(): no ordering
    except Classroom.DoesNotExist:
        return None
    scope = scope_for(user)
    allowed = (
        scope.superuser
        or scope.teaches_classroom(classroom.pk)
        or scope.leads_school(classroom.school_id)
        or classroom.school.county_id in scope.county_ids
    )
    return classroom if allowed else None


def student_number_q(user, q: str, prefix: str = "") -> Q:
    """Students (or rows reaching Student through ``prefix``, e.g. 'student__') whose 学籍号 or 身份证号
    matches the search ``q``, as this user may search them.

    Who sees full identity numbers finds by the start of either number. Everyone else finds only by
    the whole number: a prefix search would give away the masked digits one by one (the 全国学籍号 is
    "G" + the 身份证号), as a teacher could by asking for the first 13 digits followed by 0, 1, … 9.
    """
    q = (q or "").strip()
    if not q or not q.isascii():
        return _never()
    student_no, id_number = f"{prefix}student_no", f"{prefix}id_number"
    if scope_for(user).sees_full_id_numbers:
        condition = Q(**{f"{student_no}__istartswith": q})
        if len(q) >= 6 and any(ch.isdigit() for ch in q):
            condition |= Q(**{f"{id_number}__startswith": q.upper()})
        return condition
    return Q(**{f"{student_no}__iexact": q}) | Q(**{id_number: q.upper()})


# The numbers that identify a child: the 身份证号, and the 全国学籍号, which is "G" + the 身份证号.
IDENTIFYING_NUMBERS = ("id_number", "student_no")


def display_id_number(user, value: str) -> str:
    """A 身份证号 or 学籍号 as this user may see it: masked but for the last four characters unless
    their role allows (pages, API, printed forms, history; ledgers decide once per file)."""
    if scope_for(user).sees_full_id_numbers:
        return value
    return idnumber.mask(value)


def history_names(user, student: Student, wanted: dict[str, set]) -> dict[str, dict[int, str]]:
    """Names of the schools, classes and villages a visible student's own history refers to.

    ``wanted`` maps ``school`` / ``classroom`` / ``village`` to ids taken from ``student``'s history rows.
    Seeing a student includes seeing where they were before (a transfer's former school and class),
    but nothing else of those places; a student outside the user's scope gives no names at all.
    """
    if not any(wanted.values()) or not students_visible_to(user).filter(pk=student.pk).exists():
        return {}
    models = {"school": School.objects.all(), "classroom": Classroom.objects.all()}
    models["village"] = Village.objects.select_related("township")
    return {
        field: {obj.pk: str(obj) for obj in models[field].filter(pk__in=ids)}
        for field, ids in wanted.items()
        if ids and field in models
    }


def post_county_ids(user) -> QuerySet:
    """Counties the user holds any active post in (for county reference data such as townships, calendars)."""
    return Post.objects.active().filter(user=user).values("county_id")


def led_schools(user) -> QuerySet[School]:
    """Schools the user leads through a principal / school leader post."""
    return School.objects.filter(led_school_q(scope_for(user), "pk"))


def managed_schools(user) -> QuerySet[School]:
    """Schools the user runs or oversees: led schools and every school of a bureau county (all for a superuser).

    Narrower than ``schools_visible_to``: a class teacher or a cadre sees a school without managing it.
    """
    scope = scope_for(user)
    if scope.superuser:
        return School.objects.all()
    return School.objects.filter(led_school_q(scope, "pk") | county_q(scope, "county_id"))


def managed_counties(user) -> QuerySet[County]:
    """Counties the user works for as bureau staff (all for a superuser)."""
    scope = scope_for(user)
    if scope.superuser:
        return County.objects.all()
    return County.objects.filter(county_q(scope, "pk"))


def county_ids_of(user) -> list[int]:
    """The user's counties: those of their bureau posts, else those of the schools they lead (sorted)."""
    scope = scope_for(user)
    if scope.is_bureau:
        return scope.post_ids("county")
    return sorted(set(led_schools(user).values_list("county_id", flat=True)))


# --- added for reporting ---


def scope_name(user) -> str:
    """A short name for the whole of a user's scope (a ledger's title row): '全部' for a superuser, else
    up to three of their counties, schools, classes, townships and villages ('等' when there are more)."""
    from .models import Township, Village

    scope = scope_for(user)
    if scope.superuser:
        return "全部"
    names: list[str] = []
    names += County.objects.filter(pk__in=scope.county_ids).values_list("name", flat=True)
    names += School.objects.filter(pk__in=scope.school_ids).values_list("name", flat=True)
    names += [
        f"{school} {room}"
        for school, room in Classroom.objects.filter(pk__in=scope.classroom_ids).values_list("school__name", "name")
    ]
    names += Township.objects.filter(pk__in=scope.township_ids).values_list("name", flat=True)
    names += [
        f"{township}{village}"
        for township, village in Village.objects.filter(pk__in=scope.village_ids).values_list("township__name", "name")
    ]
    return "、".join(names[:3]) + ("等" if len(names) > 3 else "")
