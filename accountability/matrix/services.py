"""Writes of the leading groups and the 包保 matrix.

Who edits: a school's principal / school leaders edit the school side (the leading group, rows about
the school, its grades, classes and students); the bureau edits everything in its county, and
alone the county side (township and village rows). Who may be named: only a person holding the
right kind of post for the target (naming anybody else would hand them the students through the
matrix): school leaders and bureau staff cover a school; school leaders a grade or class, the class
teacher their own class; teachers of the school a student on the education line; cadres of the
student's township on the administrative line; cadres of a township cover it or its villages.
"""

import dataclasses
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from students import scoping
from students.calendar import cached_school_calendar
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Classroom, Grade, Post, School, SchoolYear, Student, Township, User, Village

from ..models import LeadingGroup, LeadingGroupMember, Responsibility

R = Responsibility


def school_year_for(county_id: int, school_year_id: int | None = None) -> SchoolYear:
    """The given school year of the county, else the current one (the latest begun by today)."""
    if school_year_id is not None:
        year = SchoolYear.objects.filter(pk=school_year_id, county_id=county_id).first()
        if year is None:
            raise InvalidInput("学年不存在")
        return year
    year = cached_school_calendar(county_id).school_year_of(timezone.localdate())
    if year is None:
        raise InvalidInput("本县尚未设置学年,请先在校历中添加学年")
    return year


def visible_school_year(user, school_year_id: int) -> SchoolYear:
    """A school year of a county the user works in (calendars are county reference data)."""
    year = SchoolYear.objects.filter(pk=school_year_id, county_id__in=scoping.post_county_ids(user)).first()
    if year is None and scoping.scope_for(user).superuser:
        year = SchoolYear.objects.filter(pk=school_year_id).first()
    if year is None:
        raise OutOfScope("学年不存在")
    return year


def _school_people(school: School) -> Q:
    """Users holding a post at the school: its leaders, its class and subject teachers."""
    posts = Post.objects.active().filter(
        Q(role__in=Post.SCHOOL_ROLES, school=school) | Q(role__in=Post.CLASSROOM_ROLES, classroom__grade__school=school)
    )
    return Q(pk__in=posts.values("user_id"))


def _cadres_of(township_id: int | None) -> Q:
    posts = (
        Post.objects.active()
        .filter(role=Post.Role.CADRE)
        .filter(Q(township_id=township_id) | Q(village__township_id=township_id))
    )
    return Q(pk__in=posts.values("user_id"))


@dataclasses.dataclass
class Target:
    kind: str
    obj: Any  # the school, grade, classroom, student, township or village
    county_id: int
    school: School | None  # the school whose side the row is on (None: the county side)
    township_id: int | None = None


def _target(kind: str, target_id: int) -> Target:
    if kind not in R.TargetKind.values:
        raise InvalidInput("包保对象类别无效(school、grade、classroom、student、township、village)")
    if kind == R.TargetKind.SCHOOL:
        school = School.objects.filter(pk=target_id).first()
        if school:
            return Target(kind, school, school.county_id, school)
    elif kind == R.TargetKind.GRADE:
        grade = Grade.objects.select_related("school").filter(pk=target_id).first()
        if grade:
            return Target(kind, grade, grade.school.county_id, grade.school)
    elif kind == R.TargetKind.CLASSROOM:
        room = Classroom.objects.select_related("grade__school").filter(pk=target_id).first()
        if room:
            return Target(kind, room, room.grade.school.county_id, room.grade.school)
    elif kind == R.TargetKind.STUDENT:
        student = Student.objects.select_related("school", "village").filter(pk=target_id).first()
        if student and student.school:
            home = student.village.township_id if student.village else student.school.township_id
            return Target(kind, student, student.school.county_id, student.school, home)
    elif kind == R.TargetKind.TOWNSHIP:
        township = Township.objects.filter(pk=target_id).first()
        if township:
            return Target(kind, township, township.county_id, None, township.pk)
    else:
        village = Village.objects.select_related("township").filter(pk=target_id).first()
        if village:
            return Target(kind, village, village.township.county_id, None, village.township_id)
    raise OutOfScope("包保对象不存在")


def _check_editor(user, target: Target) -> None:
    """The school side is the school leaders' and the bureau's; the county side the bureau's alone.
    A target the user cannot see does not exist for them (404); one they see but may not edit is 409."""
    scope = scoping.scope_for(user)
    if scope.manages_county(target.county_id) or (target.school is not None and scope.leads_school(target.school.pk)):
        return
    if target.kind == R.TargetKind.STUDENT:
        visible = scoping.students_visible_to(user).filter(pk=target.obj.pk).exists()
    elif target.kind == R.TargetKind.CLASSROOM:
        visible = scoping.classrooms_visible_to(user).filter(pk=target.obj.pk).exists()
    elif target.school is not None:
        visible = scoping.schools_visible_to(user).filter(pk=target.school.pk).exists()
    else:
        visible = target.county_id in set(scoping.post_county_ids(user).values_list("county_id", flat=True))
    if not visible:
        raise OutOfScope("包保对象不存在")
    raise InvalidTransition("您的岗位不能修改此包保责任(学校一侧由校长、校领导维护,乡镇、村由教育局维护)")


def _eligible(target: Target, line: str) -> tuple[Q, str]:
    """Who may be named for this target on this line, and why not (the Chinese message)."""
    kind, school = target.kind, target.school
    if line == R.Line.ADMINISTRATIVE:
        if kind not in (R.TargetKind.STUDENT, R.TargetKind.TOWNSHIP, R.TargetKind.VILLAGE):
            raise InvalidInput("行政线只包乡镇、包村或包人(学生)")
        return _cadres_of(target.township_id), "行政线责任人须是学生所在乡镇(或其村)的干部"
    if kind in (R.TargetKind.TOWNSHIP, R.TargetKind.VILLAGE):
        raise InvalidInput("包乡镇、包村属于行政线")
    assert school is not None
    leaders = Post.objects.active().filter(role__in=Post.SCHOOL_ROLES, school=school).values("user_id")
    if kind == R.TargetKind.SCHOOL:
        bureau = Post.objects.active().filter(role=Post.Role.BUREAU, county_id=target.county_id).values("user_id")
        return Q(pk__in=leaders) | Q(pk__in=bureau), "包校责任人须是本校校领导或本县教育局人员"
    if kind == R.TargetKind.GRADE:
        return Q(pk__in=leaders), "包年级责任人须是本校校领导"
    if kind == R.TargetKind.CLASSROOM:
        own = Post.objects.active().filter(role=Post.Role.CLASS_TEACHER, classroom=target.obj).values("user_id")
        return Q(pk__in=leaders) | Q(pk__in=own), "包班责任人须是本校校领导或本班班主任"
    return _school_people(school), "包人(教育线)责任人须是本校的校领导或教师"


@transaction.atomic
def add_responsibility(
    *,
    user,
    person_id: int,
    line: str,
    target_kind: str,
    target_id: int,
    school_year_id: int | None = None,
    note: str = "",
) -> Responsibility:
    """Name ``person`` for a target on a line for the school year (default: the current one)."""
    if line not in R.Line.values:
        raise InvalidInput("责任线无效(education 教育线 或 administrative 行政线)")
    target = _target(target_kind, target_id)
    _check_editor(user, target)
    year = school_year_for(target.county_id, school_year_id)
    eligible, why = _eligible(target, line)
    person = User.objects.filter(eligible, pk=person_id, is_active=True).first()
    if person is None:
        raise InvalidInput(why)
    row = Responsibility(
        county_id=target.county_id,
        school_year=year,
        person=person,
        line=line,
        target_kind=target_kind,
        owner_school=target.school,
        note=note.strip(),
        created_by=user,
        **{R.TARGET_FIELDS[target_kind]: target.obj},
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise InvalidTransition(f"{person}已是该对象本学年的{row.get_line_display()}责任人") from None
    return row


@transaction.atomic
def remove_responsibility(*, user, responsibility_id: int) -> None:
    row = Responsibility.objects.select_related("owner_school").filter(pk=responsibility_id).first()
    if row is None:
        raise OutOfScope("包保责任不存在")
    scope = scoping.scope_for(user)
    if not (scope.manages_county(row.county_id) or (row.owner_school_id and scope.leads_school(row.owner_school_id))):
        raise OutOfScope("包保责任不存在")
    row.delete()  # simple_history keeps the deleted row


@dataclasses.dataclass
class MemberInput:
    user_id: int
    duty: str = LeadingGroupMember.Duty.MEMBER
    task: str = ""


@transaction.atomic
def save_leading_group(
    *,
    user,
    school_id: int,
    leader_id: int,
    members: list[MemberInput],
    duties: str = "",
    school_year_id: int | None = None,
) -> LeadingGroup:
    """Set up or change a school's 控辍保学领导小组 for the school year: the 组长 and the members
    (each holding a post at the school; the bureau's staff may join as members)."""
    school = scoping.managed_schools(user).filter(pk=school_id).first()
    if school is None:
        raise OutOfScope("学校不存在或您无权维护")
    year = school_year_for(school.county_id, school_year_id)
    people = _school_people(school)
    bureau = Post.objects.active().filter(role=Post.Role.BUREAU, county_id=school.county_id).values("user_id")
    leader = User.objects.filter(people, pk=leader_id).first()
    if leader is None:
        raise InvalidInput("组长须是本校的校长或校领导、教师")
    ids = [m.user_id for m in members]
    if len(set(ids)) != len(ids):
        raise InvalidInput("成员名单中有重复的人员")
    if leader_id in ids:
        raise InvalidInput("组长不必再列为成员")
    for member in members:
        if member.duty not in LeadingGroupMember.Duty.values:
            raise InvalidInput("成员职务无效(deputy 副组长、member 成员、office 办公室主任)")
    allowed = set(User.objects.filter(people | Q(pk__in=bureau), pk__in=ids).values_list("pk", flat=True))
    strangers = [pk for pk in ids if pk not in allowed]
    if strangers:
        raise InvalidInput("成员须是本校的校领导、教师或本县教育局人员")
    group, created = LeadingGroup.objects.select_for_update().get_or_create(
        school=school,
        school_year=year,
        defaults={"leader": leader, "duties": duties.strip(), "updated_by": user},
    )
    if not created:
        group.leader, group.duties, group.updated_by, group.updated_at = leader, duties.strip(), user, timezone.now()
        group.save()
    current = {m.user_id: m for m in group.members.all()}
    for member in members:
        row = current.pop(member.user_id, None) or LeadingGroupMember(group=group, user_id=member.user_id)
        if row.pk is None or (row.duty, row.task) != (member.duty, member.task.strip()):
            row.duty, row.task = member.duty, member.task.strip()
            row.save()
    for gone in current.values():
        gone.delete()
    return group
