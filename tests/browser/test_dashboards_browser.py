"""The principal's and the bureau's dashboards in a real Chromium: the charts are drawn, and the
numbers are the weekly reports' numbers."""

import datetime as dt

import pytest
from django.core.cache import cache

from reporting import services
from reporting.models import ReportRun
from tests import factories as f
from tests.helpers import build_case, report

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The week of tests/reporting/test_dashboards.py: "today" is Wednesday 2026-11-25 of ISO week 2026-W48.
W48 = "2026-W48"
MON = dt.date(2026, 11, 23)
TUE = dt.date(2026, 11, 24)
WED = dt.date(2026, 11, 25)
LAST_FRIDAY = dt.date(2026, 11, 20)

# For each chart box: the ECharts instance, its first series' data points, and how many pixels of
# its canvas are painted (alpha > 0). A blank canvas of any size has none.
CHART_STATE = """(id) => {
  const box = document.getElementById(id);
  const chart = box && window.echarts && echarts.getInstanceByDom(box);
  const canvas = box && box.querySelector("canvas");
  if (!chart || !canvas) return null;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return {points: chart.getOption().series[0].data.length, painted, width: canvas.width, height: canvas.height};
}"""
ALL_DRAWN = """(ids) => ids.every((id) => {
  const box = document.getElementById(id);
  const chart = box && window.echarts && echarts.getInstanceByDom(box);
  const canvas = box && box.querySelector("canvas");  // zrender adds it on the first frame
  if (!chart || !canvas) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0 && ++painted > 2000) return true;
  return false;
})"""


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def week(world, term, today):
    """Reports of this week and last Friday, cases in several states (one overdue with a plan) and flags."""
    w = world
    a0, a1, a2 = w.students_a
    b0, b1, b2 = w.students_b
    report(w.class_a, LAST_FRIDAY, {a2: "personal"}, by=w.teacher)
    report(w.class_a, MON, {a0: "unexcused"}, by=w.teacher)
    report(w.class_a, TUE, {a0: "unexcused", a1: "sick"}, by=w.teacher)
    report(w.class_a, WED, {}, by=w.teacher)
    report(w.class_b, MON, {b0: "sick"}, by=w.teacher2)
    report(w.class_b, TUE, {}, by=w.teacher2)
    build_case(w, a0, "confirmed", day=MON)
    build_case(w, b0, "suspected", day=dt.date(2026, 11, 16))
    build_case(w, b1, "escalated", day=dt.date(2026, 11, 16))
    build_case(w, b2, "returning", day=dt.date(2026, 11, 2))  # no contact since: overdue, with owners
    f.RiskFlagFactory(student=a0, level="red")
    f.RiskFlagFactory(student=b0, level="yellow")
    f.RiskFlagFactory(student=a2, level="orange")
    return w


def assert_charts_drawn(page, ids: list[str]) -> None:
    page.wait_for_function(ALL_DRAWN, arg=ids)
    for chart_id in ids:
        state = page.evaluate(CHART_STATE, chart_id)
        assert state is not None, chart_id
        assert state["points"] > 0, (chart_id, state)
        assert state["painted"] > 2000, (chart_id, state)
        assert state["width"] > 100, (chart_id, state)
        assert state["height"] > 100, (chart_id, state)


def test_principal_dashboard_draws_charts_and_shows_the_weekly_report_numbers(page, live_server, week, artifacts):
    run, _created = services.request_run(
        user=week.principal, kind=ReportRun.Kind.SCHOOL_WEEKLY, period=W48, scope_type="school", scope_id=week.school.pk
    )
    summary = services.execute_run(run.pk).data["summary"]

    login(page, live_server, "principal")
    with page.expect_navigation():
        page.click("#main-nav a[href='/dashboard/school/']")
    assert page.url.endswith("/dashboard/school/")
    assert_charts_drawn(page, ["chart-trend", "chart-flags", "chart-cases", "chart-dropout"])
    trend = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-trend')).getOption()")
    assert len(trend["xAxis"][0]["data"]) == 20
    assert trend["xAxis"][0]["data"][-1] == "11-25(周三)"

    # The same numbers as the school weekly report of this week (W48), linked from the page.
    rate = page.inner_text("[data-metric=attendance_rate]").strip()
    assert rate == f"{summary['attendance_rate']:.2f}%" == "73.33%"
    assert page.inner_text("[data-metric=completeness]").strip() == f"{summary['completeness']:.2f}%"
    assert page.inner_text("[data-metric=dropout_rate]").strip() == f"{summary['dropout_rate']:.2f}%"
    assert page.inner_text("#overdue-count").strip() == str(summary["overdue"]) == "2"
    assert page.inner_text("[data-cases=suspected]").strip() == str(summary["cases"]["suspected"]) == "1"
    assert page.locator(f"#weekly-reports a[href='/reports/{run.pk}/']").is_visible()
    assert "本周 11-23 至 11-25,数据截至" in page.inner_text("#period")
    assert page.inner_text("#today-reported").strip() == "1 / 2"
    page.screenshot(path=str(artifacts / "dashboard_school.png"), full_page=True)

    # A number opens the list behind it.
    with page.expect_navigation():
        page.click("[data-cases=suspected]")
    assert "status=suspected" in page.url
    assert page.locator("#case-table tbody tr[data-case]").count() == 1


def test_county_dashboard_draws_charts_for_the_bureau(page, live_server, week, artifacts):
    login(page, live_server, "bureau")
    with page.expect_navigation():
        page.click("#main-nav a[href='/dashboard/county/']")
    assert_charts_drawn(page, ["chart-dropout", "chart-completeness", "chart-owners", "chart-cases"])
    dropout = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-dropout')).getOption()")
    assert dropout["xAxis"][0]["data"] == ["清溪镇中学", "白沙乡中学"]
    assert dropout["series"][0]["markLine"]["data"][0]["yAxis"] == 0.6
    rows = page.locator("#county-schools tbody tr[data-school]")
    assert rows.count() == 2
    first = page.locator(f"#county-schools tr[data-school='{week.school.pk}']")
    assert first.locator("[data-link=suspected]").inner_text() == "1"
    assert first.locator("[data-link=returning]").inner_text() == "2"
    owners = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-owners')).getOption()")
    # The overdue class B case's plan names cadre2, the cadre of the student's own township.
    assert sorted(owners["yAxis"][0]["data"]) == sorted(str(u) for u in (week.principal, week.teacher, week.cadre2))
    page.screenshot(path=str(artifacts / "dashboard_county.png"), full_page=True)

    # Schools with different targets: each gets its own target mark instead of one line.
    week.school2.dropout_rate_target = 1
    week.school2.save()  # drops the cached numbers, as an edit in the admin does
    page.reload()
    assert_charts_drawn(page, ["chart-dropout"])
    dropout = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-dropout')).getOption()")
    assert "markLine" not in dropout["series"][0] or not dropout["series"][0]["markLine"].get("data")
    assert dropout["series"][1]["data"] == [0.6, 1.0]

    with page.expect_navigation():
        first.locator("[data-link=dashboard]").click()
    assert page.url.endswith(f"/dashboard/school/?school={week.school.pk}")
    assert_charts_drawn(page, ["chart-trend"])
