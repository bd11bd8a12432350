"""factory_boy factories for every model the tests build by hand.

The org tree and people, the calendar, daily reports and their absences, risk flags,
reminders and report runs. Cases are not built here: tests drive them through the services
(``tests.helpers.build_case``), as users would.
"""

import datetime as dt

import factory

from reporting.models import ReportRun
from students import idnumber
from students.models import (
    Absence,
    AbsenceKind,
    Classroom,
    Closure,
    County,
    DailyReport,
    Grade,
    Guardian,
    Notification,
    Post,
    RiskFlag,
    RiskLevel,
    School,
    SchoolYear,
    Student,
    Term,
    Township,
    User,
    Village,
)

PASSWORD = "pw-12345678"
"""Every factory-made user's password (log in through the real form with it)."""


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
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

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


class ClosureFactory(factory.django.DjangoModelFactory):
    """A county-wide day without school (one day unless ``end_date`` is given)."""

    class Meta:
        model = Closure

    county = factory.SubFactory(CountyFactory)
    start_date = dt.date(2026, 11, 6)
    end_date = factory.LazyAttribute(lambda o: o.start_date)
    reason = "暴雨停课"


class DailyReportFactory(factory.django.DjangoModelFactory):
    """A class's daily report on file. Its Absence rows are added separately (``AbsenceFactory``).

    ``enrolled_count`` defaults to the class's enrolled students, as a real submit records it, and
    ``present_count`` to that minus ``absent_count`` (0: a 零报告). ``tests.helpers.report`` makes
    a report with its absences in one call.
    """

    class Meta:
        model = DailyReport

    class Params:
        absent_count = 0

    classroom = factory.SubFactory(ClassroomFactory)
    school = factory.LazyAttribute(lambda o: o.classroom.school)
    date = factory.Sequence(lambda n: dt.date(2026, 11, 23) - dt.timedelta(days=n))
    enrolled_count = factory.LazyAttribute(
        lambda o: o.classroom.students.filter(status=Student.Status.ENROLLED).count()
    )
    present_count = factory.LazyAttribute(lambda o: o.enrolled_count - o.absent_count)
    submitted_by = factory.SubFactory(UserFactory)


class AbsenceFactory(factory.django.DjangoModelFactory):
    """One student absent on the day of ``report`` (旷课 unless ``kind`` says otherwise)."""

    class Meta:
        model = Absence

    report = factory.SubFactory(DailyReportFactory)
    student = factory.SubFactory(StudentFactory, classroom=factory.SelfAttribute("..report.classroom"))
    date = factory.LazyAttribute(lambda o: o.report.date)
    kind = AbsenceKind.UNEXCUSED


class RiskFlagFactory(factory.django.DjangoModelFactory):
    """An open hand-raised (``manual``) flag; pass ``rule_code``/``evidence`` for a rule's flag."""

    class Meta:
        model = RiskFlag

    student = factory.SubFactory(StudentFactory)
    rule_code = RiskFlag.MANUAL
    situation_key = factory.Sequence(lambda n: f"situation-{n}")
    level = RiskLevel.YELLOW
    evidence_text = "测试预警"


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread reminder in a user's "my tasks"."""

    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    kind = "not_reported"
    text = "考勤还没有上报"


class ReportRunFactory(factory.django.DjangoModelFactory):
    """A queued report run; by default the county's weekly report of 2026-W47.

    For another scope pass ``scope_type``, ``scope_id`` and ``scope_name`` (or ``scope``, any object
    with ``pk`` and ``name``). ``ReportRunFactory.build(...)`` gives an unsaved run for a builder.
    """

    class Meta:
        model = ReportRun

    class Params:
        scope = factory.SubFactory(CountyFactory)

    kind = ReportRun.Kind.COUNTY_WEEKLY
    period = "2026-W47"
    scope_type = ReportRun.ScopeType.COUNTY
    scope_id = factory.LazyAttribute(lambda o: o.scope.pk)
    scope_name = factory.LazyAttribute(lambda o: o.scope.name)
