"""Reads of 目标责任书. Every function takes the user; scoping comes from students.scoping.

Who sees a pledge: the bureau of its county; the principal and school leaders of its school; a
teacher the pledges naming them as 乙方, and the 学校—家长 pledges of the students of the classes they
teach (a class teacher writes those). Cadres and users without a post see none.

**Signed** is defined here once, for the lists, the unsigned board and any later metric: a pledge is
signed when its signed date is set *and* its signed scan is stored. A date without the paper, or
paper without a date, is not signed.

Who may be named (:func:`party_a_q`, :func:`party_b_q`): a person holding the right post at the
school (or, for the bureau's side, in the school's county) at some time during the pledge's term.
The services refuse anybody else, and the create form offers only them.
"""

import dataclasses
import datetime as dt

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from students import scoping
from students.errors import OutOfScope
from students.models import Post, School, Student, Term, User

from ..models import Pledge, PledgeTemplate
from ..models.pledges import PledgeKind

K = PledgeKind
SIGNED_Q = Q(signed_on__isnull=False) & ~Q(scan="")
"""The one definition of a signed pledge (see the module docstring)."""
STAFF_KINDS = (K.BUREAU_PRINCIPAL, K.PRINCIPAL_TEACHER, K.PRINCIPAL_SUBJECT_TEACHER)
FAMILY_STATUSES = (Student.Status.ENROLLED, Student.Status.SUSPENDED, Student.Status.DROPPED_OUT)
"""Students a 学校—家长 pledge may name: in school, on leave, or dropped out (whom the pledge is to bring back)."""


def is_signed(pledge: Pledge) -> bool:
    """``SIGNED_Q`` for one pledge."""
    return pledge.signed_on is not None and bool(pledge.scan)


# --- visibility ---------------------------------------------------------------------------------


def pledge_q(user) -> Q:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Q()
    q = scoping.county_q(scope, "county_id") | scoping.led_school_q(scope, "school_id")
    if scope.on_education_line:
        q |= Q(party_b_id=user.pk)
    if scope.teaches_a_class:
        q |= Q(kind=K.SCHOOL_FAMILY) & scoping.taught_classroom_q(scope, "student__classroom_id")
    return q


def pledges_visible_to(user) -> QuerySet[Pledge]:
    return Pledge.objects.filter(pledge_q(user))


def filter_pledges(qs: QuerySet[Pledge], *, school=None, term=None, kind: str = "", signed: bool | None = None):
    """The list filters, shared by the page and the API (``signed=False`` keeps the unsigned)."""
    if school:
        qs = qs.filter(school_id=school)
    if term:
        qs = qs.filter(term_id=term)
    if kind:
        qs = qs.filter(kind=kind)
    if signed is True:
        qs = qs.filter(SIGNED_Q)
    elif signed is False:
        qs = qs.exclude(SIGNED_Q)
    return qs


def pledge_list(user, *, school=None, term=None, kind: str = "", signed: bool | None = None) -> QuerySet[Pledge]:
    """Pledges in scope with what a list needs (constant queries): latest term first, by school and kind."""
    qs = pledges_visible_to(user).select_related(
        "school", "term__school_year", "party_a", "party_b", "student__classroom"
    )
    qs = filter_pledges(qs, school=school, term=term, kind=kind, signed=signed)
    return qs.order_by("-term__start_date", "school__code", "kind", "pk")


def pledge_detail(user, pk) -> Pledge:
    """One visible pledge with what its page and its printout need (Http404 otherwise)."""
    return scoping.get_visible_or_404(
        pledges_visible_to(user).select_related(
            "school__county", "term__school_year", "party_a", "party_b", "student__classroom", "created_by"
        ),
        pk=pk,
    )


def scan_for(user, pk) -> Pledge | None:
    """A visible pledge that has a stored scan (None for anyone else, or when there is no scan)."""
    try:
        return pledges_visible_to(user).exclude(scan="").filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


def trail(pledge: Pledge) -> list:
    """The pledge's history rows, oldest first, each with ``what`` it changed (登记, 上传/更换扫描件, 修改目标)."""
    rows = list(pledge.history.select_related("history_user").order_by("history_date", "history_id"))
    shown, previous = [], None
    for row in rows:
        if previous is None:
            row.what = "登记责任书"
        elif row.history_type == "-":
            row.what = "删除责任书"
        elif row.scan_sha256 != previous.scan_sha256:
            verb = "更换签字扫描件" if previous.scan_sha256 else "上传签字扫描件"
            row.what = f"{verb}“{row.scan_name}”,签订日期 {row.signed_on:%Y-%m-%d}" if row.signed_on else verb
        elif row.signed_on != previous.signed_on:
            row.what = f"签订日期改为 {row.signed_on:%Y-%m-%d}" if row.signed_on else "签订日期已清除"
        elif row.targets != previous.targets:
            row.what = "修改责任目标"
        else:
            row.what = "修改"
        shown.append(row)
        previous = row
    return shown


# --- who may act --------------------------------------------------------------------------------


def may_create(user) -> bool:
    """Holds a post that may write some pledge: the bureau, a school leader, a class teacher (家校责任书).
    The create endpoint and form exist for them only."""
    scope = scoping.scope_for(user)
    return scope.county_level or scope.leads_a_school or Post.Role.CLASS_TEACHER in scope.roles


def is_class_teacher_of(user, student: Student) -> bool:
    """``user`` is the class teacher (班主任, not a subject teacher) of the student's class today."""
    if student.classroom_id is None:
        return False
    return Post.objects.class_teachers().filter(user=user, classroom_id=student.classroom_id).exists()


def may_manage(user, kind: str, school: School, student: Student | None = None) -> bool:
    """May write a pledge of ``kind`` at ``school`` (create it, record its signature, edit or delete it
    while unsigned): 教育局—校长 the bureau; 校长—班主任 / 校长—任课教师 the school's leaders or the
    bureau; 学校—家长 the school's leaders or the student's class teacher."""
    scope = scoping.scope_for(user)
    if scope.superuser:
        return True
    if kind == K.BUREAU_PRINCIPAL:
        return scope.manages_county(school.county_id)
    if kind in (K.PRINCIPAL_TEACHER, K.PRINCIPAL_SUBJECT_TEACHER):
        return scope.manages_county(school.county_id) or scope.leads_school(school.pk)
    return scope.leads_school(school.pk) or (student is not None and is_class_teacher_of(user, student))


def may_manage_pledge(user, pledge: Pledge) -> bool:
    return may_manage(user, pledge.kind, pledge.school, pledge.student)


def creatable_kinds(user, school: School) -> list[tuple[str, str]]:
    """The kinds ``user`` may write at ``school`` (学校—家长 for a class teacher of one of its classes)."""
    scope = scoping.scope_for(user)
    kinds = [
        (code, str(label)) for code, label in K.choices if code != K.SCHOOL_FAMILY and may_manage(user, code, school)
    ]
    family = scope.superuser or scope.leads_school(school.pk)
    family = family or Post.objects.class_teachers().filter(user=user, classroom__school=school).exists()
    if family:
        kinds.append((str(K.SCHOOL_FAMILY), str(K.SCHOOL_FAMILY.label)))
    return kinds


def creation_schools(user) -> QuerySet[School]:
    """Schools where ``user`` may write some pledge: the schools they manage, and a class teacher's school."""
    scope = scoping.scope_for(user)
    if scope.superuser:
        return School.objects.all()
    taught = Post.objects.class_teachers().filter(user=user).values("classroom__school_id")
    return School.objects.filter(Q(pk__in=scoping.managed_schools(user).values("pk")) | Q(pk__in=taught))


# --- who may be named ---------------------------------------------------------------------------


def posts_in_term(term: Term):
    """Posts held at some time during ``term``."""
    return Post.objects.filter(start_date__lte=term.end_date).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=term.start_date)
    )


PARTY_A_RULE: dict[str, str] = {
    K.BUREAU_PRINCIPAL: "甲方须是本县教育局人员",
    K.PRINCIPAL_TEACHER: "甲方须是本校的校长或校领导",
    K.PRINCIPAL_SUBJECT_TEACHER: "甲方须是本校的校长或校领导",
    K.SCHOOL_FAMILY: "甲方须是本校的校长或校领导",
}
PARTY_B_RULE: dict[str, str] = {
    K.BUREAU_PRINCIPAL: "乙方须是本校校长",
    K.PRINCIPAL_TEACHER: "乙方须是本校的班主任",
    K.PRINCIPAL_SUBJECT_TEACHER: "乙方须是本校的任课教师",
}


def party_a_q(kind: str, school: School, term: Term) -> Q:
    posts = posts_in_term(term)
    if kind == K.BUREAU_PRINCIPAL:
        posts = posts.filter(role=Post.Role.BUREAU, county_id=school.county_id)
    else:
        posts = posts.filter(role__in=Post.SCHOOL_ROLES, school_id=school.pk)
    return Q(pk__in=posts.values("user_id"), is_active=True)


def party_b_q(kind: str, school: School, term: Term) -> Q | None:
    """Who may be 乙方 (None for 学校—家长: the 乙方 is the guardian, not a user)."""
    posts = posts_in_term(term)
    if kind == K.BUREAU_PRINCIPAL:
        posts = posts.filter(role=Post.Role.PRINCIPAL, school_id=school.pk)
    elif kind == K.PRINCIPAL_TEACHER:
        posts = posts.filter(role=Post.Role.CLASS_TEACHER, classroom__school_id=school.pk)
    elif kind == K.PRINCIPAL_SUBJECT_TEACHER:
        posts = posts.filter(role=Post.Role.SUBJECT_TEACHER, classroom__school_id=school.pk)
    else:
        return None
    return Q(pk__in=posts.values("user_id"), is_active=True)


def party_candidates(kind: str, school: School, term: Term) -> tuple[list[User], list[User]]:
    """The people the create form offers as 甲方 and 乙方 (the same rules the services check)."""
    party_a = list(User.objects.filter(party_a_q(kind, school, term)).order_by("display_name", "username"))
    b_q = party_b_q(kind, school, term)
    party_b = list(User.objects.filter(b_q).order_by("display_name", "username")) if b_q is not None else []
    return party_a, party_b


def family_students(user, school: School) -> QuerySet[Student]:
    """Students of ``school`` the user sees, for a 学校—家长 pledge (a class teacher: their class)."""
    return (
        scoping.students_visible_to(user)
        .filter(school=school, status__in=FAMILY_STATUSES)
        .select_related("classroom")
        .order_by("classroom__grade__level", "classroom__number", "name", "pk")
    )


# --- terms --------------------------------------------------------------------------------------


def terms_for(user) -> QuerySet[Term]:
    """Terms of the counties the user works in (calendars are county reference data), latest first."""
    qs = Term.objects.select_related("school_year")
    if not scoping.scope_for(user).superuser:
        qs = qs.filter(school_year__county_id__in=scoping.post_county_ids(user))
    return qs.order_by("-start_date", "pk")


def visible_term(user, term_id) -> Term:
    term = terms_for(user).filter(pk=term_id).first() if term_id else None
    if term is None:
        raise OutOfScope("学期不存在或您无权查看")
    return term


def current_term(user, today: dt.date | None = None) -> Term | None:
    """The term running today in the user's counties; else the latest begun; else the next to come."""
    today = today or timezone.localdate()
    terms = terms_for(user)
    return (
        terms.filter(start_date__lte=today, end_date__gte=today).first()
        or terms.filter(start_date__lte=today).first()
        or terms.order_by("start_date", "pk").first()
    )


# --- templates ----------------------------------------------------------------------------------


def template_for(county_id: int, kind: str) -> PledgeTemplate | None:
    return PledgeTemplate.objects.filter(county_id=county_id, kind=kind).select_related("updated_by").first()


def templates_of(county_id: int) -> dict[str, PledgeTemplate]:
    """The county's own templates by kind (kinds without one print the built-in text)."""
    rows = PledgeTemplate.objects.filter(county_id=county_id).select_related("updated_by")
    return {row.kind: row for row in rows}


# --- who has not signed -------------------------------------------------------------------------


@dataclasses.dataclass
class Unsigned:
    """One person of a school who has no signed pledge of ``kind`` for the term."""

    school: School
    kind: str
    person: User
    classrooms: list[str]
    pledge_id: int | None  # an unsigned pledge already on file (record its signature), else None
    link: str  # where to create it or record its signature ("" when the user may do neither)

    @property
    def kind_label(self) -> str:
        return str(K(self.kind).label)

    @property
    def post_label(self) -> str:
        return POST_LABELS.get(self.kind, "任课教师")


POST_LABELS: dict[str, str] = {K.BUREAU_PRINCIPAL: "校长", K.PRINCIPAL_TEACHER: "班主任"}
ROLE_KIND: dict[str, str] = {
    Post.Role.PRINCIPAL: K.BUREAU_PRINCIPAL,
    Post.Role.CLASS_TEACHER: K.PRINCIPAL_TEACHER,
    Post.Role.SUBJECT_TEACHER: K.PRINCIPAL_SUBJECT_TEACHER,
}
KIND_ORDER: dict[str, int] = {kind: n for n, kind in enumerate(STAFF_KINDS)}


def create_link(*, kind: str, school_id: int, term_id: int, party_b_id: int) -> str:
    params: dict[str, str | int] = {"new_kind": kind, "new_school": school_id, "new_term": term_id}
    params["new_party_b"] = party_b_id
    query = urlencode(params)
    return f"{reverse('accountability:pledges')}?{query}#new-pledge"


def unsigned(user, term: Term, school=None) -> list[Unsigned]:
    """Who has not signed for ``term``, school by school in the user's scope: the principal without a
    signed 教育局—校长 pledge, each class teacher without a signed 校长—班主任 pledge, each subject
    teacher without a signed 校长—任课教师 pledge (people holding those posts during the term).

    The schools are those the user manages (bureau: the term's county; leaders: their school); a
    teacher, a cadre or an outsider gets an empty list. Three queries whatever the size.
    """
    schools_qs = scoping.managed_schools(user).filter(county_id=term.school_year.county_id)
    if school:
        schools_qs = schools_qs.filter(pk=school)
    schools = {s.pk: s for s in schools_qs}
    if not schools:
        return []
    posts = (
        posts_in_term(term)
        .filter(user__is_active=True)
        .filter(
            Q(role=Post.Role.PRINCIPAL, school_id__in=schools)
            | Q(role__in=Post.CLASSROOM_ROLES, classroom__school_id__in=schools)
        )
        .select_related("user", "classroom")
    )
    held: dict[tuple[int, str, int], Unsigned] = {}
    for post in posts:
        school_id = post.school_id if post.role == Post.Role.PRINCIPAL else post.classroom.school_id
        key = (school_id, ROLE_KIND[post.role], post.user_id)
        row = held.get(key)
        if row is None:
            row = held[key] = Unsigned(schools[school_id], key[1], post.user, [], None, "")
        if post.classroom_id and post.classroom.name not in row.classrooms:
            row.classrooms.append(post.classroom.name)
    on_file = (
        Pledge.objects.filter(term=term, school_id__in=schools, kind__in=STAFF_KINDS, party_b__isnull=False)
        .values_list("school_id", "kind", "party_b_id", "pk", "signed_on", "scan")
        .order_by("pk")
    )
    for school_id, kind, party_b_id, pk, signed_on, scan in on_file:
        found = held.get((school_id, kind, party_b_id))
        if found is None:
            continue
        if signed_on is not None and scan:
            del held[(school_id, kind, party_b_id)]
        elif found.pledge_id is None:
            found.pledge_id = pk
    rows = sorted(held.values(), key=lambda r: (r.school.code, KIND_ORDER[r.kind], str(r.person), r.person.pk))
    for row in rows:
        if not may_manage(user, row.kind, row.school):
            continue
        if row.pledge_id:
            row.link = reverse("accountability:pledge", args=[row.pledge_id]) + "#scan-form"
        else:
            row.link = create_link(kind=row.kind, school_id=row.school.pk, term_id=term.pk, party_b_id=row.person.pk)
    return rows


def unsigned_count(user, term: Term, school=None) -> int:
    return len(unsigned(user, term, school))
