"""The 包保 page: a school's leading group, its matrix on both lines, and its gaps with a form to fill each.

Managers (the school's leaders, the bureau) edit; a teacher or cadre sees the rows naming them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render

from students import scoping
from students.errors import DomainError, InvalidInput, int_or_none, page_message
from students.models import Post, School, User

from ..models import LeadingGroupMember, Responsibility
from . import selectors, services

R = Responsibility


@login_required
def matrix_page(request):
    user = request.user
    schools = list(scoping.managed_schools(user).order_by("code"))
    school = next(
        (s for s in schools if s.pk == int_or_none(request.GET.get("school"))), schools[0] if schools else None
    )
    if request.method == "POST":
        if school is None:
            raise Http404
        try:
            _act(request, school)
        except DomainError as exc:
            messages.error(request, page_message(exc))
        return redirect(f"{request.path}?school={school.pk}")
    if school is None:  # a teacher or cadre: the rows naming them
        mine = selectors.responsibility_list(user, person=user.pk)
        return render(request, "accountability/matrix_mine.html", {"rows": mine})
    year = services.school_year_for(school.county_id)
    rows = list(selectors.responsibility_list(user, school_year=year.pk, school=school.pk))
    found = selectors.gaps(user, school=school.pk, school_year=year)
    group = selectors.leading_groups_visible_to(user).filter(school=school, school_year=year).first()
    people = _people(school)
    return render(
        request,
        "accountability/matrix.html",
        {
            "school": school,
            "schools": schools,
            "year": year,
            "rows": rows,
            "gaps": found,
            "group": group,
            "members": list(group.members.select_related("user")) if group else [],
            "duties": LeadingGroupMember.Duty.choices,
            "people": people,
            "cadres": _cadres(school),
            "grades": list(school.grades.order_by("level")),
            "classrooms": list(
                scoping.classrooms_visible_to(user).filter(grade__school=school).order_by("grade__level", "number")
            ),
        },
    )


def _people(school: School) -> list[User]:
    posts = Post.objects.active().filter(
        Q(role__in=Post.SCHOOL_ROLES, school=school) | Q(role__in=Post.CLASSROOM_ROLES, classroom__grade__school=school)
    )
    return list(User.objects.filter(pk__in=posts.values("user_id")).order_by("username"))


def _cadres(school: School) -> list[User]:
    posts = Post.objects.active().filter(role=Post.Role.CADRE, county_id=school.county_id)
    return list(User.objects.filter(pk__in=posts.values("user_id")).order_by("username"))


def _act(request, school: School) -> None:
    user, data = request.user, request.POST
    action = data.get("action")
    if action == "add":
        kind, _, target_text = data.get("target", "").partition(":")  # "classroom:12", or a kind and an id
        if not target_text:
            kind, target_text = data.get("target_kind", ""), data.get("target", "")
        target = int_or_none(target_text)
        person = int_or_none(data.get("person"))
        if target is None or person is None:
            raise InvalidInput("请选择包保对象和责任人")
        row = services.add_responsibility(
            user=user,
            person_id=person,
            line=data.get("line", ""),
            target_kind=kind,
            target_id=target,
            note=data.get("note", ""),
        )
        messages.success(request, f"已指定 {row.person} 为{row.get_target_kind_display()}责任人({row.target})")
    elif action == "remove":
        pk = int_or_none(data.get("row"))
        if pk is None:
            raise InvalidInput("请选择要删除的包保责任")
        services.remove_responsibility(user=user, responsibility_id=pk)
        messages.success(request, "已删除该包保责任")
    elif action == "group":
        leader = int_or_none(data.get("leader"))
        if leader is None:
            raise InvalidInput("请选择组长")
        members = [
            services.MemberInput(pk, data.get(f"duty_{pk}", LeadingGroupMember.Duty.MEMBER), data.get(f"task_{pk}", ""))
            for pk in (int_or_none(v) for v in data.getlist("members"))
            if pk is not None and pk != leader
        ]
        services.save_leading_group(
            user=user, school_id=school.pk, leader_id=leader, members=members, duties=data.get("duties", "")
        )
        messages.success(request, "领导小组已保存")
    else:
        raise InvalidInput("未知操作")
