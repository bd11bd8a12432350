"""Dashboards: who may open which, the numbers equal metrics and the weekly reports, links, query counts.

"Today" is Wednesday 2026-11-25, in ISO week 2026-W48 (Mon 11-23 … today). The county of
``world`` this week:

- class A (school 1) reports Mon (a0 旷课), Tue (a0 旷课, a1 病假) and today (nobody absent);
- class B (school 1) reports Mon (b0 病假) and Tue, not today;
- class C (school 2) reports Mon (c0 事假) and today;
- last Friday 11-20 class A reported a2 事假 (in the 20-day trend, not in this week).

Cases of school 1: a0 confirmed (11-23), a1 returned (11-17, its first follow-up due 11-18 is
overdue), b0 suspected and overdue (not reported to the bureau within 3 working days of 11-16), b1
escalated (11-16, next contact due today: not overdue), b2 returning since a plan on 11-02 with no
contact since (overdue). Every plan names principal, teacher and cadre. School 2: c0 suspected today.
Open flags: a0 red, b0 yellow (school 1), c0 orange (school 2).
"""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.dashboards import time_dashboards
from casework import services as case_services
from casework.models import DropoutCase
from reporting import metrics, services
from reporting.models import ReportRun
from reporting.selectors import dashboards
from students.models import Classroom, DailyReport, Post
from tests import factories as f
from tests.helpers import at, build_case, report

pytestmark = pytest.mark.django_db

W48 = "2026-W48"
MON = dt.date(2026, 11, 23)
TUE = dt.date(2026, 11, 24)
WED = dt.date(2026, 11, 25)
LAST_FRIDAY = dt.date(2026, 11, 20)
SCHOOL_URL = "/dashboard/school/"
COUNTY_URL = "/dashboard/county/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def suspect(user, student, day) -> DropoutCase:
    """A suspected case reported by ``user`` on ``day``."""
    with at(day):
        return case_services.open_case(
            user=user, student_id=student.pk, form=case_services.ReportForm(reason="learning", last_attended_on=day)
        )


@pytest.fixture
def county(world, term, today):
    w = world
    a0, a1, a2 = w.students_a
    b0, b1, b2 = w.students_b
    c0 = w.students_c[0]
    report(w.class_a, LAST_FRIDAY, {a2: "personal"}, by=w.teacher)
    report(w.class_a, MON, {a0: "unexcused"}, by=w.teacher)
    report(w.class_a, TUE, {a0: "unexcused", a1: "sick"}, by=w.teacher)
    report(w.class_a, WED, {}, by=w.teacher)
    report(w.class_b, MON, {b0: "sick"}, by=w.teacher2)
    report(w.class_b, TUE, {}, by=w.teacher2)
    report(w.class_c, MON, {c0: "personal"}, by=w.principal2)
    report(w.class_c, WED, {}, by=w.principal2)
    w.cases = {
        "a0": build_case(w, a0, "confirmed", day=MON),
        "a1": build_case(w, a1, "returned", day=dt.date(2026, 11, 17)),
        "b0": build_case(w, b0, "suspected", day=dt.date(2026, 11, 16)),
        "b1": build_case(w, b1, "escalated", day=dt.date(2026, 11, 16)),
        "b2": build_case(w, b2, "returning", day=dt.date(2026, 11, 2)),
        "c0": suspect(w.principal2, c0, WED),
    }
    f.RiskFlagFactory(student=a0, level="red")
    f.RiskFlagFactory(student=b0, level="yellow")
    f.RiskFlagFactory(student=c0, level="orange")
    return w


def board_of(user, **kwargs) -> dashboards.SchoolDashboard:
    from students.scoping import forget_scope

    forget_scope(user)
    return dashboards.school_dashboard(user, **kwargs)


def generate(user, kind, scope_type, scope_id) -> ReportRun:
    run, _created = services.request_run(user=user, kind=kind, period=W48, scope_type=scope_type, scope_id=scope_id)
    return services.execute_run(run.pk)


def number(content: str, attribute: str) -> str:
    """The text of the element carrying ``attribute`` (e.g. data-metric="attendance_rate")."""
    match = re.search(rf"{attribute}[^>]*>\s*([^<]+?)\s*<", content)
    assert match, f"{attribute} not on the page"
    return match.group(1)


def school_rows(response) -> set[int]:
    """The schools listed in the county dashboard's school table."""
    table = response.content.decode().split('id="county-schools"')[1].split("</table>")[0]
    return {int(pk) for pk in re.findall(r'<tr data-school="(\d+)"', table)}


def pct_text(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


# --- who may open which dashboard ------------------------------------------------------------------


def test_principal_opens_own_school_dashboard(client, county):
    client.force_login(county.principal)
    response = client.get(SCHOOL_URL)
    assert response.status_code == 200
    assert response.context["board"].school == county.school
    assert "清溪镇中学" in response.content.decode()


def test_principal2_cannot_open_the_other_principals_school(client, county):
    client.force_login(county.principal2)
    assert client.get(SCHOOL_URL, {"school": county.school.pk}).status_code == 404
    own = client.get(SCHOOL_URL)
    assert own.status_code == 200
    assert own.context["board"].school == county.school2
    assert "清溪镇中学" not in own.content.decode()


@pytest.mark.parametrize("who", ["teacher", "teacher2", "cadre", "outsider"])
def test_people_without_a_school_or_county_post_get_404(client, county, who):
    client.force_login(getattr(county, who))
    assert client.get(SCHOOL_URL).status_code == 404
    assert client.get(COUNTY_URL).status_code == 404


def test_principal_gets_404_on_the_county_dashboard(client, county):
    client.force_login(county.principal)
    assert client.get(COUNTY_URL).status_code == 404


def test_anonymous_is_sent_to_login(client, county):
    response = client.get(COUNTY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_bureau_sees_every_school_and_opens_any_school_dashboard(client, county):
    other_county_school = f.SchoolFactory(
        county=f.CountyFactory(code="431227", name="外县"), name="外县中学", code="X00001"
    )
    f.ClassroomFactory(grade=f.GradeFactory(school=other_county_school))
    client.force_login(county.bureau)
    response = client.get(COUNTY_URL)
    assert response.status_code == 200
    assert {unit.key for unit in response.context["board"].schools} == {county.school.pk, county.school2.pk}
    assert school_rows(response) == {county.school.pk, county.school2.pk}
    assert "外县中学" not in response.content.decode()
    assert client.get(SCHOOL_URL, {"school": county.school2.pk}).context["board"].school == county.school2
    assert client.get(SCHOOL_URL, {"school": other_county_school.pk}).status_code == 404
    assert client.get(SCHOOL_URL, {"school": "x"}).status_code == 404


def test_school_leader_opens_the_school_dashboard(client, county):
    leader = f.UserFactory(username="leader")
    f.PostFactory(user=leader, role=Post.Role.SCHOOL_LEADER, county=county.county, school=county.school)
    client.force_login(leader)
    assert client.get(SCHOOL_URL).status_code == 200
    assert client.get(COUNTY_URL).status_code == 404


def test_navigation_links_each_role_to_its_dashboard(client, county):
    for user, expected, absent in (
        (county.principal, SCHOOL_URL, COUNTY_URL),
        (county.bureau, COUNTY_URL, SCHOOL_URL),
    ):
        client.force_login(user)
        nav = client.get(reverse("home")).content.decode().split("</nav>")[0]
        assert f'href="{expected}"' in nav
        assert f'href="{absent}"' not in nav
    client.force_login(county.teacher)
    nav = client.get(reverse("home")).content.decode().split("</nav>")[0]
    assert "/dashboard/" not in nav


# --- the numbers ---------------------------------------------------------------------------------


def test_school_numbers_are_metrics_collect_over_the_current_week(county):
    board = board_of(county.principal)
    sunday = MON + dt.timedelta(6)
    assert (board.week.period, board.week.start, board.week.end, board.week.last) == (W48, MON, sunday, WED)
    expected = metrics.collect(Classroom.objects.filter(school=county.school), MON, sunday)
    got, want = board.unit.to_dict(), expected.schools[0].to_dict()
    assert got == want
    # The facts of the module docstring.
    assert (got["reports_filed"], got["reports_expected"]) == (5, 6)
    assert (got["present_sum"], got["enrolled_sum"]) == (11, 15)
    assert got["attendance_rate"] == 73.33
    assert got["cases"] == {"suspected": 1, "confirmed": 1, "returning": 2, "returned": 1, "closed": 0}
    assert board.escalated == 1
    assert got["overdue"] == 3
    assert [case.pk for case in board.overdue_cases] == [county.cases[k].pk for k in ("b2", "a1", "b0")]
    assert board.flags == {"yellow": 1, "orange": 0, "red": 1}


def test_today_and_the_20_day_trend(county):
    board = board_of(county.principal)
    assert board.not_school_day is None
    assert (board.today.reports, board.unit.classes, board.not_reported) == (1, 2, 1)
    assert (board.today.present, board.today.enrolled) == (3, 3)
    assert len(board.trend) == 20
    assert board.trend[-1].date == WED
    assert all(d.date.weekday() < 5 for d in board.trend)
    # The trend's days add up to what metrics counts over the same range (same reports, same formula).
    first, last = board.trend[0].date, board.trend[-1].date
    span = metrics.collect(Classroom.objects.filter(school=county.school), first, last).schools[0]
    assert sum(d.present for d in board.trend) == span.present_sum == 13
    assert sum(d.enrolled for d in board.trend) == span.enrolled_sum == 18
    friday = next(d for d in board.trend if d.date == LAST_FRIDAY)
    assert (friday.reports, friday.present, friday.enrolled, friday.rate) == (1, 2, 3, 66.67)


def test_school_dashboard_equals_the_school_weekly_report(client, county):
    run = generate(county.principal, ReportRun.Kind.SCHOOL_WEEKLY, "school", county.school.pk)
    summary = run.data["summary"]
    board = board_of(county.principal)
    keys = ("attendance_rate", "completeness", "enrolled", "cases", "overdue", "dropouts", "dropout_rate", "target")
    for key in keys:
        assert board.unit.to_dict()[key] == summary[key], key

    client.force_login(county.principal)
    content = client.get(SCHOOL_URL).content.decode()
    assert number(content, 'data-metric="attendance_rate"') == pct_text(summary["attendance_rate"]) == "73.33%"
    assert number(content, 'data-metric="completeness"') == pct_text(summary["completeness"])
    assert number(content, 'data-metric="dropout_rate"') == pct_text(summary["dropout_rate"])
    assert number(content, 'data-cases="suspected"') == str(summary["cases"]["suspected"])
    assert number(content, 'id="overdue-count"') == str(summary["overdue"])
    # This week's report is linked; last week's can be generated from here.
    assert f'href="/reports/{run.pk}/"' in content
    assert 'name="period" value="2026-W47"' in content


def test_county_dashboard_equals_the_county_weekly_report(client, county):
    run = generate(county.bureau, ReportRun.Kind.COUNTY_WEEKLY, "county", county.county.pk)
    client.force_login(county.bureau)
    response = client.get(COUNTY_URL)
    board = response.context["board"]
    keys = ("enrolled", "attendance_rate", "completeness", "cases", "overdue", "dropouts", "dropout_rate", "target_met")
    by_school = {row["key"]: row for row in run.data["schools"]}
    assert {unit.key for unit in board.schools} == set(by_school)
    for unit in board.schools:
        assert {k: unit.to_dict()[k] for k in keys} == {k: by_school[unit.key][k] for k in keys}
    for key in keys[:-1]:
        assert board.total.to_dict()[key] == run.data["total"][key], key
    content = response.content.decode()
    assert number(content, 'data-metric="attendance_rate"') == pct_text(run.data["total"]["attendance_rate"])
    assert number(content, 'data-metric="overdue"') == str(run.data["total"]["overdue"]) == "3"
    row = content.split(f'data-school="{county.school2.pk}"')[1].split("</tr>")[0]
    assert number(row, 'data-link="attendance_rate"') == pct_text(by_school[county.school2.pk]["attendance_rate"])
    assert number(row, 'data-link="suspected"') == "1"
    assert f'href="/reports/{run.pk}/"' in content


def test_townships_add_up_their_schools(client, county):
    third = f.SchoolFactory(county=county.county, township=county.township, name="清溪镇小学", code="S00003")
    room = f.ClassroomFactory(grade=f.GradeFactory(school=third, level=3), number=1)
    f.StudentFactory.create_batch(4, classroom=room, village=county.village)
    client.force_login(county.bureau)
    response = client.get(COUNTY_URL)
    townships = {t["township"].unit.name: t["township"] for t in response.context["townships"]}
    qingxi, baisha = townships["清溪镇"], townships["白沙乡"]
    units = {unit.key: unit for unit in response.context["board"].schools}
    assert (qingxi.schools, qingxi.unit.enrolled) == (2, units[county.school.pk].enrolled + 4)
    assert qingxi.unit.cases == units[county.school.pk].cases
    assert qingxi.unit.present_sum == units[county.school.pk].present_sum
    assert (baisha.schools, baisha.unit.enrolled, baisha.unit.cases["suspected"]) == (1, 3, 1)
    assert qingxi.unit.attendance_rate == units[county.school.pk].attendance_rate  # the new school reported nothing

    # The township's numbers open the school table filtered to its schools.
    filtered = client.get(COUNTY_URL, {"township": county.township.pk})
    assert school_rows(filtered) == {county.school.pk, third.pk}
    assert "显示全部学校" in filtered.content.decode()
    assert f'?township={county.township.pk}#schools"' in response.content.decode()


def test_overdue_cases_per_plan_owner(county):
    board = dashboards.county_dashboard(county.bureau)
    owners = {row["name"]: row["count"] for row in board.owners}
    # b2 (returning, no contact since 11-02) and a1 (returned, follow-up due 11-18) are overdue with
    # plans naming principal, teacher and the cadre of the student's township (cadre for a1, cadre2
    # for b2, who lives in the other township); b0 (suspected, not reported in time) has no plan yet.
    assert owners == {str(county.principal): 2, str(county.teacher): 2, str(county.cadre): 1, str(county.cadre2): 1}
    assert board.overdue_without_plan == 1
    assert board.total.overdue == 3


def test_a_person_named_twice_in_a_plan_counts_the_case_once(county):
    from casework.models import ReturnPlan

    ReturnPlan.objects.filter(case=county.cases["b2"], is_current=True).update(class_teacher=county.principal)
    board = dashboards.county_dashboard(county.bureau)
    owners = {row["name"]: row["count"] for row in board.owners}
    assert owners == {str(county.principal): 2, str(county.teacher): 1, str(county.cadre): 1, str(county.cadre2): 1}


def test_dropout_rate_against_target(client, county):
    client.force_login(county.bureau)
    board = client.get(COUNTY_URL).context["board"]
    units = {unit.key: unit for unit in board.schools}
    one = units[county.school.pk]
    # a0, b1, b2 confirmed this year (a1 returned too): 4 dropouts of 6 students enrolled at the start.
    assert (one.dropouts, one.enrolled_at_start, one.dropout_rate) == (4, 6, 66.67)
    assert (one.target, one.target_met) == (0.6, False)
    assert units[county.school2.pk].target_met is True
    assert board.schools_met == (1, 2)


def test_period_is_written_on_the_page(client, county):
    client.force_login(county.principal)
    content = client.get(SCHOOL_URL).content.decode()
    assert "本周 11-23 至 11-25,数据截至 10:" in content
    assert "本周上学日 3 天" in content


# --- every number links to the list behind it --------------------------------------------------------


def test_school_numbers_link_to_the_lists_behind_them(client, county):
    client.force_login(county.principal)
    response = client.get(SCHOOL_URL)
    content = response.content.decode()
    unit = response.context["unit"]
    s = county.school.pk
    for column in ("suspected", "confirmed", "returning", "returned", "closed"):
        url = f"/cases/?school={s}&amp;status={column}"
        assert f'href="{url}" data-cases="{column}"' in content
    assert f'href="/cases/?school={s}&amp;status=escalated" data-cases="escalated"' in content
    assert f'href="/cases/?school={s}&amp;overdue=1" id="overdue-count"' in content
    for level in ("red", "orange", "yellow"):
        assert f'href="/risk/?level={level}&amp;school={s}" data-flags="{level}"' in content
    assert f'href="/attendance/duty/?school={s}" id="today-reported"' in content

    def listed(url: str, **params) -> int:
        return client.get(url, params).context["page"].paginator.count

    assert listed("/cases/", school=s, status="suspected") == unit.cases["suspected"]
    assert listed("/cases/", school=s, status="confirmed") == unit.cases["confirmed"]
    assert (
        listed("/cases/", school=s, status="returning") + listed("/cases/", school=s, status="escalated")
        == unit.cases["returning"]
    )
    assert listed("/cases/", school=s, status="returned") == unit.cases["returned"]
    assert listed("/cases/", school=s, overdue=1) == unit.overdue == 3
    assert listed("/risk/", school=s, level="red") == 1
    duty = client.get("/attendance/duty/", {"school": s})
    assert len(duty.context["reported"]) == response.context["board"].today.reports


def test_county_numbers_link_to_the_lists_behind_them(client, county):
    client.force_login(county.bureau)
    response = client.get(COUNTY_URL)
    content = response.content.decode()
    s2 = county.school2.pk
    row = content.split(f'data-school="{s2}"')[1].split("</tr>")[0]
    assert f'href="/dashboard/school/?school={s2}" data-link="dashboard"' in row
    assert f'href="/cases/?school={s2}&amp;status=suspected" data-link="suspected"' in row
    assert f'href="/cases/?school={s2}&amp;overdue=1" data-link="overdue"' in row
    assert f'href="/attendance/duty/?school={s2}" data-link="completeness"' in row
    assert f'href="/ledgers/?school={s2}" data-link="dropout_rate"' in row
    assert 'href="/cases/?overdue=1" data-metric="overdue"' in content
    assert 'href="/cases/?status=suspected" data-cases="suspected"' in content
    assert client.get("/cases/", {"status": "suspected"}).context["page"].paginator.count == 2
    owners = response.context["owners"]
    assert all(owner["url"] == f"/cases/?overdue=1&owner={owner['id']}" for owner in owners)
    charts = response.context["charts"]
    assert charts["dropout"]["labels"] == ["清溪镇中学", "白沙乡中学"]
    assert charts["dropout"]["target"] == 0.6
    assert charts["dropout"]["rates"][0] == {"value": 66.67, "url": f"/ledgers/?school={county.school.pk}"}
    assert charts["cases"]["values"][0]["url"] == "/cases/?status=suspected"


def test_chart_data_is_embedded_as_json(client, county):
    client.force_login(county.principal)
    content = client.get(SCHOOL_URL).content.decode()
    for chart in ("trend", "flags", "cases", "dropout"):
        assert f'<script id="data-{chart}" type="application/json">' in content
    assert "vendor/echarts/echarts.min.js" in content
    assert "js/dashboards.js" in content
    assert "cdn" not in content.lower()


def test_no_report_yet_offers_to_generate_it(client, county):
    client.force_login(county.principal)
    content = client.get(SCHOOL_URL).content.decode()
    assert 'action="/reports/generate/"' in content
    assert 'name="period" value="2026-W48"' in content
    form = content.split('action="/reports/generate/"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert fields.pop("csrfmiddlewaretoken")
    assert fields == {"kind": "school_weekly", "period": W48, "scope": f"school:{county.school.pk}"}
    response = client.post("/reports/generate/", fields)
    assert response.status_code == 302
    assert ReportRun.objects.filter(kind="school_weekly", period=W48, scope_id=county.school.pk).exists()


def test_a_day_off_is_explained(client, county):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))):
        board = board_of(county.principal)
    assert board.not_school_day == "该日期为周末"
    assert board.week.last == dt.date(2026, 11, 28)
    assert board.trend[-1].date == dt.date(2026, 11, 27)


# --- query counts ------------------------------------------------------------------------------


def grow(world):
    """Two more schools with classes, 15 more students in class A, and their reports, cases and flags."""
    for n in range(2):
        school = f.SchoolFactory(county=world.county, township=world.other_township, code=f"S9{n:04d}")
        room = f.ClassroomFactory(grade=f.GradeFactory(school=school, level=8), number=1)
        pupils = f.StudentFactory.create_batch(5, classroom=room, village=world.other_village)
        report(room, WED, {pupils[0]: "sick"}, by=world.bureau)
        suspect(world.bureau, pupils[1], MON)
        f.RiskFlagFactory(student=pupils[2], level="red" if n else "orange")
    extra = f.StudentFactory.create_batch(15, classroom=world.class_a, village=world.village)
    DailyReport.objects.filter(classroom=world.class_a).update(enrolled_count=18, present_count=17)
    build_case(world, extra[0], "returning", day=dt.date(2026, 11, 2))
    f.RiskFlagFactory(student=extra[1], level="yellow")


def count_queries(client, url) -> int:
    """Queries of a view with the week's numbers computed (not from the per-school cache)."""
    client.get(url)  # warm: the county calendar is cached for a minute
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


# Session, user, posts, the school / county list, metrics.collect (9), then one query each for the
# trend, joint-persuasion cases, overdue cases (or owners), flags and the week's report runs; and
# the 督导 strip: the matrix's gaps (the at-risk, their coverage, the classes), the findings' counts,
# last week's sign-offs. The county dashboard also looks up the county's latest screening run (排查比对进度).
SCHOOL_QUERIES = 22
COUNTY_QUERIES = 23


@pytest.mark.parametrize(
    ("who", "url", "pinned"),
    [
        ("principal", SCHOOL_URL, SCHOOL_QUERIES),
        ("bureau", COUNTY_URL, COUNTY_QUERIES),
        ("bureau", SCHOOL_URL, SCHOOL_QUERIES),
    ],
)
def test_query_count_does_not_grow_with_schools_or_students(client, county, who, url, pinned):
    client.force_login(getattr(county, who))
    small = count_queries(client, url)
    grow(county)
    assert Classroom.objects.filter(school__county=county.county).count() == 5
    big = count_queries(client, url)
    assert big == small <= pinned


def test_bench_dashboards_times_both_dashboards(county):
    results = time_dashboards(repeat=3, rounds=3)
    assert set(results) == {"school", "school_uncached", "county", "county_uncached"}
    for row in results.values():
        assert 0 < row["p50"] <= row["p95"] <= row["max"]
        assert 0 < row["queries"] <= 30
        assert row["requests"] == 9
        assert len(row["round_p95"]) == 3
        assert row["p95"] == sorted(row["round_p95"])[1]  # the median round decides


def test_case_counts_ignore_dismissed_cases(county):
    case = build_case(county, county.students_a[2], "suspected", day=MON)
    DropoutCase.objects.filter(pk=case.pk).update(status="dismissed")
    board = board_of(county.principal)
    assert sum(board.unit.cases.values()) == 5


# --- the per-school cache ----------------------------------------------------------------------


def test_a_second_view_reads_the_week_from_the_cache(client, county):
    client.force_login(county.principal)
    with CaptureQueriesContext(connection) as first:
        client.get(SCHOOL_URL)
    with CaptureQueriesContext(connection) as again:
        response = client.get(SCHOOL_URL)
    assert len(again.captured_queries) <= len(first.captured_queries) - 9
    assert response.context["unit"].to_dict() == board_of(county.principal, as_of=None).unit.to_dict()


def test_the_county_dashboard_reads_the_week_from_the_cache_until_something_changes(
    client, county, django_capture_on_commit_callbacks
):
    client.force_login(county.bureau)
    with CaptureQueriesContext(connection) as first:
        client.get(COUNTY_URL)
    with CaptureQueriesContext(connection) as again:
        response = client.get(COUNTY_URL)
    assert len(again.captured_queries) <= len(first.captured_queries) - 8
    assert response.context["total"].cases["suspected"] == 2
    with at(WED), django_capture_on_commit_callbacks(execute=True):  # the cache is dropped at commit
        case_services.submit_report(user=county.principal, case_id=county.cases["b0"].pk)
        case_services.verify_case(user=county.bureau, case_id=county.cases["b0"].pk)
    assert client.get(COUNTY_URL).context["total"].cases["suspected"] == 1


def test_a_report_submitted_shows_at_once(client, county, api, django_capture_on_commit_callbacks):
    client.force_login(county.principal)
    before = client.get(SCHOOL_URL).context["board"]
    assert (before.today.reports, before.unit.reports_filed) == (1, 5)
    other_school = dashboards._GENERATION_KEY.format(f"school:{county.school2.pk}")
    untouched = cache.get(other_school)
    b0 = county.students_b[0]
    with django_capture_on_commit_callbacks(execute=True):  # the cache is dropped at commit
        answer = api.as_user(county.teacher2).post(
            "/api/v1/attendance/",
            {"classroom": county.class_b.pk, "date": WED.isoformat(), "absences": [{"student": b0.pk, "kind": "sick"}]},
            format="json",
        )
    assert answer.status_code == 201
    after = client.get(SCHOOL_URL).context["board"]
    assert (after.today.reports, after.unit.reports_filed, after.not_reported) == (2, 6, 0)
    assert after.unit.absences["sick"] == before.unit.absences["sick"] + 1
    # The other school's numbers were not dropped.
    assert cache.get(other_school) == untouched


def test_a_case_moved_shows_at_once(client, county, django_capture_on_commit_callbacks):
    client.force_login(county.principal)
    assert client.get(SCHOOL_URL).context["unit"].cases["suspected"] == 1
    with at(WED), django_capture_on_commit_callbacks(execute=True):  # the cache is dropped at commit
        case_services.submit_report(user=county.principal, case_id=county.cases["b0"].pk)
        case_services.verify_case(user=county.bureau, case_id=county.cases["b0"].pk)
    cases = client.get(SCHOOL_URL).context["unit"].cases
    assert (cases["suspected"], cases["confirmed"]) == (0, 2)
