"""A class teacher takes attendance on a phone; the duty leader sees the absentees."""

import pytest

from students.models import DailyReport

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize("viewport", [PHONE])
def test_teacher_marks_two_absent_on_a_phone_and_duty_leader_sees_them(
    page, browser, live_server, world, term, today, artifacts
):
    a, b = world.students_a[:2]
    login(page, live_server, "teacher")
    page.goto(f"{live_server.url}/attendance/take/{world.class_a.pk}/")
    assert "七年级(1)班 考勤" in page.locator("h1").inner_text()
    # Nothing overflows sideways on a 360 px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.click(f".attendance-row[data-student='{a.pk}'] .toggle-student")
    page.click(f"label[for='k-{a.pk}-unexcused']")
    page.click(f".attendance-row[data-student='{b.pk}'] .toggle-student")
    page.click(f"label[for='k-{b.pk}-sick']")
    page.fill(f"input[name='note_{b.pk}']", "发烧")
    assert "缺勤 2" in page.inner_text("#absent-summary")
    with page.expect_navigation():
        page.click("#submit-attendance")
    assert "已上报(第1版)" in page.inner_text("#report-state")
    page.screenshot(path=str(artifacts / "attendance_take_phone.png"), full_page=True)
    report = DailyReport.objects.get(classroom=world.class_a, date=today)
    assert report.present_count == len(world.students_a) - 2

    duty = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    try:
        login(duty, live_server, "principal")
        duty.goto(f"{live_server.url}/attendance/duty/")
        absentees = duty.inner_text("#absentees")
        assert a.name in absentees
        assert b.name in absentees
        assert "发烧" in absentees
        assert a.name in duty.inner_text("#unfollowed")  # 旷课 and the family not contacted
        assert duty.inner_text("#missing-count").strip() == "1"  # class B has not reported
        duty.screenshot(path=str(artifacts / "attendance_duty.png"), full_page=True)
    finally:
        duty.context.close()


def test_teacher2_cannot_open_teachers_class(page, live_server, world, term, today):
    login(page, live_server, "teacher2")
    response = page.goto(f"{live_server.url}/attendance/take/{world.class_a.pk}/")
    assert response.status == 404
    assert world.students_a[0].name not in page.content()
