"""Issue 15: attendance on a weak connection — the page opens offline from the service worker's copy,
a report taken offline waits on the phone and is sent exactly once, a conflict is shown and never
overwritten, and logout clears what the phone kept."""

import datetime as dt
import zoneinfo

import pytest

from students.models import DailyReport, DailyReportRevision

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}
# The browser's clock at the server's frozen morning (the ``today`` fixture): a page opened from the
# copy takes "today" from the phone's clock.
MORNING = dt.datetime(2026, 11, 25, 9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
SEND_TIMEOUT = 20_000


def open_for_offline(page, live_server, classroom) -> str:
    """Open the class's page online and wait until the service worker keeps it."""
    url = f"{live_server.url}/attendance/take/{classroom.pk}/"
    page.goto(url)
    page.wait_for_selector("#offline-status[data-ready='1']")
    return url


def mark_absent(page, student, kind: str) -> None:
    page.click(f".attendance-row[data-student='{student.pk}'] .toggle-student")
    page.click(f"label[for='k-{student.pk}-{kind}']")


def outbox_state(page) -> str:
    return page.get_attribute(".outbox-item", "data-state")


@pytest.mark.parametrize("viewport", [PHONE])
def test_taken_offline_it_waits_and_is_sent_exactly_once(page, live_server, world, term, today, artifacts):
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    url = open_for_offline(page, live_server, world.class_a)

    page.context.set_offline(True)
    page.reload()
    # The page is the service worker's copy, and says so.
    assert page.get_attribute("#offline-app", "data-served") == "cache"
    banner = page.inner_text("#offline-banner")
    assert "离线" in banner
    assert "更新于" in banner
    for student in world.students_a:
        assert student.name in page.inner_text("#student-list")
    assert "11-25" in page.inner_text("#week-days")

    a, b, c = world.students_a[:3]
    mark_absent(page, a, "unexcused")
    mark_absent(page, b, "sick")
    page.fill(f"input[name='note_{b.pk}']", "发烧")
    mark_absent(page, c, "personal")
    page.click("#submit-attendance")
    page.wait_for_selector(".outbox-item[data-state='waiting']")
    assert "等待发送" in page.inner_text("#outbox")
    assert "本机" in page.inner_text("#report-state")
    assert not DailyReport.objects.exists()
    page.screenshot(path=str(artifacts / "offline_queued.png"), full_page=True)

    # Reloading offline keeps the queued report on the form; the home-screen icon's start page
    # (/attendance/) leads to the class's copy as it does online.
    page.reload()
    page.wait_for_selector(".outbox-item[data-state='waiting']")
    assert page.is_checked(f"#k-{a.pk}-unexcused")
    page.goto(f"{live_server.url}/attendance/")
    assert page.url == url
    page.wait_for_selector(".outbox-item[data-state='waiting']")
    assert page.get_attribute("#offline-app", "data-served") == "cache"

    page.context.set_offline(False)
    page.wait_for_selector(".outbox-item[data-state='sent']", timeout=SEND_TIMEOUT)
    assert "已发送(第1版)" in page.inner_text("#outbox")
    report = DailyReport.objects.get(classroom=world.class_a, date=today)
    assert (report.version, report.present_count, report.submitted_by) == (1, 0, world.teacher)
    assert sorted(report.absences.values_list("student_id", "kind", "note")) == sorted(
        [(a.pk, "unexcused", ""), (b.pk, "sick", "发烧"), (c.pk, "personal", "")]
    )
    assert DailyReportRevision.objects.filter(report=report).count() == 1

    # Opening the page again online sends nothing more.
    page.goto(url)
    page.wait_for_selector("html[data-ready='1']")
    assert DailyReport.objects.get(pk=report.pk).version == 1
    assert DailyReportRevision.objects.filter(report=report).count() == 1
    assert "已上报(第1版)" in page.inner_text("#report-state")


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_correction_made_meanwhile_is_shown_as_a_conflict_never_overwritten(
    page, browser, live_server, world, term, today, artifacts
):
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    url = open_for_offline(page, live_server, world.class_a)
    a, b = world.students_a[:2]

    # The common day: one tap.
    with page.expect_navigation():
        page.click("#all-present")
    assert "已上报(第1版)" in page.inner_text("#report-state")
    assert DailyReport.objects.get().present_count == len(world.students_a)
    page.wait_for_selector("html[data-ready='1']")

    page.context.set_offline(True)
    page.reload()
    assert page.get_attribute("#offline-app", "data-served") == "cache"
    # The copy's own record of the day, written by the script from the page's offline data.
    assert f"已上报(第1版):{world.teacher} 于 11-25" in page.inner_text("#report-state")
    mark_absent(page, a, "unexcused")
    page.click("#submit-attendance")
    page.wait_for_selector(".outbox-item[data-state='waiting']")

    # Meanwhile the principal corrects the report in another browser.
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        leader = other.new_page()
        login(leader, live_server, "principal")
        leader.goto(url)
        mark_absent(leader, b, "sick")
        with leader.expect_navigation():
            leader.click("#submit-attendance")
        assert "已上报(第2版)" in leader.inner_text("#report-state")
    finally:
        other.close()

    page.context.set_offline(False)
    page.wait_for_selector(".outbox-item[data-state='conflict']", timeout=SEND_TIMEOUT)
    conflict = page.inner_text(".outbox-item .conflict")
    assert f"{a.name} 旷课" in page.inner_text(".conflict-mine")
    assert f"{b.name} 病假" in page.inner_text(".conflict-theirs")
    assert "第2版" in conflict
    assert str(world.principal) in conflict
    page.screenshot(path=str(artifacts / "offline_conflict.png"), full_page=True)
    report = DailyReport.objects.get()
    assert report.version == 2
    assert list(report.absences.values_list("student_id", "kind")) == [(b.pk, "sick")]

    # Nothing is sent again by itself while the conflict stands.
    page.reload()
    page.wait_for_selector(".outbox-item[data-state='conflict']")
    assert DailyReport.objects.get().version == 2

    # The teacher chooses: her version, on top of the principal's.
    with page.expect_navigation():
        page.click(".use-mine")
    report = DailyReport.objects.get()
    assert report.version == 3
    assert list(report.absences.values_list("student_id", "kind")) == [(a.pk, "unexcused")]
    assert "已上报(第3版)" in page.inner_text("#report-state")


def test_logout_clears_what_the_phone_kept(page, live_server, world, term, today):
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    url = open_for_offline(page, live_server, world.class_a)
    with page.expect_navigation():
        page.click("#all-present")
    page.wait_for_selector("html[data-ready='1']")
    kept = page.evaluate("caches.keys()")
    assert f"kcb-pages-u{world.teacher.pk}" in kept
    assert any(name.startswith("kcb-static-") for name in kept)
    assert page.evaluate("KcbOutbox.all().then(items => items.map(i => i.state))") == ["sent"]

    with page.expect_navigation():
        page.click("#logout-form button")
    assert "/accounts/login/" in page.url
    page.wait_for_function("caches.keys().then(keys => keys.length === 0)")
    assert page.evaluate("KcbOutbox.all()") == []
    assert page.evaluate("KcbOutbox.getMeta('user')") is None

    # Offline, the class's page is no longer on the phone.
    page.context.set_offline(True)
    page.goto(url)
    content = page.content()
    for student in world.students_a:
        assert student.name not in content
    assert "网络不可用" in content


def test_the_copy_of_another_user_is_never_served(page, live_server, world, term, today):
    """A shared phone: the next teacher's pages replace the first one's copies, even without a logout."""
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    url = open_for_offline(page, live_server, world.class_a)
    page.context.clear_cookies()  # the session ends without a logout (it expired)
    login(page, live_server, "teacher2")
    open_for_offline(page, live_server, world.class_b)
    kept = page.evaluate("caches.keys()")
    assert f"kcb-pages-u{world.teacher.pk}" not in kept
    assert f"kcb-pages-u{world.teacher2.pk}" in kept
    page.context.set_offline(True)
    page.goto(url)
    for student in world.students_a:
        assert student.name not in page.content()


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_report_left_waiting_is_sent_when_the_page_is_next_opened(page, live_server, world, term, today):
    """The phone was put away offline; the next time the teacher opens the page online it goes out."""
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    url = open_for_offline(page, live_server, world.class_a)
    page.context.set_offline(True)
    page.reload()
    mark_absent(page, world.students_a[0], "sick")
    page.click("#submit-attendance")
    page.wait_for_selector(".outbox-item[data-state='waiting']")
    later = page.context.new_page()
    page.close()
    assert not DailyReport.objects.exists()

    page.context.set_offline(False)
    later.goto(url)
    later.wait_for_selector(".outbox-item[data-state='sent']", timeout=SEND_TIMEOUT)
    report = DailyReport.objects.get()
    assert list(report.absences.values_list("student_id", "kind")) == [(world.students_a[0].pk, "sick")]
    assert report.version == 1


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_teacher_of_two_classes_has_both_rosters_offline(page, live_server, world, term, today):
    from students.models import Post
    from tests import factories as f

    f.PostFactory(user=world.teacher, role=Post.Role.CLASS_TEACHER, county=world.county, classroom=world.class_b)
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    page.goto(f"{live_server.url}/attendance/")
    page.wait_for_selector("#offline-status[data-ready='1']")
    page.context.set_offline(True)
    page.reload()
    assert page.get_attribute("#offline-app", "data-served") == "cache"
    assert not page.is_hidden("#offline-banner")
    page.click(f"a[href='/attendance/take/{world.class_b.pk}/']")
    page.wait_for_selector("html[data-ready='1']")
    assert page.get_attribute("#offline-app", "data-served") == "cache"
    for student in world.students_b:
        assert student.name in page.inner_text("#student-list")


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_report_the_server_refuses_is_shown_with_why_and_can_be_dropped(page, live_server, world, term, today):
    """The roster changed while the phone was offline: the report names a student no longer in the class."""
    from students.models import Student

    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    open_for_offline(page, live_server, world.class_a)
    page.context.set_offline(True)
    page.reload()
    leaver = world.students_a[0]
    mark_absent(page, leaver, "unexcused")
    page.click("#submit-attendance")
    page.wait_for_selector(".outbox-item[data-state='waiting']")
    Student.objects.filter(pk=leaver.pk).update(status=Student.Status.TRANSFERRED_OUT)

    page.context.set_offline(False)
    page.wait_for_selector(".outbox-item[data-state='failed']", timeout=SEND_TIMEOUT)
    assert "不在本班在读名单中" in page.inner_text("#outbox")
    assert not DailyReport.objects.exists()
    page.click(".drop-failed")
    page.wait_for_selector("#outbox", state="hidden")
    assert page.evaluate("KcbOutbox.all()") == []


def test_the_servers_own_notes_on_the_day_stay_when_the_script_runs(page, live_server, world, term, today):
    """The script leaves the server's rendering of the day alone (here: the roster changed since the report)."""
    from students.models import Student
    from tests.helpers import report

    report(world.class_a, today, [], by=world.teacher)
    Student.objects.filter(pk=world.students_a[2].pk).update(status=Student.Status.TRANSFERRED_OUT)
    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    page.goto(f"{live_server.url}/attendance/take/{world.class_a.pk}/")
    page.wait_for_selector("html[data-ready='1']")
    assert page.is_visible("#roster-changed")
    assert "上报时在读 3 人,现在读 2 人" in page.inner_text("#report-state")


def test_chromium_finds_the_app_installable(page, live_server, world, term, today):
    """Chromium's own check (what decides its install prompt): the manifest parses without errors and
    nothing stands in the way but the test browser's private profile."""
    login(page, live_server, "teacher")
    open_for_offline(page, live_server, world.class_a)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    errors = {e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]}
    assert errors <= {"in-incognito"}, errors


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_new_release_keeps_the_copy_working_offline(page, live_server, world, term, today, monkeypatch):
    """A deploy changes the service worker: the new one keeps the previous release's static files (the
    copies name them) and fetches the page copies again while online."""
    from students import pwa

    page.context.clock.set_fixed_time(MORNING)
    login(page, live_server, "teacher")
    open_for_offline(page, live_server, world.class_a)
    before = page.evaluate("caches.keys()")
    monkeypatch.setattr(pwa, "_static_version", lambda: "nextrelease00000")
    page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.getRegistration();
            await registration.update();
            const worker = registration.installing || registration.waiting;
            if (worker) await new Promise((resolve) => worker.addEventListener("statechange",
                () => worker.state === "activated" && resolve()));
        }"""
    )
    page.wait_for_function("caches.keys().then(keys => keys.includes('kcb-static-nextrelease00000'))")
    kept = page.evaluate("caches.keys()")
    assert next(name for name in before if name.startswith("kcb-static-")) in kept  # the previous release's
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    assert page.get_attribute("#offline-app", "data-served") == "cache"
    # Styled and working: Bootstrap's CSS applied, the script ran.
    button = "getComputedStyle(document.querySelector('.btn-primary')).backgroundColor"
    assert page.evaluate(button) != "rgba(0, 0, 0, 0)"
    assert world.students_a[0].name in page.inner_text("#student-list")
