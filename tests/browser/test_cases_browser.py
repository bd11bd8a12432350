"""A principal works an overdue case in a real Chromium and prints the paper forms."""

import datetime as dt
import re

import pytest

from casework import services
from casework.models import CaseActivity, DropoutCase
from tests import factories as f
from tests.helpers import at

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
A4_PAGE = re.compile(rb"/Type\s*/Page[^s]")


def returning_case(world, *, on: dt.date) -> DropoutCase:
    """A case that went through report, verification and a plan on ``on`` and has had no contact since."""
    student = world.students_a[0]
    f.GuardianFactory(student=student, name="张建国", relation="父亲", employer="广东东莞电子厂", phone="13912345678")
    with at(on):
        case = services.open_case(
            user=world.teacher,
            student_id=student.pk,
            form=services.ReportForm(
                last_attended_on=on - dt.timedelta(days=5),
                reason="learning",
                reason_detail="成绩下滑,沉迷手机游戏,多次表示不想上学",
                whereabouts="home",
                family_situation="父母在广东务工,由祖母照看",
                measures_taken="10月28日班主任电话联系家长;10月30日班主任、村干部家访",
                teacher_opinion="建议列为重点劝返对象",
            ),
        )
        services.submit_report(user=world.principal, case_id=case.pk)
        services.verify_case(user=world.bureau, case_id=case.pk)
        services.make_plan(
            user=world.principal,
            case_id=case.pk,
            plan=services.PlanInput(
                reason_analysis="厌学,沉迷网络,留守由祖母照看",
                measures=["home_visit", "counselling", "tutoring"],
                method="班主任与村干部共同家访,心理老师谈心",
                target_return_on=dt.date(2026, 12, 31),
                school_leader_id=world.principal.pk,
                class_teacher_id=world.teacher.pk,
                township_cadre_id=world.cadre.pk,
            ),
        )
    return DropoutCase.objects.get(pk=case.pk)


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium actually used to draw the text of ``selector`` (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_principal_logs_a_home_visit_on_an_overdue_case_and_prints_the_report(
    page, live_server, world, term, today, artifacts
):
    case = returning_case(world, on=dt.date(2026, 11, 2))
    assert case.due_kind == "contact"
    assert case.is_overdue  # a contact was due on 11-11

    login(page, live_server, "principal")
    page.click("#main-nav a[href='/cases/']")
    page.check("#f-overdue")
    with page.expect_navigation():
        page.click("#case-filters button[type=submit]")
    assert "overdue=1" in page.url
    row = page.locator(f"#case-table tr[data-case='{case.pk}']")
    assert "逾期" in row.inner_text()
    assert "劝返联系" in row.inner_text()
    assert page.locator("#case-table tbody tr").count() == 1
    page.screenshot(path=str(artifacts / "case_list_overdue.png"), full_page=True)

    with page.expect_navigation():
        row.get_by_role("link", name=case.student.name).click()
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert page.locator("#overdue-badge").is_visible()
    assert "劝返中" in page.locator("#case-title").inner_text()

    page.select_option("#a-kind", "home_visit")
    page.select_option("#a-outcome", "promised")
    page.fill("#a-people", "校长、班主任、石门村村干部")
    page.fill("#a-content", "与祖母和学生当面谈心,讲明义务教育法规定,学生答应下周一返校")
    page.fill("#a-next", "周一早上电话确认到校")
    with page.expect_navigation():
        page.click("#save-activity")
    assert "劝返记录已保存" in page.locator(".messages").inner_text()
    first = page.locator("#timeline-list > li").first
    assert "家访" in first.inner_text()
    assert "学生答应下周一返校" in first.inner_text()
    assert "承诺返校" in first.inner_text()
    assert page.locator("#overdue-badge").count() == 0  # the contact met the deadline
    page.screenshot(path=str(artifacts / "case_detail_after_home_visit.png"), full_page=True)
    activity = CaseActivity.objects.get(case=case)
    assert (activity.kind, activity.created_by) == ("home_visit", world.principal)

    page.goto(f"{live_server.url}/cases/{case.pk}/print/report/")
    title = page.locator("#form-title")
    assert title.inner_text() == "辍学学生情况报告表"
    assert title.bounding_box()["width"] > 100
    fonts = platform_fonts(page, "#form-title")
    assert fonts, fonts
    assert all("CJK" in font["familyName"] for font in fonts), fonts  # no fallback boxes (tofu)
    assert sum(font["glyphCount"] for font in fonts) == len("辍学学生情况报告表")
    assert page.evaluate("""document.fonts.check('16px "Noto Sans CJK SC"')""")
    assert case.student.id_number in page.locator("#print-id-number").inner_text()  # a principal sees it all
    assert page.locator("#print-button").is_visible()
    page.screenshot(path=str(artifacts / "case_print_report.png"), full_page=True)

    page.emulate_media(media="print")
    assert not page.locator("#print-button").is_visible()
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / "case_print_report.pdf").write_bytes(pdf)
    assert len(A4_PAGE.findall(pdf)) == 1  # the whole form fits one A4 sheet


def test_principal_issues_the_notice_and_prints_it_with_the_receipt(page, live_server, world, term, today, artifacts):
    case = returning_case(world, on=dt.date(2026, 11, 16))
    login(page, live_server, "principal")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.fill("#form-notice input[name=number]", "清中控辍〔2026〕3号")
    with page.expect_navigation():
        page.click("#form-notice button[type=submit]")
    assert "已发出限期返校通知书" in page.locator(".messages").inner_text()
    with page.context.expect_page() as opened:
        page.click(".page-header a[href$='/print/notice/']")
    notice = opened.value
    notice.wait_for_load_state()
    assert notice.locator("#form-title").inner_text() == "限期返校通知书"
    assert "张建国" in notice.locator("#addressee").inner_text()
    assert "清中控辍〔2026〕3号" in notice.locator("#notice-number").inner_text()
    assert "2026年12月2日" in notice.locator(".deadline").inner_text()
    assert "2026年11月11日以后未再到校上学" in notice.inner_text(".letter")
    assert "送达人签名" in notice.locator("#receipt").inner_text()
    fonts = platform_fonts(notice, "#addressee")
    assert fonts, fonts
    assert all("CJK" in font["familyName"] for font in fonts), fonts
    notice.screenshot(path=str(artifacts / "case_print_notice.png"), full_page=True)
    notice.emulate_media(media="print")
    assert len(A4_PAGE.findall(notice.pdf(prefer_css_page_size=True))) == 1


@pytest.mark.parametrize("viewport", [{"width": 360, "height": 740}])
def test_teacher_opens_the_case_on_a_phone(page, live_server, world, term, today, artifacts):
    case = returning_case(world, on=dt.date(2026, 11, 16))
    login(page, live_server, "teacher")
    page.goto(f"{live_server.url}/cases/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("#form-activity").is_visible()
    assert not page.locator("#form-verify").count()  # the bureau's form is not offered to a teacher
    page.screenshot(path=str(artifacts / "case_detail_phone.png"), full_page=True)
