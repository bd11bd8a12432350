"""Issue 13 in a real Chromium: the bureau issues a finding from a missed metric, the principal answers
with evidence, the bureau accepts it, and the dashboards' count drops."""

import pytest

from accountability.models import Finding

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logout(page, live_server) -> None:
    page.context.clear_cookies()


def test_finding_from_a_missed_metric_to_accepted_rectification(
    page, live_server, world, term, today, tmp_path, settings, artifacts
):
    settings.MEDIA_ROOT = tmp_path
    # Nobody reported in week 47: school 1's 日报按时率 is 0%, far under its 95% target.
    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/compliance/?period=2026-W47")
    cell = page.locator(f"#school-metrics tr[data-school='{world.school.pk}'] td[data-metric='report_on_time']")
    assert cell.get_attribute("data-met") == "no"
    assert "0.00%" in cell.inner_text()
    assert "日报按时率 =" in page.locator("#formulas").inner_text()  # the formula is shown
    page.screenshot(path=str(artifacts / "compliance.png"), full_page=True)
    with page.expect_navigation():
        cell.locator("a[data-finding-link]").click()
    assert page.locator("#f-metric").input_value() == "report_on_time"
    assert page.locator("#f-school").input_value() == str(world.school.pk)
    assert "日报按时率为0.00%" in page.locator("#f-facts").input_value()
    page.fill("#f-requirement", "一周内整改,班主任每日10点前报送")
    with page.expect_navigation():
        page.click("#issue-submit")
    finding = Finding.objects.get()
    assert (finding.source, finding.metric, finding.status) == ("metric", "report_on_time", "open")
    page.goto(f"{live_server.url}/dashboard/county/")
    assert page.locator("#finding-count").inner_text().strip() == "1"
    logout(page, live_server)

    login(page, live_server, "principal")
    page.goto(f"{live_server.url}/dashboard/school/")
    assert page.locator("#finding-count").inner_text().strip() == "1"
    with page.expect_navigation():
        page.click("#finding-count")
    with page.expect_navigation():
        page.click(f"a[href='/accountability/findings/{finding.pk}/']")
    evidence = tmp_path / "整改报告.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.fill("#a-answer", "已召开班主任会议,明确每日10点前报送,值班领导逐日检查")
    page.set_input_files("#a-files", str(evidence))
    with page.expect_navigation():
        page.click("#form-answer button[type=submit]")
    finding.refresh_from_db()
    assert finding.status == "answered"
    assert finding.attachments.get().name == "整改报告.pdf"
    assert "整改报告.pdf" in page.locator("#attachments").inner_text()
    page.screenshot(path=str(artifacts / "finding_answered.png"), full_page=True)
    logout(page, live_server)

    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/accountability/findings/{finding.pk}/")
    with page.expect_navigation():
        page.click("#form-accept button[type=submit]")
    finding.refresh_from_db()
    assert finding.status == "accepted"
    page.goto(f"{live_server.url}/dashboard/county/")
    assert page.locator("#finding-count").inner_text().strip() == "0"
