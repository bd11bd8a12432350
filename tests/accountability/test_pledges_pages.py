"""目标责任书 pages: the list with the unsigned board and the two-step create form, the detail page with
the scan upload and download, the printable 责任书, and the bureau's templates — with the Django test
client, for each role."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accountability.models import Pledge, PledgeTemplate
from accountability.pledges import services
from accountability.pledges.views import target_lines
from students.models import Post
from tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LIST = reverse("accountability:pledges")
TEMPLATES = reverse("accountability:pledge-templates")
NOT_IN_SCOPE = ("teacher2", "cadre", "principal2", "outsider")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE)


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def detail(pledge):
    return reverse("accountability:pledge", args=[pledge.pk])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def pledge(world, term, today):
    """校长—班主任: the principal of school 1 with the class teacher of class A."""
    return services.create_pledge(
        user=world.principal,
        kind="principal_teacher",
        school_id=world.school.pk,
        term_id=term.pk,
        party_a_id=world.principal.pk,
        party_b_id=world.teacher.pk,
        targets=["本班学年辍学率为零", "每学期家访预警学生不少于2次"],
    )


def sign(world, pledge):
    return services.record_signature(
        user=world.principal, pledge_id=pledge.pk, signed_on=D(2026, 11, 20), scan=SimpleUploadedFile("签字.pdf", PDF)
    )


# --- list ------------------------------------------------------------------------------------------


def test_the_list_shows_each_reader_their_pledges_and_the_unsigned_board(world, client, pledge, term):
    client.force_login(world.bureau)
    page = html(client.get(LIST))
    assert f'data-pledge="{pledge.pk}"' in page
    assert 'id="unsigned"' in page
    assert f'data-unsigned="principal_teacher:{world.teacher2.pk}"' in page
    assert f'data-unsigned="bureau_principal:{world.principal2.pk}"' in page
    assert 'id="edit-templates"' in page
    assert 'id="new-pledge"' in page
    assert not INLINE_SCRIPT.search(page)

    client.force_login(world.principal)
    page = html(client.get(LIST))
    assert f'data-pledge="{pledge.pk}"' in page
    assert f'data-unsigned="bureau_principal:{world.principal2.pk}"' not in page
    assert "待教育局签订" in page  # the principal's own pledge with the bureau is the bureau's to write
    assert 'id="edit-templates"' not in page

    client.force_login(world.teacher)  # named in it: sees it; no board; may write family pledges
    page = html(client.get(LIST))
    assert f'data-pledge="{pledge.pk}"' in page
    assert 'id="unsigned"' not in page
    assert 'id="new-pledge"' in page

    for role, may_write in (("teacher2", True), ("cadre", False), ("outsider", False)):
        client.force_login(getattr(world, role))
        response = client.get(LIST)
        assert response.status_code == 200
        assert "暂无目标责任书" in html(response)
        assert "data-pledge=" not in html(response)
        assert 'id="unsigned"' not in html(response)
        assert ('id="new-pledge"' in html(response)) is may_write, role  # a class teacher writes family pledges


def test_the_board_shrinks_when_the_scan_and_date_are_recorded(world, client, pledge, media):
    client.force_login(world.principal)
    row = f'data-unsigned="principal_teacher:{world.teacher.pk}"'
    page = html(client.get(LIST))
    assert row in page
    assert f"{detail(pledge)}#scan-form" in page  # on file: the link records the signature
    sign(world, pledge)
    assert row not in html(client.get(LIST))


def test_the_list_filters(world, client, pledge, media):
    client.force_login(world.bureau)
    assert f'data-pledge="{pledge.pk}"' not in html(client.get(LIST, {"signed": "1"}))
    assert f'data-pledge="{pledge.pk}"' in html(client.get(LIST, {"signed": "0", "kind": "principal_teacher"}))
    assert "没有符合条件的责任书" in html(client.get(LIST, {"school": world.school2.pk}))
    assert client.get(LIST, {"school": "abc", "term": "x", "kind": "y", "signed": "z", "page": "q"}).status_code == 200


def test_pages_need_a_login(client, pledge):
    for path in (LIST, TEMPLATES, detail(pledge), reverse("accountability:pledge-print", args=[pledge.pk])):
        response = client.get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- the create form -------------------------------------------------------------------------------


def test_the_create_form_offers_only_eligible_parties_and_creates(world, client, term, today):
    client.force_login(world.principal)
    step2 = {"new_school": world.school.pk, "new_kind": "principal_teacher", "new_term": term.pk}
    page = html(client.get(LIST, step2))
    assert 'id="pledge-form"' in page
    form = page[page.index('id="pledge-form"') :]
    assert f'<option value="{world.teacher.pk}"' in form
    assert f'<option value="{world.teacher2.pk}"' in form
    for stranger in (world.principal2, world.cadre, world.outsider, world.bureau):
        assert f'<option value="{stranger.pk}"' not in form.split('name="targets"')[0].split('id="f-party-b"')[1]
    assert "本班学年辍学率不超过学校控制目标(0.6%)" in form  # the default targets, ready to edit

    response = client.post(
        LIST,
        {
            "school": world.school.pk,
            "kind": "principal_teacher",
            "term": term.pk,
            "party_a": world.principal.pk,
            "party_b": world.teacher2.pk,
            "targets": "1. 本班零辍学\n2、每天按时报告考勤\n\n",
        },
    )
    pledge = Pledge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(pledge)
    assert (pledge.party_b, pledge.targets) == (world.teacher2, ["本班零辍学", "每天按时报告考勤"])


def test_the_unsigned_link_opens_the_create_form_prefilled(world, client, term, today):
    client.force_login(world.principal)
    page = html(client.get(LIST))
    link = re.search(rf'href="([^"]*new_party_b={world.teacher2.pk}[^"]*)"', page).group(1).replace("&amp;", "&")
    form = html(client.get(link))
    form = form[form.index('id="f-party-b"') :]
    assert f'<option value="{world.teacher2.pk}" selected>' in form


def test_a_refused_create_keeps_what_was_typed(world, client, term, today):
    client.force_login(world.principal)
    response = client.post(
        LIST,
        {
            "school": world.school.pk,
            "kind": "principal_teacher",
            "term": term.pk,
            "party_a": world.principal.pk,
            "party_b": world.principal2.pk,
            "targets": "我们写的目标",
        },
    )
    assert response.status_code == 400
    assert "乙方须是本校的班主任" in messages_of(response)
    assert "我们写的目标" in html(response)
    assert not Pledge.objects.exists()
    response = client.post(LIST, {})
    assert response.status_code == 400
    assert "请选择责任书类别" in messages_of(response)


def test_a_class_teacher_writes_a_family_pledge_on_the_page(world, client, term, today):
    client.force_login(world.teacher)
    page = html(client.get(LIST, {"new_school": world.school.pk}))
    assert 'id="f-student"' in page  # the only kind a class teacher writes: chosen already
    assert world.students_a[0].name in page
    response = client.post(
        LIST,
        {
            "school": world.school.pk,
            "kind": "school_family",
            "term": term.pk,
            "party_a": world.principal.pk,
            "student": world.students_a[0].pk,
            "guardian_name": "张大山",
            "targets": "",
        },
    )
    assert response.status_code == 302
    pledge = Pledge.objects.get()
    assert (pledge.student, pledge.guardian_name, pledge.created_by) == (world.students_a[0], "张大山", world.teacher)
    assert any("按时入学" in target for target in pledge.targets)  # an emptied textarea takes the defaults


@pytest.mark.parametrize("role", ["cadre", "outsider"])
def test_the_create_form_does_not_exist_for_those_without_a_post_to_write_from(world, client, term, role):
    client.force_login(getattr(world, role))
    response = client.post(LIST, {"school": world.school.pk, "kind": "principal_teacher", "term": term.pk})
    assert response.status_code == 404
    assert not Pledge.objects.exists()


# --- detail, scan, print ---------------------------------------------------------------------------


def test_the_detail_page_offers_the_upload_to_the_writing_side(world, client, pledge):
    client.force_login(world.principal)
    page = html(client.get(detail(pledge)))
    assert "本班学年辍学率为零" in page
    assert 'id="scan-form"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'id="targets-form"' in page
    assert "登记责任书" in page  # the trail
    assert not INLINE_SCRIPT.search(page)

    client.force_login(world.teacher)
    page = html(client.get(detail(pledge)))
    assert "本班学年辍学率为零" in page
    assert 'id="scan-form"' not in page


@pytest.mark.parametrize("role", NOT_IN_SCOPE)
def test_a_pledge_out_of_scope_is_404_on_every_page(world, client, pledge, media, role):
    sign(world, pledge)
    client.force_login(getattr(world, role))
    for name in ("pledge", "pledge-scan", "pledge-print"):
        assert client.get(reverse(f"accountability:{name}", args=[pledge.pk])).status_code == 404, name
    for action in ("scan", "targets", "delete"):
        response = client.post(
            detail(pledge), {"action": action, "signed_on": "2026-11-21", "file": SimpleUploadedFile("x.pdf", PDF)}
        )
        assert response.status_code == 404, action
    pledge.refresh_from_db()
    assert (pledge.signed_on, pledge.scan_name) == (D(2026, 11, 20), "签字.pdf")
    assert len(stored_files(media)) == 1


def test_the_principal_uploads_the_scan_and_others_in_scope_download_it(world, client, pledge, media):
    client.force_login(world.principal)
    response = client.post(
        detail(pledge), {"action": "scan", "signed_on": "2026-11-20", "file": SimpleUploadedFile("签字页.pdf", PDF)}
    )
    assert response.status_code == 302
    page = client.get(detail(pledge))
    assert "已登记签订日期和签字扫描件" in messages_of(page)
    download = reverse("accountability:pledge-scan", args=[pledge.pk])
    assert f'href="{download}"' in html(page)
    assert 'id="targets-form"' not in html(page)  # signed: the targets are what was signed

    for role in ("bureau", "teacher"):
        client.force_login(getattr(world, role))
        got = client.get(download)
        assert got.status_code == 200, role
        assert b"".join(got.streaming_content) == PDF
        assert got["Content-Disposition"].startswith("attachment")
        assert got["Cache-Control"] == "no-store"


def test_a_refused_scan_shows_why_and_stores_nothing(world, client, pledge, media):
    client.force_login(world.principal)
    response = client.post(
        detail(pledge),
        {
            "action": "scan",
            "signed_on": "2026-11-20",
            "file": SimpleUploadedFile("scan.pdf", b"MZ\x90\x00" + b"\0" * 99),
        },
    )
    assert response.status_code == 400
    assert "不是完整的 PDF 文件" in messages_of(response)
    assert 'value="2026-11-20"' in html(response)
    response = client.post(detail(pledge), {"action": "scan", "signed_on": "20.11.2026"})
    assert "签订日期格式不正确" in messages_of(response)
    pledge.refresh_from_db()
    assert (pledge.signed_on, pledge.scan.name) == (None, "")
    assert stored_files(media) == []


def test_the_teacher_may_not_upload_and_the_principal_may_edit_and_delete_while_unsigned(world, client, pledge):
    client.force_login(world.teacher)
    response = client.post(detail(pledge), {"action": "targets", "targets": "改掉"})
    assert response.status_code == 409
    client.force_login(world.principal)
    assert client.post(detail(pledge), {"action": "teleport"}).status_code == 400
    assert client.post(detail(pledge), {"action": "targets", "targets": "新目标一\n新目标二"}).status_code == 302
    pledge.refresh_from_db()
    assert pledge.targets == ["新目标一", "新目标二"]
    response = client.post(detail(pledge), {"action": "delete"})
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Pledge.objects.exists()


def test_the_printable_pledge_shows_the_parties_and_the_targets(world, client, pledge):
    client.force_login(world.teacher)
    response = client.get(reverse("accountability:pledge-print", args=[pledge.pk]))
    assert response.status_code == 200
    page = html(response)
    assert "控辍保学目标责任书" in page
    assert "1. 本班学年辍学率为零" in page
    assert "2. 每学期家访预警学生不少于2次" in page
    assert "甲方:清溪镇中学(代表:principal)" in page
    assert "乙方:班主任 teacher" in page
    assert str(pledge.term) in page
    assert 'id="sign-party-b">teacher' in page
    assert "css/print.css" in page
    assert not INLINE_SCRIPT.search(page)
    assert not INLINE_STYLE.search(page)


def test_the_printable_family_pledge_names_the_student_and_guardian(world, client, term, today):
    pledge = services.create_pledge(
        user=world.teacher,
        kind="school_family",
        school_id=world.school.pk,
        term_id=term.pk,
        party_a_id=world.principal.pk,
        student_id=world.students_a[0].pk,
        guardian_name="张大山",
    )
    client.force_login(world.principal)
    page = html(client.get(reverse("accountability:pledge-print", args=[pledge.pk])))
    assert "控辍保学家校责任书" in page
    assert f"学生 {world.students_a[0].name} 的家长(监护人)张大山" in page
    assert "乙方(家长签字)" in page


def test_the_printable_pledge_follows_the_countys_template(world, client, pledge):
    services.save_template(
        user=world.bureau,
        county_id=world.county.pk,
        kind="principal_teacher",
        title="{school}班主任责任书",
        body="立书人:{party_a}、{party_b}\n目标:\n{targets}\n控制目标 {dropout_target}",
    )
    client.force_login(world.principal)
    page = html(client.get(reverse("accountability:pledge-print", args=[pledge.pk])))
    assert "清溪镇中学班主任责任书" in page
    assert "立书人:principal、teacher" in page
    assert "控制目标 0.6%" in page
    assert "1. 本班学年辍学率为零" in page


# --- templates -------------------------------------------------------------------------------------


def test_the_bureau_edits_the_templates_on_the_page(world, client):
    client.force_login(world.bureau)
    page = html(client.get(TEMPLATES))
    assert page.count("data-kind=") == 4
    assert "{targets}" in page
    response = client.post(
        TEMPLATES, {"county": world.county.pk, "kind": "school_family", "title": "家校书", "body": "{student}\n{bad}"}
    )
    assert response.status_code == 400
    assert "未知的占位符:{bad}" in messages_of(response)
    assert "{student}\n{bad}" in html(response)  # what was typed is kept
    assert not PledgeTemplate.objects.exists()
    response = client.post(
        TEMPLATES,
        {"county": world.county.pk, "kind": "school_family", "title": "家校书", "body": "{student}\n{targets}"},
    )
    assert response.status_code == 302
    assert PledgeTemplate.objects.get().title == "家校书"
    assert "本县自定义" in html(client.get(TEMPLATES))


@pytest.mark.parametrize("role", ["principal", "teacher", "principal2", "cadre", "outsider"])
def test_the_templates_page_is_the_bureaus_alone(world, client, role):
    client.force_login(getattr(world, role))
    assert client.get(TEMPLATES).status_code == 404
    response = client.post(TEMPLATES, {"kind": "school_family", "title": "x", "body": "{targets}"})
    assert response.status_code == 404
    assert not PledgeTemplate.objects.exists()


def test_a_school_leader_sees_the_board_of_their_school(world, client, term, today):
    leader = f.UserFactory(username="leader")
    f.PostFactory(user=leader, role=Post.Role.SCHOOL_LEADER, county=world.county, school=world.school)
    client.force_login(leader)
    page = html(client.get(LIST))
    assert f'data-unsigned="principal_teacher:{world.teacher.pk}"' in page
    assert f'data-unsigned="bureau_principal:{world.principal2.pk}"' not in page


def test_typed_targets_lose_their_numbering_but_not_their_decimals():
    typed = "1. 本班零辍学\n2、每天报告考勤\n3)家访\n四、配合劝返\n0.6%以内\n1.5倍于去年的家访"
    assert target_lines(typed) == ["本班零辍学", "每天报告考勤", "家访", "配合劝返", "0.6%以内", "1.5倍于去年的家访"]
