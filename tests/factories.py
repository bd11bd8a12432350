"""factory_boy factories for the org tree and people."""

import datetime as dt

import factory

from students import idnumber
from students.models import (
    Classroom,
    County,
    Grade,
    Guardian,
    Post,
    School,
    SchoolYear,
    Student,
    Term,
    Township,
    User,
    Village,
)


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("code",)

    name = "青山县"
    code = "431226"


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township

    county = factory.SubFactory(CountyFactory)
    name = factory.Sequence(lambda n: f"第{n}镇")


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    township = factory.SubFactory(TownshipFactory)
    name = factory.Sequence(lambda n: f"第{n}村")


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    county = factory.SubFactory(CountyFactory)
    name = factory.Sequence(lambda n: f"第{n}中学")
    code = factory.Sequence(lambda n: f"S{n:05d}")
    stage = School.Stage.JUNIOR


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade
        django_get_or_create = ("school", "level")

    school = factory.SubFactory(SchoolFactory)
    level = 7
    name = factory.LazyAttribute(lambda o: {7: "七年级", 8: "八年级", 9: "九年级"}.get(o.level, f"{o.level}年级"))


class ClassroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classroom

    grade = factory.SubFactory(GradeFactory)
    school = factory.LazyAttribute(lambda o: o.grade.school)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: Classroom.default_name(o.grade.name, o.number))


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    classroom = factory.SubFactory(ClassroomFactory)
    school = factory.LazyAttribute(lambda o: o.classroom.school if o.classroom else None)
    name = factory.Iterator(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷"])
    gender = factory.Iterator([Student.Gender.MALE, Student.Gender.FEMALE])
    birth_date = dt.date(2013, 5, 17)
    student_no = factory.Sequence(lambda n: f"G4312262013{n:08d}")
    id_number = factory.Sequence(
        lambda n: idnumber.make_id_number("431226", dt.date(2013, 5, 17) + dt.timedelta(days=n // 400), n, n % 2 == 0)
    )
    village = None


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    student = factory.SubFactory(StudentFactory)
    name = "张建国"
    relation = "父亲"
    phone = "13800000000"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username)
    password = factory.PostGenerationMethodCall("set_password", "pw-12345678")

    @factory.post_generation
    def save_after(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    user = factory.SubFactory(UserFactory)
    role = Post.Role.CLASS_TEACHER
    start_date = dt.date(2020, 9, 1)


class SchoolYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolYear

    county = factory.SubFactory(CountyFactory)
    name = "2026-2027"
    start_date = dt.date(2026, 9, 1)
    end_date = dt.date(2027, 8, 31)


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term

    school_year = factory.SubFactory(SchoolYearFactory)
    name = "秋季学期"
    start_date = dt.date(2026, 9, 1)
    end_date = dt.date(2027, 1, 22)
