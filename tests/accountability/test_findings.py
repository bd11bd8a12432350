"""通报 / 限期整改 (issue 13): the finding's lifecycle, who may do what, evidence files, deadlines
counted in working days, overdue reminders; and the bureau's teacher fault records."""

import datetime as dt
import hashlib

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accountability.findings import selectors, services, tasks
from accountability.models import AccountabilityPolicy, Finding, FindingAttachment, TeacherFault
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Notification, OfficialDay
from students.notifications import unread_for
from tests import factories as f
from tests.helpers import at, build_case

pytestmark = pytest.mark.django_db

D = dt.date
FINDINGS = "/api/v1/findings/"
FAULTS = "/api/v1/teacher-faults/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 64 + b"\xff\xd9"
OUT_OF_SCOPE = ("teacher", "teacher2", "cadre", "cadre2", "principal2", "outsider")


def pdf(name="整改报告.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def jpg(name="现场照片.jpg", content=JPG):
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def url(finding, action=""):
    return f"{FINDINGS}{finding.pk}/" + (f"{action}/" if action else "")


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def issue(world, today):
    """``issue(**kwargs)``: a finding the bureau issues to the world's school today."""

    def make(**kwargs):
        kwargs = {"school_id": world.school.pk, "facts": "11月督导检查发现7年级1班考勤日报连续3天未报送", **kwargs}
        return services.issue_finding(user=world.bureau, **kwargs)

    return make


@pytest.fixture
def finding(issue):
    return issue(requirement="立即补报并整改考勤制度")


def answered(world, finding, **kwargs):
    return services.answer_finding(user=world.principal, finding_id=finding.pk, answer="已补报,班主任已约谈", **kwargs)


# --- issuing ---------------------------------------------------------------------------------------


def test_bureau_issues_a_finding_due_in_the_countys_working_days(world, api, today):
    answer = api.as_user(world.bureau).post(
        FINDINGS, {"school": world.school.pk, "facts": "考勤日报未按时报送", "requirement": "整改"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "open"
    assert body["status_display"] == "待整改"
    assert body["due_on"] == "2026-12-09"  # 10 working days after Wednesday 11-25
    assert body["issued_on"] == "2026-11-25"
    assert body["overdue"] is False
    finding = Finding.objects.get(pk=body["id"])
    assert (finding.county_id, finding.issued_by_id) == (world.county.pk, world.bureau.pk)
    assert finding.history.get().history_user_id == world.bureau.pk  # the audit row names the actor


def test_the_default_deadline_skips_the_national_day_holiday_and_counts_the_make_up_saturday(world):
    with at(D(2026, 9, 29)):  # Tuesday; 10-01..10-07 off, Saturday 10-10 a make-up workday
        finding = services.issue_finding(user=world.bureau, school_id=world.school.pk, facts="问题")
    # 9-30, 10-08, 10-09, 10-10 (Sat, 调休上班), 10-12 … 10-16, 10-19
    assert finding.due_on == D(2026, 10, 19)


def test_the_default_deadline_falls_after_the_weekend(world):
    AccountabilityPolicy.objects.create(county=world.county, finding_working_days=2)
    with at(D(2026, 11, 19)):  # Thursday: Friday is one working day, Monday the second
        finding = services.issue_finding(user=world.bureau, school_id=world.school.pk, facts="问题")
    assert finding.due_on == D(2026, 11, 23)
    with at(D(2026, 11, 22)):  # Sunday: not yet overdue
        assert not selectors.is_overdue(finding)
        assert selectors.overdue_count(world.bureau) == 0
    with at(D(2026, 11, 23)):  # the last day itself is not overdue
        assert selectors.overdue_count(world.bureau) == 0
    with at(D(2026, 11, 24)):
        assert selectors.overdue_count(world.bureau) == 1


def test_the_default_deadline_follows_the_calendar_of_record_for_a_year_the_package_does_not_know(world):
    AccountabilityPolicy.objects.create(county=world.county, finding_working_days=2)
    with at(D(2026, 12, 30)):
        before = services.issue_finding(user=world.bureau, school_id=world.school.pk, facts="问题")
        OfficialDay.objects.create(date=D(2027, 1, 1), kind=OfficialDay.Kind.HOLIDAY, name="元旦")
        after = services.issue_finding(user=world.bureau, school_id=world.school.pk, facts="问题")
    assert before.due_on == D(2027, 1, 1)  # 2027 unknown to the package: weekdays only
    assert after.due_on == D(2027, 1, 4)  # the bureau entered New Year's Day: the deadline moves to Monday


def test_a_deadline_in_the_past_is_refused_and_nothing_is_issued(world, api, today):
    answer = api.as_user(world.bureau).post(
        FINDINGS, {"school": world.school.pk, "facts": "问题", "due_on": "2026-11-24"}, format="json"
    )
    assert answer.status_code == 400
    assert "整改期限不能早于今天" in answer.json()["detail"]
    assert not Finding.objects.exists()
    today_is_fine = api.post(FINDINGS, {"school": world.school.pk, "facts": "问题", "due_on": "2026-11-25"})
    assert today_is_fine.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"facts": "   "}, "请填写通报事实"),
        ({"facts": "问题", "source": "metric"}, "须写明指标"),
        ({"facts": "问题", "source": "rumour"}, "未知的通报来源"),
        ({"facts": "问\x00题"}, ""),
        ({"facts": "问题", "due_on": "2028-01-01"}, "不能超过一年"),
        ({"facts": "问题", "metric": "指" * 41, "source": "metric"}, "最多 40 个字"),
    ],
)
def test_bad_issue_input_is_a_400_in_chinese(world, api, today, body, message):
    answer = api.as_user(world.bureau).post(FINDINGS, {"school": world.school.pk, **body}, format="json")
    assert answer.status_code == 400
    assert message in str(answer.json())
    assert not Finding.objects.exists()


@pytest.mark.parametrize("role", ["principal", "teacher", "cadre", "principal2", "outsider"])
def test_only_the_bureau_may_issue(world, api, today, role):
    answer = api.as_user(getattr(world, role)).post(
        FINDINGS, {"school": world.school.pk, "facts": "问题"}, format="json"
    )
    assert answer.status_code == 404
    assert not Finding.objects.exists()


def test_the_bureau_may_not_issue_to_a_school_of_another_county(world, api, today):
    elsewhere = f.SchoolFactory(name="外县中学", code="S09999", county=f.CountyFactory(name="白云县", code="431227"))
    answer = api.as_user(world.bureau).post(FINDINGS, {"school": elsewhere.pk, "facts": "问题"}, format="json")
    assert answer.status_code == 404
    with pytest.raises(InvalidTransition):  # the service, called directly by a principal of the school
        services.issue_finding(user=world.principal, school_id=world.school.pk, facts="问题")
    assert not Finding.objects.exists()


# --- the lifecycle ---------------------------------------------------------------------------------


def test_open_answer_return_answer_accept(world, api, finding, today):
    principal = api.as_user(world.principal)
    answer = principal.post(url(finding, "answer"), {"answer": "已补报考勤"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "answered"
    assert answer.json()["answered_by"] == world.principal.pk

    bureau = api.as_user(world.bureau)
    returned = bureau.post(url(finding, "return"), {"note": "未附佐证材料"}, format="json")
    assert returned.status_code == 200, returned.json()
    assert (returned.json()["status"], returned.json()["decision_note"]) == ("returned", "未附佐证材料")

    again = api.as_user(world.principal).post(url(finding, "answer"), {"answer": "已补附材料"}, format="json")
    assert again.status_code == 200
    assert again.json()["status"] == "answered"

    accepted = api.as_user(world.bureau).post(url(finding, "accept"), {"note": "整改到位"}, format="json")
    assert accepted.status_code == 200
    body = accepted.json()
    assert (body["status"], body["decided_by"], body["decision_note"]) == ("accepted", world.bureau.pk, "整改到位")
    finding.refresh_from_db()
    assert finding.answer == "已补附材料"
    statuses = list(finding.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert statuses == ["open", "answered", "returned", "answered", "accepted"]


def test_the_bureau_may_return_with_a_new_deadline(world, finding, today):
    answered(world, finding)
    services.return_finding(user=world.bureau, finding_id=finding.pk, note="重改", due_on=D(2026, 12, 31))
    finding.refresh_from_db()
    assert (finding.status, finding.due_on) == ("returned", D(2026, 12, 31))
    answered(world, finding)
    with pytest.raises(InvalidInput, match="不能早于今天"):
        services.return_finding(user=world.bureau, finding_id=finding.pk, note="重改", due_on=D(2026, 11, 1))
    finding.refresh_from_db()
    assert finding.status == "answered"


def _to(world, finding, state):
    if state in ("answered", "returned", "accepted"):
        answered(world, finding)
    if state == "returned":
        services.return_finding(user=world.bureau, finding_id=finding.pk, note="重改")
    if state == "accepted":
        services.accept_finding(user=world.bureau, finding_id=finding.pk)
    finding.refresh_from_db()
    assert finding.status == state
    return finding


@pytest.mark.parametrize(
    ("state", "action", "role"),
    [
        ("open", "accept", "bureau"),
        ("open", "return", "bureau"),
        ("answered", "answer", "principal"),
        ("returned", "accept", "bureau"),
        ("returned", "return", "bureau"),
        ("accepted", "answer", "principal"),
        ("accepted", "accept", "bureau"),
        ("accepted", "return", "bureau"),
    ],
)
def test_illegal_moves_are_409_and_change_nothing(world, api, finding, state, action, role):
    _to(world, finding, state)
    before = finding.history.count()
    body = {"answer": "再报", "note": "意见"}
    response = api.as_user(getattr(world, role)).post(url(finding, action), body, format="json")
    assert response.status_code == 409, response.json()
    assert "不能" in response.json()["detail"]
    finding.refresh_from_db()
    assert finding.status == state
    assert finding.history.count() == before


@pytest.mark.parametrize(
    ("state", "action", "role"),
    [("open", "answer", "bureau"), ("answered", "accept", "principal"), ("answered", "return", "principal")],
)
def test_each_side_does_only_its_own_moves(world, api, finding, state, action, role):
    _to(world, finding, state)
    response = api.as_user(getattr(world, role)).post(url(finding, action), {"answer": "x", "note": "y"}, format="json")
    assert response.status_code == 409
    assert "您的岗位不能" in response.json()["detail"]
    finding.refresh_from_db()
    assert finding.status == state


def test_a_return_needs_the_bureaus_reasons(world, api, finding):
    answered(world, finding)
    response = api.as_user(world.bureau).post(url(finding, "return"), {"note": "  "}, format="json")
    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.status == "answered"


def test_an_answer_needs_text(world, api, finding, media):
    response = api.as_user(world.principal).post(url(finding, "answer"), {"answer": ""}, format="json")
    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.status == "open"


def test_a_school_leader_of_the_school_may_answer(world, api, finding):
    leader = f.UserFactory(username="leader")
    f.PostFactory(user=leader, role="school_leader", county=world.county, school=world.school)
    response = api.as_user(leader).post(url(finding, "answer"), {"answer": "已整改"}, format="json")
    assert response.status_code == 200


# --- who sees what ---------------------------------------------------------------------------------


def test_the_bureau_and_the_school_see_the_finding_and_nobody_else_does(world, api, finding, issue):
    other = issue(school_id=world.school2.pk, facts="白沙乡中学问题")
    for role, expected in (("bureau", {finding.pk, other.pk}), ("principal", {finding.pk}), ("principal2", {other.pk})):
        listed = api.as_user(getattr(world, role)).get(FINDINGS)
        assert listed.status_code == 200
        assert {row["id"] for row in listed.json()["results"]} == expected, role
    for role in ("teacher", "teacher2", "cadre", "cadre2", "outsider"):
        listed = api.as_user(getattr(world, role)).get(FINDINGS)
        assert listed.json() == {"count": 0, "next": None, "previous": None, "results": []}, role
        assert api.get(url(finding)).status_code == 404
        assert selectors.finding_counts(getattr(world, role)) == {
            "open": 0,
            "awaiting_school": 0,
            "awaiting_bureau": 0,
            "overdue": 0,
        }
    assert api.as_user(world.principal2).get(url(finding)).status_code == 404
    assert api.as_user(world.principal).get(url(finding)).status_code == 200


@pytest.mark.parametrize("role", OUT_OF_SCOPE)
@pytest.mark.parametrize("action", ["answer", "accept", "return"])
def test_actions_on_a_finding_out_of_scope_are_404_whatever_the_body(world, api, finding, media, role, action):
    if action != "answer":
        answered(world, finding)
        finding.refresh_from_db()
    state = finding.status
    response = api.as_user(getattr(world, role)).post(url(finding, action), {}, format="json")
    assert response.status_code == 404
    response = api.post(url(finding, action), {"answer": "x", "note": "y", "files": [pdf()]}, format="multipart")
    assert response.status_code == 404
    finding.refresh_from_db()
    assert finding.status == state
    assert not FindingAttachment.objects.exists()
    assert stored_files(media) == []


def test_ids_that_are_not_numbers_are_404_and_bad_filters_400(world, api, finding):
    bureau = api.as_user(world.bureau)
    assert bureau.get(f"{FINDINGS}abc/").status_code == 404
    assert bureau.post(f"{FINDINGS}abc/accept/", {}, format="json").status_code == 404
    assert bureau.get(f"{FINDINGS}{finding.pk}/attachments/x/").status_code == 404
    for query in ({"school": "abc"}, {"school": "1e3"}, {"school": "１"}, {"status": "closed"}):
        response = bureau.get(FINDINGS, query)
        assert response.status_code == 400, query
    assert "学校编号无效" in bureau.get(FINDINGS, {"school": "abc"}).json()["detail"]
    assert bureau.get(FAULTS, {"case": "x"}).status_code == 400


def test_list_filters(world, api, issue):
    with at(D(2026, 11, 16)):
        late = issue(due_on=D(2026, 11, 20))
    with at(D(2026, 11, 25)):
        fresh = issue()
        elsewhere = issue(school_id=world.school2.pk)
        answered(world, fresh)
        bureau = api.as_user(world.bureau)

        def ids(**query):
            return {row["id"] for row in bureau.get(FINDINGS, query).json()["results"]}

        assert ids() == {late.pk, fresh.pk, elsewhere.pk}
        assert ids(school=world.school.pk) == {late.pk, fresh.pk}
        assert ids(status="answered") == {fresh.pk}
        assert ids(overdue="true") == {late.pk}
        assert ids(overdue="false") == {fresh.pk, elsewhere.pk}
        rows = bureau.get(FINDINGS).json()["results"]
        assert next(row["id"] for row in rows) == late.pk  # the school's turn first, the most urgent first
        assert next(row for row in rows if row["id"] == late.pk)["overdue"] is True


def test_the_list_is_read_in_a_constant_number_of_queries(world, api, issue, media, django_assert_max_num_queries):
    for n in range(6):
        finding = issue(facts=f"问题{n}")
        answered(world, finding, files=[pdf(), jpg()])
    client = api.as_user(world.bureau)
    with django_assert_max_num_queries(6):
        response = client.get(FINDINGS)
    assert response.json()["count"] == 6
    assert {row["attachment_count"] for row in response.json()["results"]} == {2}


# --- evidence --------------------------------------------------------------------------------------


def test_evidence_is_stored_checked_and_served_only_to_those_who_see_the_finding(world, api, finding, media):
    response = api.as_user(world.principal).post(
        url(finding, "answer"), {"answer": "已整改,附报告和照片", "files": [pdf(), jpg()]}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    attachments = response.json()["attachments"]
    assert [(a["name"], a["size"]) for a in attachments] == [("整改报告.pdf", len(PDF)), ("现场照片.jpg", len(JPG))]
    assert attachments[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    files = stored_files(media)
    assert len(files) == 2
    assert {p.read_bytes() for p in files} == {PDF, JPG}
    assert all("整改报告" not in p.name for p in files)  # stored under an unguessable name

    row = FindingAttachment.objects.get(name="整改报告.pdf")
    download = f"{url(finding)}attachments/{row.pk}/"
    for role in ("bureau", "principal"):
        got = api.as_user(getattr(world, role)).get(download)
        assert got.status_code == 200, role
        assert b"".join(got.streaming_content) == PDF
        assert got["Content-Type"] == "application/pdf"
        assert got["Content-Disposition"].startswith("attachment")
        assert got["Cache-Control"] == "no-store"
    for role in OUT_OF_SCOPE:
        assert api.as_user(getattr(world, role)).get(download).status_code == 404, role
    api.logout()
    api.force_authenticate(None)
    assert api.get(download).status_code == 401


def test_an_attachment_is_found_only_under_its_own_finding(world, api, finding, issue, media):
    answered(world, finding, files=[pdf()])
    mine = issue(facts="另一个通报")
    row = FindingAttachment.objects.get()
    assert api.as_user(world.bureau).get(f"{url(mine)}attachments/{row.pk}/").status_code == 404
    assert api.get(f"{url(finding)}attachments/{row.pk + 1}/").status_code == 404


BAD_FILES = [
    ("a Word document", lambda: SimpleUploadedFile("整改.docx", b"PK\x03\x04" + b"0" * 40), "只接受 PDF 或 JPG"),
    ("a renamed executable", lambda: SimpleUploadedFile("x.pdf", b"MZ\x90\x00" + b"\x00" * 200), "不是完整的 PDF"),
    ("a PNG called .jpg", lambda: SimpleUploadedFile("p.jpg", b"\x89PNG\r\n\x1a\n" + b"0" * 40), "不是完整的 JPG"),
    ("an HTML page called .pdf", lambda: SimpleUploadedFile("r.pdf", b"<html><script>x</script></html>"), "PDF"),
    ("an empty file", lambda: SimpleUploadedFile("e.pdf", b""), "空文件"),
    ("an oversized file", lambda: pdf("big.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"), "5 MB"),
    ("no extension", lambda: SimpleUploadedFile("README", PDF), "只接受 PDF 或 JPG"),
]


@pytest.mark.parametrize(("what", "make", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_evidence_file_is_refused_in_chinese_and_nothing_is_stored(
    world, api, finding, media, what, make, message
):
    before = (finding.status, finding.answer, finding.answered_at, finding.history.count())
    response = api.as_user(world.principal).post(
        url(finding, "answer"), {"answer": "已整改", "files": [pdf("good.pdf"), make()]}, format="multipart"
    )
    assert response.status_code == 400, response.json()
    assert message in response.json()["detail"]
    assert "佐证材料" in response.json()["detail"]
    finding.refresh_from_db()
    assert (finding.status, finding.answer, finding.answered_at, finding.history.count()) == before
    assert not FindingAttachment.objects.exists()
    assert stored_files(media) == []


def test_more_than_ten_files_are_refused(world, finding, media):
    with pytest.raises(InvalidInput, match="最多 10 个"):
        answered(world, finding, files=[pdf(f"{n}.pdf") for n in range(11)])
    assert stored_files(media) == []


def test_evidence_of_each_answer_is_kept(world, finding, media):
    answered(world, finding, files=[pdf()])
    services.return_finding(user=world.bureau, finding_id=finding.pk, note="照片不清楚")
    answered(world, finding, files=[jpg()])
    assert finding.attachments.count() == 2
    assert len(stored_files(media)) == 2


# --- reminders -------------------------------------------------------------------------------------


def _texts(user, kind):
    return [n.text for n in unread_for(user) if n.kind == kind]


def test_the_school_is_told_of_a_finding_and_the_issuer_of_the_answer(
    world, finding, issue, django_capture_on_commit_callbacks
):
    assert not Notification.objects.filter(kind="finding_issued").exists()  # only once committed
    with django_capture_on_commit_callbacks(execute=True):
        told = issue(facts="控辍保学工作台账不全")
    [text] = _texts(world.principal, "finding_issued")
    assert "清溪镇中学" in text
    assert "2026年12月09日" in text
    assert "台账不全" in text
    assert _texts(world.principal2, "finding_issued") == []
    assert _texts(world.teacher, "finding_issued") == []

    with django_capture_on_commit_callbacks(execute=True):
        answered(world, told)
    assert _texts(world.principal, "finding_issued") == []  # answered: the reminder has done its job
    [text] = _texts(world.bureau, "finding_answered")
    assert "已报送整改情况" in text

    with django_capture_on_commit_callbacks(execute=True):
        services.return_finding(user=world.bureau, finding_id=told.pk, note="佐证不足")
    assert _texts(world.bureau, "finding_answered") == []
    [text] = _texts(world.principal, "finding_returned")
    assert "退回" in text
    assert "佐证不足" in text
    with django_capture_on_commit_callbacks(execute=True):
        answered(world, told)
    assert _texts(world.principal, "finding_returned") == []
    assert len(_texts(world.bureau, "finding_answered")) == 1  # the second answer is news again


def test_a_refused_answer_tells_nobody(world, finding, django_capture_on_commit_callbacks, media):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput):
        answered(world, finding, files=[SimpleUploadedFile("x.pdf", b"MZ")])
    assert not Notification.objects.filter(kind="finding_answered").exists()


def test_an_overdue_finding_is_reminded_once_and_the_reminder_goes_when_answered(world, issue):
    with at(D(2026, 11, 16)):
        late = issue(due_on=D(2026, 11, 20))
        on_time = issue(due_on=D(2026, 11, 25))
        services.issue_finding(user=world.bureau, school_id=world.school2.pk, facts="二校", due_on=D(2026, 11, 30))
    with at(D(2026, 11, 25)):
        assert services.remind_overdue_findings() == 2  # the principal and the issuer, for `late` only
        assert services.remind_overdue_findings() == 0  # once
        assert tasks.remind_overdue_findings.delay("2026-11-25").get() == 0  # the task, idempotent too
        for user in (world.principal, world.bureau):
            [text] = _texts(user, "finding_overdue")
            assert "逾期5天" in text
            assert "2026年11月20日" in text
        assert _texts(world.principal2, "finding_overdue") == []
        assert Notification.objects.filter(kind="finding_overdue", link=late.get_absolute_url()).count() == 2
        assert selectors.overdue_count(world.principal) == 1
        assert selectors.overdue_count(world.bureau, school=world.school2.pk) == 0
        assert not selectors.is_overdue(on_time)

        answered(world, late)
        assert _texts(world.principal, "finding_overdue") == []
        assert _texts(world.bureau, "finding_overdue") == []
        assert Notification.objects.get(user=world.principal, kind="finding_overdue").read_at is not None
        assert selectors.overdue_count(world.principal) == 0

        # Sent back after the deadline: overdue again, and reminded again (a new pass).
        services.return_finding(user=world.bureau, finding_id=late.pk, note="重改")
        assert services.remind_overdue_findings() == 2
        assert len(_texts(world.principal, "finding_overdue")) == 1


def test_the_reminder_runs_daily_on_celery_beat():
    from config.celery import app

    entries = [e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if "finding" in e["task"]]
    assert [e["task"] for e in entries] == ["accountability.findings.tasks.remind_overdue_findings"]
    assert entries[0]["task"] in app.tasks


def test_counts_for_dashboards(world, issue):
    with at(D(2026, 11, 16)):
        issue(due_on=D(2026, 11, 20))
        waiting = issue()
    with at(D(2026, 11, 25)):
        answered(world, waiting)
        done = issue()
        answered(world, done)
        services.accept_finding(user=world.bureau, finding_id=done.pk)
        counts = selectors.finding_counts(world.principal)
        assert counts == {"open": 2, "awaiting_school": 1, "awaiting_bureau": 1, "overdue": 1}
        assert selectors.open_count(world.bureau, school=world.school.pk) == 2
        assert selectors.overdue_count(world.principal2) == 0


# --- teacher fault records -------------------------------------------------------------------------


@pytest.fixture
def confirmed(world, term):
    return build_case(world, world.students_a[0], "confirmed")


def test_the_bureau_records_a_teacher_fault_once(world, api, confirmed, today):
    bureau = api.as_user(world.bureau)
    body = {"person": world.teacher.pk, "case": confirmed.pk, "reason": "连续多日未报告缺勤,未及时家访"}
    answer = bureau.post(FAULTS, body, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["person_name"] == str(world.teacher)
    assert answer.json()["school"] == world.school.pk
    assert bureau.post(FAULTS, body, format="json").status_code == 409
    assert TeacherFault.objects.get().recorded_by_id == world.bureau.pk
    assert [row["id"] for row in bureau.get(FAULTS).json()["results"]] == [answer.json()["id"]]
    assert bureau.get(FAULTS, {"person": world.principal.pk}).json()["count"] == 0
    for role in ("principal", "teacher", "cadre", "principal2", "outsider"):
        assert api.as_user(getattr(world, role)).get(FAULTS).json()["count"] == 0, role
        assert api.post(FAULTS, body, format="json").status_code == 404, role
    assert TeacherFault.objects.count() == 1


def test_a_fault_needs_a_confirmed_case_of_the_county_and_a_person_of_the_county(world, api, term, today):
    suspected = build_case(world, world.students_a[1], "suspected")
    bureau = api.as_user(world.bureau)
    answer = bureau.post(FAULTS, {"person": world.teacher.pk, "case": suspected.pk, "reason": "x"}, format="json")
    assert answer.status_code == 409
    confirmed = build_case(world, world.students_a[2], "confirmed")
    stranger = f.UserFactory(username="stranger")
    answer = bureau.post(FAULTS, {"person": stranger.pk, "case": confirmed.pk, "reason": "x"}, format="json")
    assert answer.status_code == 400
    assert "本县" in answer.json()["detail"]
    answer = bureau.post(FAULTS, {"person": world.teacher.pk, "case": confirmed.pk, "reason": " "}, format="json")
    assert answer.status_code == 400
    other_bureau = f.UserFactory(username="bureau-elsewhere")
    f.PostFactory(user=other_bureau, role="bureau", county=f.CountyFactory(name="白云县", code="431227"))
    with pytest.raises(OutOfScope):
        services.record_fault(user=other_bureau, person_id=world.teacher.pk, case_id=confirmed.pk, reason="x")
    assert not TeacherFault.objects.exists()
