"""seed_demo: a believable, deterministic demo county with the fixed accounts of DESIGN.md §8."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from students import idnumber
from students.management.commands.seed_demo import FIXED_USERNAMES
from students.models import Classroom, County, Guardian, Post, School, Student, Term, User
from students.scoping import classrooms_visible_to, scope_for, students_visible_to

pytestmark = pytest.mark.django_db

N = 300


def seed(**options) -> str:
    out = io.StringIO()
    options.setdefault("students", N)
    options.setdefault("seed", 7)
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def roster() -> list[tuple[str, str]]:
    return list(Student.objects.order_by("id").values_list("student_no", "name"))


def only_post(username: str) -> Post:
    posts = list(Post.objects.active().filter(user__username=username))
    assert len(posts) == 1, posts
    return posts[0]


@pytest.fixture
def seeded(db):
    return seed()


def test_builds_a_county_of_the_requested_size(seeded):
    assert County.objects.get().code == "431226"
    assert Student.objects.count() == N
    assert School.objects.count() >= 2
    assert Guardian.objects.count() >= N
    assert Term.objects.filter(school_year__name="2026-2027").count() == 2
    assert Term.objects.filter(school_year__name="2025-2026").count() == 2
    # Every student is in a class of their school and lives in a village.
    assert not Student.objects.filter(classroom__isnull=True).exists()
    assert not Student.objects.filter(village__isnull=True).exists()
    assert all(s.classroom.school_id == s.school_id for s in Student.objects.select_related("classroom"))
    assert "principal" in seeded
    assert "用时" in seeded


def test_fixed_accounts_have_the_right_posts_and_scopes(seeded):
    users = {u.username: u for u in User.objects.filter(username__in=FIXED_USERNAMES)}
    assert set(users) == set(FIXED_USERNAMES)
    assert all(u.check_password("demo12345") and u.display_name for u in users.values())
    assert users["admin"].is_superuser
    assert users["admin"].is_staff
    assert not any(u.is_superuser for name, u in users.items() if name != "admin")

    county = County.objects.get()
    assert only_post("bureau").role == Post.Role.BUREAU
    assert scope_for(users["bureau"]).county_ids == {county.pk}

    principal = only_post("principal")
    school = principal.school
    assert principal.role == Post.Role.PRINCIPAL
    assert school.stage in (School.Stage.JUNIOR, School.Stage.NINE_YEAR)
    assert Classroom.objects.filter(school=school, grade__level=7).count() >= 2

    teacher, teacher2 = only_post("teacher"), only_post("teacher2")
    assert teacher.role == teacher2.role == Post.Role.CLASS_TEACHER
    assert teacher.classroom.school == teacher2.classroom.school == school
    assert teacher.classroom != teacher2.classroom
    assert (teacher.classroom.name, teacher2.classroom.name) == ("七年级(1)班", "七年级(2)班")
    class_students = set(Student.objects.filter(classroom=teacher.classroom).values_list("pk", flat=True))
    assert class_students
    assert set(students_visible_to(users["teacher"]).values_list("pk", flat=True)) == class_students

    principal2 = only_post("principal2")
    assert principal2.role == Post.Role.PRINCIPAL
    assert principal2.school != school

    cadre = only_post("cadre")
    assert cadre.role == Post.Role.CADRE
    assert cadre.township is not None
    assert Student.objects.filter(school=school, village__township=cadre.township).exists()
    assert classrooms_visible_to(users["cadre"]).filter(school=school).exists()


def test_every_class_has_a_class_teacher(seeded):
    rooms = set(Classroom.objects.values_list("pk", flat=True))
    taught = set(Post.objects.active().filter(role=Post.Role.CLASS_TEACHER).values_list("classroom_id", flat=True))
    assert taught == rooms
    assert Post.objects.active().filter(role=Post.Role.PRINCIPAL).count() == School.objects.count()


def test_id_numbers_are_valid_unique_and_match_the_student(seeded):
    rows = list(Student.objects.values_list("id_number", "student_no", "birth_date", "gender"))
    numbers = [r[0] for r in rows]
    assert len(set(numbers)) == len(numbers) == N
    for number, student_no, born, gender in rows:
        assert idnumber.validate_id_number(number) == number
        assert number.startswith("431226")
        assert student_no == "G" + number
        assert idnumber.birth_date_of(number) == born
        assert (int(number[16]) % 2 == 1) == (gender == Student.Gender.MALE)


def test_birth_dates_fit_the_grade(seeded):
    for student in Student.objects.select_related("classroom__grade"):
        level = student.classroom.grade.level
        age = student.age_on(dt.date(2026, 9, 1))
        assert level + 5 <= age <= level + 7, (student.name, level, student.birth_date)


def test_pinyin_fields_are_what_fill_derived_computes(seeded):
    for student in Student.objects.all()[:100]:
        fresh = Student(name=student.name, id_number=student.id_number, school_id=student.school_id)
        fresh.fill_derived()
        assert (student.name_pinyin, student.name_initials) == (fresh.name_pinyin, fresh.name_initials)


def test_same_seed_gives_the_same_data_and_another_seed_does_not(seeded):
    first = roster()
    seed(reset=True)
    assert roster() == first
    seed(reset=True, seed=8)
    other = roster()
    assert [name for _, name in other] != [name for _, name in first]
    assert User.objects.filter(username__in=FIXED_USERNAMES).count() == len(FIXED_USERNAMES)


def test_if_empty_does_nothing_when_data_exists(seeded):
    before = roster()
    out = seed(if_empty=True, seed=99)
    assert "did nothing" in out
    assert roster() == before
    assert County.objects.count() == 1


def test_refuses_to_seed_over_existing_data(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed()
    assert Student.objects.count() == N


def test_reset_and_if_empty_exclude_each_other(db):
    with pytest.raises(CommandError):
        seed(reset=True, if_empty=True)


def test_demo_logins_lists_the_fixed_accounts(seeded):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    assert "demo12345" in text
    for username in FIXED_USERNAMES:
        assert username in text
    assert "七年级(1)班" in text


def test_bench_refuses_existing_data_without_reset_then_reports(seeded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("bench", students=N, no_migrate=True, stdout=io.StringIO())
    out = io.StringIO()
    call_command("bench", students=N, seed=7, no_migrate=True, reset=True, verbosity=0, stdout=out)
    assert f"seed_demo {N} students" in out.getvalue()
    assert Student.objects.count() == N
