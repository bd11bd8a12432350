"""Issue 15 (server side): the manifest, the service worker, the offline page, which pages may be kept
offline and for whom, the take page's offline copy, and the API's guard for reports sent from a phone."""

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse

from students.models import DailyReport, Post
from students.pwa import OFFLINE_USER_HEADER, PRECACHED_STATIC
from tests import factories as f
from tests.helpers import report

pytestmark = pytest.mark.django_db


def island(html: str) -> dict:
    found = re.search(r'<script id="attendance-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the take page has no offline data"
    return json.loads(found.group(1))


def test_the_manifest_makes_the_attendance_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["short_name"] == "控辍保学"
    assert "控辍保学" in manifest["name"]
    assert manifest["lang"] == "zh-CN"
    assert manifest["start_url"] == reverse("attendance-home")
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0d6efd"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with open(path, "rb") as handle:
            png = handle.read(24)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_every_page_links_the_manifest(client, world):
    client.force_login(world.teacher)
    html = client.get(reverse("student-list")).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert "js/outbox.js" in html


def test_the_service_worker_is_served_from_the_root_and_never_cached(client, world):
    bodies = []
    for user in (None, world.teacher):
        if user:
            client.force_login(user)
        response = client.get("/sw.js")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/javascript")
        assert "no-cache" in response["Cache-Control"]
        bodies.append(response.content.decode())
    assert bodies[0] == bodies[1]  # the same for everyone: nothing of the user in it
    settings = json.loads(re.search(r"const SETTINGS = (\{.*?\});", bodies[0]).group(1))
    # Everything it keeps at install exists.
    for url in settings["precache"]:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    assert settings["offlinePage"] in settings["precache"]
    assert settings["header"] == OFFLINE_USER_HEADER


def test_the_offline_page_holds_no_user_data(client, world):
    client.force_login(world.teacher)
    response = client.get(reverse("pwa-offline"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "网络不可用" in html
    assert str(world.teacher) not in html
    assert "csrfmiddlewaretoken" not in html


def test_only_the_attendance_pages_are_marked_for_offline_and_only_for_their_user(client, world, term, today):
    take = reverse("attendance-take", args=[world.class_a.pk])
    assert OFFLINE_USER_HEADER not in client.get(take)  # anonymous: the login redirect
    client.force_login(world.teacher)
    response = client.get(take)
    assert response[OFFLINE_USER_HEADER] == str(world.teacher.pk)
    for url in (reverse("student-list"), reverse("risk-flags"), reverse("home"), "/api/v1/attendance/"):
        assert OFFLINE_USER_HEADER not in client.get(url), url
    # A form post's answer is not a page to keep.
    posted = client.post(take, {"date": today.isoformat(), "version": "7"})
    assert OFFLINE_USER_HEADER not in posted
    # A teacher of two classes: the class list too.
    f.PostFactory(user=world.teacher, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_b)
    listing = client.get(reverse("attendance-home"))
    assert listing.status_code == 200
    assert listing[OFFLINE_USER_HEADER] == str(world.teacher.pk)
    client.force_login(world.teacher2)
    assert client.get(take).status_code == 404


def test_the_take_page_carries_its_offline_copy(client, world, term, today):
    a = world.students_a[0]
    monday = today - dt.timedelta(days=today.weekday())
    report(world.class_a, monday, {a: "sick"}, by=world.teacher)
    report(world.class_b, today, [world.students_b[0]], by=world.teacher2)
    report(world.class_a, monday - dt.timedelta(days=7), [a], by=world.teacher)  # last week
    client.force_login(world.teacher)
    data = island(client.get(reverse("attendance-take", args=[world.class_a.pk])).content.decode())
    assert data["user"] == world.teacher.pk
    assert data["classroom"]["id"] == world.class_a.pk
    assert (data["today"], data["day"], data["week_start"]) == (
        today.isoformat(),
        today.isoformat(),
        monday.isoformat(),
    )
    # The calendar from this Monday to two weeks ahead: next Monday is known offline.
    assert min(data["days"]) == monday.isoformat()
    assert max(data["days"]) == (today + dt.timedelta(days=14)).isoformat()
    assert data["days"][today.isoformat()] == {"school": True, "why": ""}
    saturday = (monday + dt.timedelta(days=5)).isoformat()
    assert data["days"][saturday] == {"school": False, "why": "该日期为周末"}
    # This class's reports of the correction window only.
    assert list(data["reports"]) == [monday.isoformat()]
    kept = data["reports"][monday.isoformat()]
    assert kept["version"] == 1
    assert kept["absences"] == [{"student": a.pk, "kind": "sick", "note": "", "family_contacted": False}]
    assert data["kinds"]["unexcused"] == "旷课"
    assert "{at}" in data["text"]["offline"]


def test_all_present_is_one_tap_on_the_page(client, world, term, today):
    client.force_login(world.teacher)
    url = reverse("attendance-take", args=[world.class_a.pk])
    a = world.students_a[0]
    response = client.post(url, {"date": today.isoformat(), "all_present": "1", f"kind_{a.pk}": "sick"})
    assert response.status_code == 302
    saved = DailyReport.objects.get(classroom=world.class_a, date=today)
    assert saved.present_count == saved.enrolled_count == len(world.students_a)
    assert not saved.absences.exists()


def test_a_report_taken_as_another_user_is_refused(client, world, term, today):
    client.force_login(world.teacher)
    body = {"classroom": world.class_a.pk, "date": today.isoformat(), "absences": [], "submitted_as": world.teacher2.pk}
    refused = client.post("/api/v1/attendance/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "另一账号" in refused.json()["detail"]
    assert not DailyReport.objects.exists()
    body["submitted_as"] = world.teacher.pk
    assert client.post("/api/v1/attendance/", body, content_type="application/json").status_code == 201
    assert client.post("/api/v1/attendance/", body, content_type="application/json").status_code == 200  # a resend


def test_a_conflict_answers_with_the_current_version_and_who_made_it(client, world, term, today):
    a, b = world.students_a[:2]
    report(world.class_a, today, {b: "sick"}, by=world.principal)
    client.force_login(world.teacher)
    body = {"classroom": world.class_a.pk, "date": today.isoformat(), "absences": [{"student": a.pk, "kind": "sick"}]}
    answer = client.post("/api/v1/attendance/", body, content_type="application/json")
    assert answer.status_code == 409
    current = answer.json()["current"]
    assert current["version"] == 1
    assert current["submitted_by_name"] == str(world.principal)
    assert current["absences"][0]["student"] == b.pk


def test_the_service_worker_precaches_the_production_files(client, settings, tmp_path, world):
    """Production serves hashed, compressed names (CompressedManifestStaticFilesStorage): every file
    the service worker keeps at install must exist under its hashed name after collectstatic."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    body = client.get("/sw.js").content.decode()
    settings_js = json.loads(re.search(r"const SETTINGS = (\{.*?\});", body).group(1))
    hashed = [url for url in settings_js["precache"] if url.startswith("/static/")]
    assert len(hashed) == len(PRECACHED_STATIC)
    for url in hashed:
        name = url.removeprefix("/static/")
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", name), name  # the worker serves hashed names from its copy
        assert (tmp_path / "static" / name).is_file(), name
    # The subset icon font is referenced by the hashed CSS under its hashed name.
    css = next(url for url in hashed if url.endswith(".css") and "bootstrap-icons" in url)
    font = next(url for url in hashed if url.endswith(".woff2"))
    assert font.rsplit("/", 1)[1] in (tmp_path / "static" / css.removeprefix("/static/")).read_text()
