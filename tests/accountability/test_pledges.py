"""目标责任书 (issue 13 item 2): who may put which pledge on file and name whom, who sees it, the signed
scan (checked, stored out of reach, served only in scope), who has not signed, and the county's
printable templates — through the API and the services."""

import datetime as dt
import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accountability.models import AccountabilityPolicy, Pledge, PledgeTemplate
from accountability.pledges import documents, selectors, services
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Post
from tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date
PLEDGES = "/api/v1/pledges/"
UNSIGNED = "/api/v1/pledges/unsigned/"
TEMPLATES = "/api/v1/pledge-templates/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 64 + b"\xff\xd9"
NO_POST = ("cadre", "cadre2", "outsider")


def pdf(name="责任书.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def url(pledge, action=""):
    return f"{PLEDGES}{pledge.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def subject(world):
    """A subject teacher (科任) of class A."""
    user = f.UserFactory(username="subject")
    f.PostFactory(user=user, role=Post.Role.SUBJECT_TEACHER, county=world.county, classroom=world.class_a)
    return user


@pytest.fixture
def make(world, term, today):
    """``make(kind, **kwargs)``: a pledge through the service, by default the principal's with the teacher."""

    def pledge(kind="principal_teacher", *, user=None, **kwargs):
        defaults = {
            "bureau_principal": {"party_a_id": world.bureau.pk, "party_b_id": world.principal.pk},
            "principal_teacher": {"party_a_id": world.principal.pk, "party_b_id": world.teacher.pk},
            "principal_subject_teacher": {"party_a_id": world.principal.pk},
            "school_family": {"party_a_id": world.principal.pk, "guardian_name": "张大山"},
        }[kind]
        creator = user or (world.bureau if kind == "bureau_principal" else world.principal)
        arguments = {"kind": kind, "school_id": world.school.pk, "term_id": term.pk, "targets": [], **defaults}
        return services.create_pledge(user=creator, **{**arguments, **kwargs})

    return pledge


@pytest.fixture
def pledge(make):
    return make()


SIGNED_ON = D(2026, 11, 20)


def signed(world, pledge, *, day=SIGNED_ON, upload=None, user=None):
    return services.record_signature(
        user=user or world.principal, pledge_id=pledge.pk, signed_on=day, scan=upload or pdf()
    )


# --- creating --------------------------------------------------------------------------------------


def test_the_bureau_puts_a_bureau_principal_pledge_on_file_with_the_default_targets(world, api, term, today):
    body = {"kind": "bureau_principal", "school": world.school.pk, "term": term.pk}
    body |= {"party_a": world.bureau.pk, "party_b": world.principal.pk}
    answer = api.as_user(world.bureau).post(PLEDGES, body, format="json")
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert (data["kind"], data["kind_display"], data["signed"], data["scan_url"]) == (
        "bureau_principal",
        "教育局—校长",
        False,
        None,
    )
    assert (data["party_a_name"], data["party_b_name"], data["term_name"]) == ("bureau", "principal", str(term))
    assert any("辍学率控制在学校控制目标(0.6%)以内" in target for target in data["targets"])
    assert any("巩固率不低于97%" in target for target in data["targets"])
    pledge = Pledge.objects.get(pk=data["id"])
    assert (pledge.county_id, pledge.created_by_id) == (world.county.pk, world.bureau.pk)
    assert pledge.history.get().history_user_id == world.bureau.pk  # the audit row names the actor


def test_default_targets_follow_the_schools_target_and_the_countys_policy(world, make):
    world.school.dropout_rate_target = "0.50"
    world.school.save()
    AccountabilityPolicy.objects.create(county=world.county, home_visits_per_term=3, report_by="08:30")
    targets = make().targets
    assert "本班学年辍学率不超过学校控制目标(0.5%),争创“无辍班”" in targets
    assert "每个上学日08:30前报告本班考勤(全勤也须零报告)" in targets
    assert "每学期对预警学生家访不少于3次,并做好记录" in targets


def test_written_targets_are_kept_blank_ones_dropped(make):
    pledge = make(targets=["  本班无辍学  ", "", "每周家访   一次"])
    assert pledge.targets == ["本班无辍学", "每周家访 一次"]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([f"目标{n}" for n in range(21)], "目标最多 20 项"),
        (["很长" * 101], "最多 200 个字"),
        (["含\x00控制字符"], "targets"),
    ],
)
def test_bad_targets_are_a_400(world, api, term, targets, message):
    body = {"kind": "principal_teacher", "school": world.school.pk, "term": term.pk, "targets": targets}
    body |= {"party_a": world.principal.pk, "party_b": world.teacher.pk}
    answer = api.as_user(world.principal).post(PLEDGES, body, format="json")
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert not Pledge.objects.exists()


def test_the_principal_pledges_with_a_class_teacher_and_a_subject_teacher(world, make, subject):
    with_teacher = make()
    with_subject = make("principal_subject_teacher", party_b_id=subject.pk)
    assert (with_teacher.party_b, with_subject.party_b) == (world.teacher, subject)
    assert any("所包保学生无一流失" in target for target in with_subject.targets)


def test_a_class_teacher_writes_the_family_pledge_of_their_own_student(world, api, term, today):
    student = world.students_a[0]
    body = {"kind": "school_family", "school": world.school.pk, "term": term.pk, "party_a": world.principal.pk}
    body |= {"student": student.pk, "guardian_name": " 张大山 "}
    answer = api.as_user(world.teacher).post(PLEDGES, body, format="json")
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert (data["student_name"], data["guardian_name"], data["party_b"]) == (student.name, "张大山", None)
    assert any("按时入学" in target for target in data["targets"])
    assert api.get(url(Pledge.objects.get())).status_code == 200  # the class teacher sees what they wrote
    # teacher2 teaches class B: class A's student does not exist for them.
    answer = api.as_user(world.teacher2).post(PLEDGES, {**body, "student": world.students_a[1].pk}, format="json")
    assert answer.status_code == 404
    assert Pledge.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "kind", "status"),
    [
        ("principal", "bureau_principal", 409),  # the principal is the bureau's 乙方, not its writer
        ("teacher", "bureau_principal", 409),
        ("teacher", "principal_teacher", 409),
        ("bureau", "school_family", 409),  # the school and the family sign that one
        ("principal2", "principal_teacher", 404),  # school 1 does not exist for principal2
        ("subject", "school_family", 404),  # a subject teacher writes no pledge at all
        ("cadre", "principal_teacher", 404),
        ("outsider", "bureau_principal", 404),
    ],
)
def test_who_may_write_which_pledge(world, api, term, subject, role, kind, status):
    user = subject if role == "subject" else getattr(world, role)
    party_a = world.bureau if kind == "bureau_principal" else world.principal
    party_b = {"bureau_principal": world.principal, "principal_teacher": world.teacher}.get(kind)
    body = {"kind": kind, "school": world.school.pk, "term": term.pk, "party_a": party_a.pk}
    body |= {"party_b": party_b.pk} if party_b else {"student": world.students_a[0].pk, "guardian_name": "张大山"}
    answer = api.as_user(user).post(PLEDGES, body, format="json")
    assert answer.status_code == status, answer.json()
    if status == 409:
        assert "您的岗位不能" in answer.json()["detail"]
    assert not Pledge.objects.exists()


def _ended_teacher(world):
    gone = f.UserFactory(username="gone")
    f.PostFactory(
        user=gone,
        role=Post.Role.CLASS_TEACHER,
        county=world.county,
        classroom=world.class_b,
        end_date=D(2026, 7, 10),
    )
    return gone


PARTY_CASES = [
    ("bureau_principal", "bureau", "teacher", "乙方须是本校校长"),
    ("bureau_principal", "bureau", "principal2", "乙方须是本校校长"),
    ("bureau_principal", "principal", "principal", "甲方须是本县教育局人员"),
    ("bureau_principal", "outsider", "principal", "甲方须是本县教育局人员"),
    ("principal_teacher", "principal", "outsider", "乙方须是本校的班主任"),
    ("principal_teacher", "principal", "cadre", "乙方须是本校的班主任"),
    ("principal_teacher", "principal", "class_c_teacher", "乙方须是本校的班主任"),
    ("principal_teacher", "principal", "subject", "乙方须是本校的班主任"),
    ("principal_teacher", "principal", "gone", "乙方须是本校的班主任"),  # left before the term began
    ("principal_teacher", "teacher2", "teacher", "甲方须是本校的校长或校领导"),
    ("principal_teacher", "principal2", "teacher", "甲方须是本校的校长或校领导"),
    ("principal_teacher", "bureau", "teacher", "甲方须是本校的校长或校领导"),
    ("principal_subject_teacher", "principal", "teacher", "乙方须是本校的任课教师"),
    ("principal_teacher", "principal", None, "乙方须是本校的班主任"),
]


@pytest.mark.parametrize(("kind", "a", "b", "message"), PARTY_CASES)
def test_only_people_holding_the_right_post_may_be_named(world, api, term, today, subject, kind, a, b, message):
    class_c_teacher = f.UserFactory(username="class_c_teacher")
    f.PostFactory(user=class_c_teacher, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_c)
    people = {"subject": subject, "class_c_teacher": class_c_teacher, "gone": _ended_teacher(world)}

    def person(name):
        return people[name] if name in people else getattr(world, name)

    body = {"kind": kind, "school": world.school.pk, "term": term.pk, "party_a": person(a).pk}
    if b:
        body["party_b"] = person(b).pk
    writer = world.bureau if kind == "bureau_principal" else world.principal
    answer = api.as_user(writer).post(PLEDGES, body, format="json")
    assert answer.status_code == 400, answer.json()
    assert message in answer.json()["detail"]
    assert not Pledge.objects.exists()


def test_a_teacher_who_holds_the_post_during_the_term_may_be_named(world, make):
    starting = f.UserFactory(username="starting")
    f.PostFactory(
        user=starting,
        role=Post.Role.CLASS_TEACHER,
        county=world.county,
        classroom=world.class_b,
        start_date=D(2026, 12, 1),
    )
    assert make(party_b_id=starting.pk).party_b == starting  # starts later this term


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"party_b_id": None, "guardian_name": ""}, "请填写家长(监护人)姓名"),
        ({"party_b_id": "teacher", "guardian_name": "张大山"}, "乙方是家长"),
        ({"student_id": None}, "须选择学生"),
    ],
)
def test_family_pledge_input(world, make, kwargs, message):
    kwargs = {"student_id": world.students_a[0].pk, **kwargs}
    if kwargs.get("party_b_id") == "teacher":
        kwargs["party_b_id"] = world.teacher.pk
    with pytest.raises(InvalidInput, match=re.escape(message)):
        make("school_family", **kwargs)
    assert not Pledge.objects.exists()


def test_a_family_pledge_names_a_student_of_the_school(world, make):
    with pytest.raises(OutOfScope):  # a student of school 2 does not exist for the principal of school 1
        make("school_family", student_id=world.students_c[0].pk)
    with pytest.raises(InvalidInput, match="不是本校学生"):
        make("school_family", user=world.bureau, school_id=world.school.pk, student_id=world.students_c[0].pk)


def test_staff_pledges_take_no_student_and_a_term_of_the_county(world, make, term):
    with pytest.raises(InvalidInput, match="只有学校—家长责任书"):
        make(student_id=world.students_a[0].pk)
    with pytest.raises(InvalidInput, match="只有学校—家长责任书"):
        make(guardian_name="张大山")
    elsewhere = f.TermFactory(school_year=f.SchoolYearFactory(county=f.CountyFactory(name="白云县", code="431227")))
    with pytest.raises(InvalidInput, match="不是本县的学期"):
        make(term_id=elsewhere.pk)
    with pytest.raises(InvalidInput, match="未知的责任书类别"):
        services.create_pledge(
            user=world.principal,
            kind="principal_janitor",
            school_id=world.school.pk,
            term_id=term.pk,
            party_a_id=world.principal.pk,
            party_b_id=world.teacher.pk,
        )
    assert not Pledge.objects.exists()


def test_the_two_parties_are_two_people(world, make):
    f.PostFactory(user=world.principal, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_b)
    with pytest.raises(InvalidInput, match="不能是同一人"):
        make(party_b_id=world.principal.pk)


def test_a_second_pledge_with_the_same_person_for_the_term_is_409(world, api, pledge, term):
    body = {"kind": "principal_teacher", "school": world.school.pk, "term": term.pk}
    body |= {"party_a": world.principal.pk, "party_b": world.teacher.pk}
    answer = api.as_user(world.principal).post(PLEDGES, body, format="json")
    assert answer.status_code == 409
    assert "已有与teacher的校长—班主任责任书" in answer.json()["detail"]
    assert Pledge.objects.count() == 1


# --- who sees what ---------------------------------------------------------------------------------


@pytest.fixture
def every_kind(world, make, subject, term):
    teacher3 = f.UserFactory(username="teacher3")
    f.PostFactory(user=teacher3, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_c)
    return {
        "bureau_principal": make("bureau_principal"),
        "with_teacher": make(),
        "with_teacher2": make(party_b_id=world.teacher2.pk),
        "with_subject": make("principal_subject_teacher", party_b_id=subject.pk),
        "family_a": make("school_family", user=world.teacher, student_id=world.students_a[0].pk),
        "family_b": make("school_family", student_id=world.students_b[0].pk, guardian_name="李四"),
        "school2": services.create_pledge(
            user=world.principal2,
            kind="principal_teacher",
            school_id=world.school2.pk,
            term_id=term.pk,
            party_a_id=world.principal2.pk,
            party_b_id=teacher3.pk,
        ),
    }


def test_each_reader_sees_their_pledges_and_nobody_else_does(world, api, every_kind, subject):
    p = every_kind
    school1 = {p[k].pk for k in p if k != "school2"}
    expected = {
        "bureau": {x.pk for x in p.values()},
        "principal": school1,
        "principal2": {p["school2"].pk},
        "teacher": {p["with_teacher"].pk, p["family_a"].pk},  # named as 乙方; the family pledges of class A
        "teacher2": {p["with_teacher2"].pk, p["family_b"].pk},
        "subject": {p["with_subject"].pk, p["family_a"].pk},
        "cadre": set(),
        "cadre2": set(),
        "outsider": set(),
    }
    for role, wanted in expected.items():
        user = subject if role == "subject" else getattr(world, role)
        listed = api.as_user(user).get(PLEDGES)
        assert listed.status_code == 200, role
        assert {row["id"] for row in listed.json()["results"]} == wanted, role
        for pledge in p.values():
            assert api.get(url(pledge)).status_code == (200 if pledge.pk in wanted else 404), (role, pledge)


def test_list_filters(world, api, every_kind, media):
    signed(world, every_kind["with_teacher"])
    bureau = api.as_user(world.bureau)

    def ids(**query):
        answer = bureau.get(PLEDGES, query)
        assert answer.status_code == 200, answer.json()
        return {row["id"] for row in answer.json()["results"]}

    assert ids(school=world.school2.pk) == {every_kind["school2"].pk}
    assert ids(kind="school_family") == {every_kind["family_a"].pk, every_kind["family_b"].pk}
    assert ids(signed="true") == {every_kind["with_teacher"].pk}
    assert every_kind["with_teacher"].pk not in ids(signed="false")
    assert len(ids(term=every_kind["school2"].term_id)) == 7
    for query in ({"school": "abc"}, {"term": "1e3"}, {"kind": "janitor"}):
        assert bureau.get(PLEDGES, query).status_code == 400, query
    assert bureau.get(f"{PLEDGES}abc/").status_code == 404


def test_the_list_is_read_in_a_constant_number_of_queries(world, api, every_kind, django_assert_max_num_queries):
    client = api.as_user(world.bureau)
    with django_assert_max_num_queries(6):
        response = client.get(PLEDGES)
    assert response.json()["count"] == 7


# --- the signed scan -------------------------------------------------------------------------------


def test_the_signed_scan_is_stored_and_served_only_to_those_who_see_the_pledge(world, api, pledge, media, subject):
    answer = api.as_user(world.principal).post(
        url(pledge, "scan"), {"file": pdf(), "signed_on": "2026-11-20"}, format="multipart"
    )
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert (data["signed"], data["signed_on"], data["scan_name"], data["scan_size"]) == (
        True,
        "2026-11-20",
        "责任书.pdf",
        len(PDF),
    )
    assert data["scan_sha256"] == hashlib.sha256(PDF).hexdigest()
    [stored] = stored_files(media)
    assert stored.read_bytes() == PDF
    assert "责任书" not in stored.name  # an unguessable name
    assert stored.relative_to(media).parts[0] == "pledges"

    for role in ("bureau", "principal", "teacher"):
        got = api.as_user(getattr(world, role)).get(url(pledge, "scan"))
        assert got.status_code == 200, role
        assert b"".join(got.streaming_content) == PDF
        assert got["Content-Type"] == "application/pdf"
        assert got["Content-Disposition"].startswith("attachment")
        assert got["Cache-Control"] == "no-store"
    for role in ("teacher2", "principal2", "cadre", "cadre2", "outsider"):
        assert api.as_user(getattr(world, role)).get(url(pledge, "scan")).status_code == 404, role
    assert api.as_user(subject).get(url(pledge, "scan")).status_code == 404
    api.force_authenticate(None)
    assert api.get(url(pledge, "scan")).status_code == 401


def test_a_pledge_without_a_scan_has_nothing_to_download(world, api, pledge):
    assert api.as_user(world.bureau).get(url(pledge, "scan")).status_code == 404


BAD_SCANS = [
    ("a PNG", lambda: SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 40), "只接受 PDF 或 JPG"),
    ("a renamed executable", lambda: pdf("scan.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200), "不是完整的 PDF"),
    ("a truncated PDF", lambda: pdf("scan.pdf", PDF[:40]), "不是完整的 PDF"),
    ("a PNG called .jpg", lambda: SimpleUploadedFile("scan.jpg", b"\x89PNG\r\n\x1a\n" + b"0" * 40), "不是完整的 JPG"),
    ("an oversized file", lambda: pdf("big.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"), "5 MB"),
    ("an empty file", lambda: pdf("empty.pdf", b""), "空文件"),
]


@pytest.mark.parametrize(("what", "make_file", "message"), BAD_SCANS, ids=[b[0] for b in BAD_SCANS])
def test_a_bad_scan_is_refused_in_chinese_and_nothing_is_stored(world, api, pledge, media, what, make_file, message):
    before = (pledge.signed_on, pledge.scan.name, pledge.scan_sha256, pledge.history.count())
    answer = api.as_user(world.principal).post(
        url(pledge, "scan"), {"file": make_file(), "signed_on": "2026-11-20"}, format="multipart"
    )
    assert answer.status_code == 400, answer.json()
    assert message in answer.json()["detail"]
    assert "责任书扫描件" in answer.json()["detail"]
    pledge.refresh_from_db()
    assert (pledge.signed_on, pledge.scan.name, pledge.scan_sha256, pledge.history.count()) == before
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "请选择责任书扫描件文件"),
        ({"signed_on": "2026-11-26"}, "不能晚于今天"),
        ({"signed_on": ""}, "请填写签订日期"),
    ],
)
def test_the_signed_date_and_the_file_are_required(world, api, pledge, media, body, message):
    data = {"file": pdf(), **body} if "signed_on" in body else {"signed_on": "2026-11-20"}
    answer = api.as_user(world.principal).post(url(pledge, "scan"), data, format="multipart")
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    pledge.refresh_from_db()
    assert not selectors.is_signed(pledge)
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("role", "status"), [("teacher", 409), ("teacher2", 404), ("principal2", 404), ("outsider", 404)]
)
def test_only_the_writing_side_records_the_signature(world, api, pledge, media, role, status):
    answer = api.as_user(getattr(world, role)).post(
        url(pledge, "scan"), {"file": pdf(), "signed_on": "2026-11-20"}, format="multipart"
    )
    assert answer.status_code == status
    pledge.refresh_from_db()
    assert (pledge.signed_on, pledge.scan.name) == (None, "")
    assert stored_files(media) == []


def test_the_bureau_records_the_signature_of_its_pledge_with_the_principal(world, make, media):
    pledge = make("bureau_principal")
    with pytest.raises(InvalidTransition):  # the principal signed as 乙方; the bureau keeps the paper
        signed(world, pledge, user=world.principal)
    assert selectors.is_signed(signed(world, pledge, user=world.bureau))


def test_replacing_a_scan_keeps_its_history_and_deletes_the_old_file_once_committed(
    world, pledge, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = signed(world, pledge).scan.name
    with django_capture_on_commit_callbacks(execute=True):
        signed(world, pledge, day=D(2026, 11, 24), upload=SimpleUploadedFile("重签.jpg", JPG))
    pledge.refresh_from_db()
    assert (pledge.scan_name, pledge.signed_on, pledge.scan.name.endswith(".jpg")) == (
        "重签.jpg",
        D(2026, 11, 24),
        True,
    )
    assert pledge.scan.name != first
    assert [p.read_bytes() for p in stored_files(media)] == [JPG]  # the former file is gone
    rows = list(pledge.history.order_by("history_date", "history_id").values_list("scan_name", "scan_sha256"))
    assert rows == [
        ("", ""),
        ("责任书.pdf", hashlib.sha256(PDF).hexdigest()),
        ("重签.jpg", hashlib.sha256(JPG).hexdigest()),
    ]
    whats = [row.what for row in selectors.trail(pledge)]
    assert whats[0] == "登记责任书"
    assert whats[1].startswith("上传签字扫描件“责任书.pdf”")
    assert whats[2].startswith("更换签字扫描件“重签.jpg”")


def test_signed_means_a_date_and_a_scan(world, pledge, media):
    Pledge.objects.filter(pk=pledge.pk).update(signed_on=D(2026, 11, 20))  # a date without the paper
    pledge.refresh_from_db()
    assert not selectors.is_signed(pledge)
    assert not selectors.filter_pledges(Pledge.objects.all(), signed=True).exists()
    signed(world, pledge)
    assert selectors.filter_pledges(Pledge.objects.all(), signed=True).get() == pledge


# --- targets and deleting while unsigned -----------------------------------------------------------


def test_targets_change_and_a_pledge_goes_only_while_unsigned(world, make, pledge, media):
    services.update_targets(user=world.principal, pledge_id=pledge.pk, targets=["本班零辍学", " "])
    pledge.refresh_from_db()
    assert pledge.targets == ["本班零辍学"]
    with pytest.raises(InvalidInput, match="至少填写一项"):
        services.update_targets(user=world.principal, pledge_id=pledge.pk, targets=[" "])
    with pytest.raises(InvalidTransition):
        services.update_targets(user=world.teacher, pledge_id=pledge.pk, targets=["改目标"])
    signed(world, pledge)
    with pytest.raises(InvalidTransition, match="已签订"):
        services.update_targets(user=world.principal, pledge_id=pledge.pk, targets=["改目标"])
    with pytest.raises(InvalidTransition, match="已签订"):
        services.delete_pledge(user=world.principal, pledge_id=pledge.pk)
    other = make(party_b_id=world.teacher2.pk)
    with pytest.raises(OutOfScope):
        services.delete_pledge(user=world.principal2, pledge_id=other.pk)
    services.delete_pledge(user=world.principal, pledge_id=other.pk)
    assert not Pledge.objects.filter(pk=other.pk).exists()
    deleted = Pledge.history.filter(id=other.pk, history_type="-").get()
    assert deleted.history_user_id == world.principal.pk


# --- who has not signed ----------------------------------------------------------------------------


def _rows(answer):
    return {(row["school"], row["kind"], row["person_name"]): row for row in answer.json()["results"]}


def test_unsigned_lists_who_has_not_signed_and_shrinks_as_they_sign(world, api, term, make, subject, media):
    bureau = api.as_user(world.bureau)
    answer = bureau.get(UNSIGNED, {"term": term.pk})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["term_name"] == str(term)
    s1, s2 = world.school.pk, world.school2.pk
    assert set(_rows(answer)) == {
        (s1, "bureau_principal", "principal"),
        (s1, "principal_teacher", "teacher"),
        (s1, "principal_teacher", "teacher2"),
        (s1, "principal_subject_teacher", "subject"),
        (s2, "bureau_principal", "principal2"),
    }
    row = _rows(answer)[(s1, "principal_teacher", "teacher")]
    assert (row["post"], row["classrooms"], row["pledge"]) == ("班主任", [world.class_a.name], None)
    assert row["link"].startswith("/accountability/pledges/?new_kind=principal_teacher")

    pledge = make()  # on file, not yet signed: still listed, now with a link to record the signature
    row = _rows(bureau.get(UNSIGNED, {"term": term.pk}))[(s1, "principal_teacher", "teacher")]
    assert (row["pledge"], row["link"]) == (pledge.pk, f"/accountability/pledges/{pledge.pk}/#scan-form")

    Pledge.objects.filter(pk=pledge.pk).update(signed_on=D(2026, 11, 20))  # a date is not a signature
    assert (s1, "principal_teacher", "teacher") in _rows(bureau.get(UNSIGNED, {"term": term.pk}))
    signed(world, pledge)
    assert (s1, "principal_teacher", "teacher") not in _rows(bureau.get(UNSIGNED, {"term": term.pk}))
    assert bureau.get(UNSIGNED, {"term": term.pk}).json()["count"] == 4
    assert bureau.get(UNSIGNED).json()["term"] == term.pk  # the current term by default


def test_each_school_sees_its_own_unsigned_and_teachers_none(world, api, term, today):
    answer = api.as_user(world.principal).get(UNSIGNED, {"term": term.pk})
    rows = _rows(answer)
    assert {key[0] for key in rows} == {world.school.pk}
    assert rows[(world.school.pk, "bureau_principal", "principal")]["link"] == ""  # the bureau writes that one
    assert rows[(world.school.pk, "principal_teacher", "teacher")]["link"]
    answer = api.as_user(world.principal).get(UNSIGNED, {"term": term.pk, "school": world.school2.pk})
    assert answer.json()["results"] == []
    assert {key[0] for key in _rows(api.as_user(world.principal2).get(UNSIGNED, {"term": term.pk}))} == {
        world.school2.pk
    }
    for role in ("teacher", "teacher2", "cadre", "outsider"):
        assert api.as_user(getattr(world, role)).get(UNSIGNED, {"term": term.pk}).status_code == 404, role


def test_unsigned_counts_the_posts_held_during_the_term(world, api, term, today):
    _ended_teacher(world)
    later = f.UserFactory(username="later")
    f.PostFactory(
        user=later, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_b, start_date=D(2027, 1, 4)
    )
    names = {key[2] for key in _rows(api.as_user(world.bureau).get(UNSIGNED, {"term": term.pk}))}
    assert "later" in names
    assert "gone" not in names


def test_unsigned_term_is_checked(world, api, term):
    bureau = api.as_user(world.bureau)
    elsewhere = f.TermFactory(school_year=f.SchoolYearFactory(county=f.CountyFactory(name="白云县", code="431227")))
    assert bureau.get(UNSIGNED, {"term": elsewhere.pk}).status_code == 404
    assert bureau.get(UNSIGNED, {"term": "abc"}).status_code == 400
    assert bureau.get(UNSIGNED, {"school": "x"}).status_code == 400


def test_unsigned_takes_constant_queries(world, term, today, django_assert_max_num_queries):
    for n in range(8):
        user = f.UserFactory(username=f"extra{n}")
        f.PostFactory(user=user, role=Post.Role.SUBJECT_TEACHER, county=world.county, classroom=world.class_b)
    selectors.unsigned(world.bureau, term)  # warm the scope cache
    with django_assert_max_num_queries(4):
        rows = selectors.unsigned(world.bureau, term)
    assert len(rows) == 12  # school 1: the principal, 2 class teachers, 8 subject teachers; school 2: its principal


# --- templates -------------------------------------------------------------------------------------


def test_the_bureau_edits_a_template_and_the_list_shows_it(world, api):
    bureau = api.as_user(world.bureau)
    listed = bureau.get(TEMPLATES)
    assert listed.status_code == 200
    assert [row["kind"] for row in listed.json()["results"]] == [
        "bureau_principal",
        "principal_teacher",
        "principal_subject_teacher",
        "school_family",
    ]
    assert not any(row["custom"] for row in listed.json()["results"])
    assert "targets" in listed.json()["placeholders"]
    body = {"title": "{county}班主任控辍责任书", "body": "甲方:{party_a}\n乙方:{party_b}\n{{注}}\n{targets}"}
    answer = bureau.put(f"{TEMPLATES}principal_teacher/", body, format="json")
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["custom"], answer.json()["updated_by"]) == (True, world.bureau.pk)
    row = PledgeTemplate.objects.get()
    assert (row.county, row.kind, row.title) == (world.county, "principal_teacher", "{county}班主任控辍责任书")
    assert row.history.get().history_user_id == world.bureau.pk
    patched = bureau.patch(f"{TEMPLATES}principal_teacher/", {"title": "新标题"}, format="json")
    assert (patched.json()["title"], patched.json()["body"]) == ("新标题", body["body"])
    assert PledgeTemplate.objects.count() == 1
    assert bureau.get(f"{TEMPLATES}principal_teacher/").json()["title"] == "新标题"
    assert bureau.patch(f"{TEMPLATES}school_family/", {}, format="json").status_code == 400
    assert PledgeTemplate.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("甲方:{principal}\n{targets}", "未知的占位符:{principal}"),
        ("{school.name}\n{targets}", "无效"),
        ("{school!r}\n{targets}", "无效"),
        ("{}\n{targets}", "无效"),
        ("{school\n{targets}", "花括号不成对"),
        ("甲方:{party_a}", "须包含 {targets}"),
        ("", "请填写正文"),
    ],
)
def test_template_placeholders_are_checked(world, api, body, message):
    answer = api.as_user(world.bureau).put(
        f"{TEMPLATES}principal_teacher/", {"title": "责任书", "body": body}, format="json"
    )
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert not PledgeTemplate.objects.exists()


@pytest.mark.parametrize("role", ["principal", "teacher", "principal2", "cadre", "outsider"])
def test_templates_are_the_bureaus_alone(world, api, role):
    client = api.as_user(getattr(world, role))
    assert client.get(TEMPLATES).status_code == 404
    assert client.get(f"{TEMPLATES}principal_teacher/").status_code == 404
    answer = client.put(f"{TEMPLATES}principal_teacher/", {"title": "x", "body": "{targets}"}, format="json")
    assert answer.status_code == 404
    assert not PledgeTemplate.objects.exists()
    with pytest.raises(OutOfScope):
        services.save_template(
            user=getattr(world, role), county_id=world.county.pk, kind="principal_teacher", title="x", body="{targets}"
        )


def test_an_unknown_kind_of_template_is_404(world, api):
    assert api.as_user(world.bureau).get(f"{TEMPLATES}janitor/").status_code == 404
    assert api.put(f"{TEMPLATES}janitor/", {"title": "x", "body": "{targets}"}, format="json").status_code == 404


def test_the_printable_text_uses_the_template_and_falls_back_to_the_built_in(world, pledge):
    pledge = selectors.pledge_detail(world.principal, pledge.pk)
    title, lines = documents.render(pledge, ("{school}责任书", "乙方:{party_b}({dropout_target})\n{targets}"))
    assert title == "清溪镇中学责任书"
    assert lines[0] == "乙方:teacher(0.6%)"
    assert lines[1] == f"1. {pledge.targets[0]}"
    title, lines = documents.render(pledge, ("坏模板", "{school.__class__}"))  # stored before a rule changed
    assert title == "控辍保学目标责任书"
    assert "乙方:班主任 teacher" in lines
