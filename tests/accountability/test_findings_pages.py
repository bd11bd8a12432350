"""Finding pages (通报 / 限期整改): list, detail with its action forms, the issue form, the answer with
its evidence upload and the download — with the Django test client, for each role."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accountability.findings import services
from accountability.models import Finding, FindingAttachment
from tests.helpers import at

pytestmark = pytest.mark.django_db

D = dt.date
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LIST = reverse("accountability:findings")
NEW = reverse("accountability:finding-new")
NOT_IN_SCOPE = ("teacher", "teacher2", "cadre", "principal2", "outsider")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", re.IGNORECASE)


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def action(finding, name):
    return reverse("accountability:finding-action", args=[finding.pk, name])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def finding(world, today):
    return services.issue_finding(
        user=world.bureau, school_id=world.school.pk, facts="7年级1班考勤日报连续3天未报送", requirement="补报"
    )


# --- list ------------------------------------------------------------------------------------------


def test_the_list_shows_each_reader_their_findings(world, client, finding, today):
    other = services.issue_finding(user=world.bureau, school_id=world.school2.pk, facts="白沙乡中学台账不全")
    client.force_login(world.bureau)
    page = html(client.get(LIST))
    assert f'data-finding="{finding.pk}"' in page
    assert f'data-finding="{other.pk}"' in page
    assert 'id="issue-finding"' in page
    assert not INLINE_SCRIPT.search(page)

    client.force_login(world.principal)
    page = html(client.get(LIST))
    assert f'data-finding="{finding.pk}"' in page
    assert f'data-finding="{other.pk}"' not in page
    assert 'id="issue-finding"' not in page

    for role in ("teacher", "cadre", "outsider"):
        client.force_login(getattr(world, role))
        response = client.get(LIST)
        assert response.status_code == 200
        assert "暂无通报整改事项" in html(response)
        assert "data-finding=" not in html(response)


def test_the_list_filters_and_marks_the_overdue(world, client):
    with at(D(2026, 11, 16)):
        late = services.issue_finding(
            user=world.bureau, school_id=world.school.pk, facts="逾期", due_on=D(2026, 11, 20)
        )
    with at(D(2026, 11, 25)):
        fresh = services.issue_finding(user=world.bureau, school_id=world.school.pk, facts="未逾期")
        client.force_login(world.bureau)
        page = html(client.get(LIST, {"overdue": "1"}))
        assert f'data-finding="{late.pk}"' in page
        assert f'data-finding="{fresh.pk}"' not in page
        assert "table-danger" in page
        page = html(client.get(LIST, {"status": "answered"}))
        assert "没有符合条件的通报" in page
        assert client.get(LIST, {"school": "abc", "status": "x", "page": "z"}).status_code == 200


def test_pages_need_a_login(client, finding):
    for url in (LIST, NEW, finding.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- detail ----------------------------------------------------------------------------------------


def test_the_detail_page_offers_each_side_its_own_actions(world, client, finding):
    client.force_login(world.principal)
    page = html(client.get(finding.get_absolute_url()))
    assert "7年级1班考勤日报连续3天未报送" in page
    assert 'id="form-answer"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'id="form-accept"' not in page
    assert not INLINE_SCRIPT.search(page)

    client.force_login(world.bureau)
    page = html(client.get(finding.get_absolute_url()))
    assert 'id="form-answer"' not in page
    assert 'id="form-accept"' not in page  # nothing to accept yet

    services.answer_finding(user=world.principal, finding_id=finding.pk, answer="已补报")
    page = html(client.get(finding.get_absolute_url()))
    assert 'id="form-accept"' in page
    assert 'id="form-return"' in page
    assert "已补报" in page


@pytest.mark.parametrize("role", NOT_IN_SCOPE)
def test_a_finding_out_of_scope_is_404_on_every_page(world, client, finding, media, role):
    services.answer_finding(
        user=world.principal,
        finding_id=finding.pk,
        answer="已整改",
        files=[SimpleUploadedFile("a.pdf", PDF)],
    )
    attachment = FindingAttachment.objects.get()
    client.force_login(getattr(world, role))
    assert client.get(finding.get_absolute_url()).status_code == 404
    download = reverse("accountability:finding-attachment", args=[finding.pk, attachment.pk])
    assert client.get(download).status_code == 404
    for name in ("answer", "accept", "return"):
        response = client.post(action(finding, name), {"answer": "x", "note": "y"})
        assert response.status_code == 404, name
    finding.refresh_from_db()
    assert finding.status == "answered"


def test_an_unknown_action_is_404(world, client, finding):
    client.force_login(world.bureau)
    assert client.post(action(finding, "delete")).status_code == 404
    assert client.get(action(finding, "accept")).status_code == 405


# --- the answer with its evidence ------------------------------------------------------------------


def test_the_principal_answers_with_a_file_and_the_bureau_downloads_it(world, client, finding, media):
    client.force_login(world.principal)
    response = client.post(
        action(finding, "answer"),
        {"answer": "已补报考勤,约谈班主任", "files": [SimpleUploadedFile("整改报告.pdf", PDF)]},
    )
    assert response.status_code == 302
    assert response["Location"] == finding.get_absolute_url()
    page = client.get(finding.get_absolute_url())
    assert "整改情况已报送教育局" in messages_of(page)
    attachment = FindingAttachment.objects.get()
    download = reverse("accountability:finding-attachment", args=[finding.pk, attachment.pk])
    assert f'href="{download}"' in html(page)
    assert "整改报告.pdf" in html(page)

    client.force_login(world.bureau)
    got = client.get(download)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == PDF
    assert got["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf" in got["Content-Disposition"]
    assert got["Cache-Control"] == "no-store"


def test_a_refused_file_keeps_the_typed_answer_and_stores_nothing(world, client, finding, media):
    client.force_login(world.principal)
    response = client.post(
        action(finding, "answer"),
        {"answer": "我们写了很长的整改说明", "files": [SimpleUploadedFile("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100)]},
    )
    assert response.status_code == 400
    assert "不是完整的 PDF 文件" in messages_of(response)
    assert "我们写了很长的整改说明" in html(response)
    finding.refresh_from_db()
    assert (finding.status, finding.answer) == ("open", "")
    assert not FindingAttachment.objects.exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_the_bureau_returns_and_accepts_on_the_page(world, client, finding):
    services.answer_finding(user=world.principal, finding_id=finding.pk, answer="已补报")
    client.force_login(world.bureau)
    response = client.post(action(finding, "return"), {"note": ""})
    assert response.status_code == 400
    assert "请填写退回意见" in messages_of(response)
    response = client.post(action(finding, "return"), {"note": "未附材料", "due_on": "2026-12-04"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.status, finding.due_on) == ("returned", D(2026, 12, 4))
    response = client.post(action(finding, "accept"))
    assert response.status_code == 409
    assert "不能验收" in messages_of(response)

    services.answer_finding(user=world.principal, finding_id=finding.pk, answer="已补附材料")
    assert client.post(action(finding, "accept"), {"note": "同意"}).status_code == 302
    finding.refresh_from_db()
    assert finding.status == "accepted"
    page = html(client.get(finding.get_absolute_url()))
    assert "整改已验收" in page
    assert "退回重改" in page  # the trail shows the pass that was sent back


# --- the issue form --------------------------------------------------------------------------------


def test_the_issue_form_defaults_to_the_countys_deadline_and_issues(world, client, today):
    client.force_login(world.bureau)
    page = client.get(NEW)
    assert page.status_code == 200
    assert 'value="2026-12-09"' in html(page)  # 10 working days after 2026-11-25
    assert world.school2.name in html(page)
    response = client.post(
        NEW, {"school": world.school.pk, "facts": "台账不全", "requirement": "一周内补齐", "due_on": "2026-12-09"}
    )
    finding = Finding.objects.get()
    assert response.status_code == 302
    assert response["Location"] == finding.get_absolute_url()
    assert (finding.school, finding.due_on, finding.issued_by) == (world.school, D(2026, 12, 9), world.bureau)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"facts": "台账不全", "due_on": "2026-11-20"}, "整改期限不能早于今天"),
        ({"facts": "台账不全", "due_on": "11/20"}, "整改期限格式不正确"),
        ({"facts": ""}, "请填写通报事实"),
        ({"facts": "x", "school": ""}, "请选择学校"),
    ],
)
def test_the_issue_form_shows_what_is_wrong(world, client, today, data, message):
    client.force_login(world.bureau)
    response = client.post(NEW, {"school": world.school.pk, **data})
    assert response.status_code == 400
    assert message in messages_of(response)
    assert not Finding.objects.exists()


@pytest.mark.parametrize("role", ["principal", "teacher", "cadre", "principal2", "outsider"])
def test_the_issue_form_exists_for_the_bureau_only(world, client, today, role):
    client.force_login(getattr(world, role))
    assert client.get(NEW).status_code == 404
    assert client.post(NEW, {"school": world.school.pk, "facts": "x"}).status_code == 404
    assert not Finding.objects.exists()
