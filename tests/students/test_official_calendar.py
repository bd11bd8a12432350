"""The calendar of record (issue 12 item 16): the bureau enters the State Council's holidays and
make-up workdays for years the package does not know; they override it; the county dashboard warns
while a term touches a year nobody knows."""

import datetime as dt

import pytest
from django.urls import reverse

from students.calendar import SchoolCalendar, is_working_day, package_knows, unknown_years
from students.models import OfficialDay, OfficialYear
from tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date

NOTICE_2027 = """
2027-01-01 休 元旦
2027-02-06 休 春节
2027-02-07 班 春节调休
2027年5月1日　休　劳动节
"""


@pytest.mark.parametrize(
    "day", [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]
)
def test_2026_make_up_days_are_working_days(day):
    assert day.weekday() >= 5  # a weekend day …
    assert is_working_day(day)  # … on which people work (调休)


def test_2026_holidays_are_days_off():
    assert not is_working_day(D(2026, 10, 1))
    assert not is_working_day(D(2026, 2, 17))  # 春节


def test_a_year_the_package_does_not_know_counts_weekdays_until_entered(world, client):
    assert not package_knows(2027)
    assert is_working_day(D(2027, 1, 1))  # a Friday: unknown, so a school day …
    assert not is_working_day(D(2027, 2, 7))  # … and a make-up Sunday is off

    client.force_login(world.bureau)
    response = client.post(
        reverse("official-calendar"),
        {"action": "enter", "days": NOTICE_2027, "complete_year": "2027", "source": "国办发明电〔2026〕7号"},
    )
    assert response.status_code == 302
    assert OfficialDay.objects.count() == 4
    assert OfficialYear.objects.get(year=2027).source == "国办发明电〔2026〕7号"

    assert not is_working_day(D(2027, 1, 1))
    assert not is_working_day(D(2027, 2, 6))  # a Saturday holiday stays off
    assert is_working_day(D(2027, 2, 7))  # the make-up Sunday is a working day
    assert not is_working_day(D(2027, 5, 1))
    assert is_working_day(D(2027, 3, 3))  # any other weekday
    assert not is_working_day(D(2027, 3, 6))  # any other Saturday


def test_the_record_overrides_the_package(world):
    assert is_working_day(D(2026, 10, 10))  # the package: a make-up Saturday
    OfficialDay.objects.create(date=D(2026, 10, 10), kind=OfficialDay.Kind.HOLIDAY, name="更正")
    assert not is_working_day(D(2026, 10, 10))


def test_school_days_of_a_spring_2027_term_follow_the_record(world):
    year = f.SchoolYearFactory(county=world.county, name="2026-2027", start_date=D(2026, 9, 1), end_date=D(2027, 7, 31))
    f.TermFactory(school_year=year, name="春季学期", start_date=D(2027, 2, 1), end_date=D(2027, 7, 10))
    calendar = SchoolCalendar(world.county.pk)
    assert D(2027, 2, 7) not in calendar.school_days(D(2027, 2, 1), D(2027, 2, 14))
    OfficialDay.objects.create(date=D(2027, 2, 7), kind=OfficialDay.Kind.WORKDAY, name="春节调休")
    OfficialDay.objects.create(date=D(2027, 2, 8), kind=OfficialDay.Kind.HOLIDAY, name="春节")
    calendar = SchoolCalendar(world.county.pk)
    days = calendar.school_days(D(2027, 2, 1), D(2027, 2, 14))
    assert D(2027, 2, 7) in days
    assert D(2027, 2, 8) not in days
    assert calendar.why_not_school_day(D(2027, 2, 8)) == "该日期为法定节假日"


def test_the_county_dashboard_warns_while_a_term_touches_an_unknown_year(world, client, today):
    year = f.SchoolYearFactory(county=world.county, name="2026-2027", start_date=D(2026, 9, 1), end_date=D(2027, 7, 31))
    f.TermFactory(school_year=year, name="春季学期", start_date=D(2027, 2, 20), end_date=D(2027, 7, 10))
    assert unknown_years(world.county.pk, today=today) == [2027]
    client.force_login(world.bureau)
    page = client.get(reverse("dashboard-county")).content.decode()
    assert 'id="calendar-unknown"' in page
    assert reverse("official-calendar") in page

    OfficialYear.objects.create(year=2027, source="通知")
    assert unknown_years(world.county.pk, today=today) == []
    assert 'id="calendar-unknown"' not in client.get(reverse("dashboard-county")).content.decode()


def test_bad_lines_are_refused_in_chinese_and_nothing_is_entered(world, client):
    client.force_login(world.bureau)
    response = client.post(
        reverse("official-calendar"),
        {"action": "enter", "days": "2027-01-01 休 元旦\n2027-13-01 休 x\n明天 休"},
        follow=True,
    )
    text = response.content.decode()
    assert "第2行" in text
    assert "第3行" in text
    assert OfficialDay.objects.count() == 0


def test_only_the_bureau_edits_the_record(world, client):
    for user in (world.principal, world.teacher, world.cadre):
        client.force_login(user)
        assert client.get(reverse("official-calendar")).status_code == 200  # everyone may read it
        client.post(reverse("official-calendar"), {"action": "enter", "days": "2027-01-01 休 元旦"})
        assert OfficialDay.objects.count() == 0
