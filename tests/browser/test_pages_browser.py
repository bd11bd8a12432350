"""The pages in a real headless Chromium: Chinese text, phone width, scoping, no outside requests."""

import re

import pytest

from tests import factories as f
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("viewport", [PHONE])
def test_teacher_logs_in_on_a_phone_and_sees_own_class(world, live_server, page, artifacts):
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    login(page, live_server, "teacher")

    assert page.url == f"{live_server.url}/"
    assert CJK.search(page.title()), page.title()
    assert "首页" in page.title()
    heading = page.locator("h1").first.inner_text()
    assert CJK.search(heading), heading
    my_class = page.locator("#my-class")
    assert "七年级(1)班" in my_class.inner_text()
    first_student = world.students_a[0]
    assert my_class.get_by_role("link", name=first_student.name).first.is_visible()
    assert page.locator("#my-class tbody tr").count() == len(world.students_a)

    # Fits a 360 px phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "teacher_home_phone.png"), full_page=True)

    # Vendored Bootstrap JS works: the collapsed menu opens and offers the logout button.
    logout = page.get_by_role("button", name="退出")
    assert not logout.is_visible()
    page.locator(".navbar-toggler").click()
    logout.wait_for(state="visible")
    page.wait_for_selector("#main-nav.collapse.show")  # the opening animation has ended
    page.screenshot(path=str(artifacts / "teacher_home_phone_menu.png"))

    # Every asset came from our own server: no CDN.
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []


def test_colleague_opening_another_class_gets_the_404_page(world, live_server, page):
    login(page, live_server, "teacher2")
    response = page.goto(f"{live_server.url}/classrooms/{world.class_a.pk}/")
    assert response.status == 404
    assert "页面不存在或您无权查看" in page.locator("h1").inner_text()
    for student in world.students_a:
        assert student.name not in page.content() or student.name in {s.name for s in world.students_b}


@pytest.mark.parametrize("viewport", [PHONE])
def test_bureau_drills_down_from_county_to_a_student(world, live_server, page, artifacts):
    student = world.students_a[0]
    f.GuardianFactory(student=student, name="张建国", relation="父亲", phone="13912345678")
    login(page, live_server, "bureau")

    page.locator("#county-schools").get_by_role("link", name=world.school.name).click()
    page.wait_for_url(f"**/schools/{world.school.pk}/")
    page.get_by_role("link", name=world.class_a.name).click()
    page.wait_for_url(f"**/classrooms/{world.class_a.pk}/")
    assert page.locator("h1").inner_text() == "七年级(1)班"
    page.get_by_role("link", name=student.name).first.click()
    page.wait_for_url(f"**/students/{student.pk}/")

    assert student.name in page.locator("h1").inner_text()
    assert page.locator(".id-number").inner_text() == student.id_number  # bureau sees the full number
    assert "张建国" in page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "bureau_student_phone.png"), full_page=True)


def test_language_switch_turns_the_page_english(world, live_server, page):
    login(page, live_server, "teacher")
    assert page.locator("#my-class h2").inner_text().startswith("我的班级")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#my-class h2").inner_text().startswith("My class")


def test_swagger_ui_runs_under_the_content_security_policy(world, live_server, page):
    """The API docs start from a script file and draw the operations (the CSP blocks nothing)."""
    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert page.locator(".swagger-ui .opblock").count() > 20


def test_admin_pages_run_under_the_content_security_policy(world, live_server, page):
    world.bureau.is_staff = world.bureau.is_superuser = True
    world.bureau.save()
    login(page, live_server, "bureau")
    student = world.students_a[0]
    for path in ("/admin/", "/admin/students/student/", f"/admin/students/student/{student.pk}/change/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.locator("#content").count() == 1, path
