"""The weekly sign-off chain: the principal signs the school's week, the bureau receives or returns it.

Calendar facts used below (chinesecalendar, State Council notice for 2026):
- 2026-W47 is Mon 11-16 … Sun 11-22: signing due Tue 11-24 (2 working days after the Sunday);
- 2026-W40 is Mon 09-28 … Sun 10-04, inside the National Day holiday (10-01 … 10-07 off, make-up
  workdays Sun 09-20 and Sat 10-10): signing due Fri 10-09 (10-08 and 10-09 are the first working days);
- 2026-W38 ends on Sun 09-20, itself a make-up workday: the count starts after the Sunday (due Tue 09-22).
"""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accountability.models import AccountabilityPolicy, WeeklySignoff
from accountability.signoffs import selectors, services, weeks
from reporting import services as report_services
from reporting.models import ReportRun, ReportSignature
from students.errors import InvalidInput, InvalidTransition, OutOfScope
from students.models import Notification
from tests import factories as f
from tests.helpers import SHANGHAI, at

pytestmark = pytest.mark.django_db

W47 = "2026-W47"
LIST = "/api/v1/weekly-signoffs/"
SIGN = f"{LIST}sign/"
BOARD = f"{LIST}board/"


def moment(day: dt.date, hour: int, minute: int = 0) -> time_machine.travel:
    """Travel to ``day`` ``hour``:``minute`` in Shanghai, the clock standing still."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI), tick=False)


def sign(world, week=W47, *, school=None, user=None, note="") -> WeeklySignoff:
    return services.sign_week(user=user or world.principal, school_id=(school or world.school).pk, week=week, note=note)


def api_sign(api, user, school, week=W47, note=""):
    return api.as_user(user).post(SIGN, {"school": school.pk, "week": week, "note": note}, format="json")


def _chinese(response) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in response.content.decode())


# --- weeks and deadlines ------------------------------------------------------------------------


def test_week_strings_are_parsed_or_refused_in_chinese():
    assert weeks.parse_week("2026-W47") == ("2026-W47", dt.date(2026, 11, 16))
    assert weeks.parse_week(" 2026-w47 ") == ("2026-W47", dt.date(2026, 11, 16))
    assert weeks.parse_week("2026-W53")[1] == dt.date(2026, 12, 28)  # 2026 has 53 ISO weeks
    for bad in ("", "2026-47", "2026-W00", "2025-W53", "2026-W99", "1999-W01", "２０２６-W47", "2026-W4７", "abc"):
        with pytest.raises(InvalidInput) as refused:
            weeks.parse_week(bad)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)


def test_sign_due_counts_working_days_after_the_sunday(world):
    policy = AccountabilityPolicy(county=world.county)  # the defaults: 2 and 2 working days
    due = {week: weeks.sign_due(weeks.parse_week(week)[1], policy) for week in ("2026-W47", "2026-W40", "2026-W38")}
    assert due["2026-W47"] == dt.date(2026, 11, 24)  # across the weekend: Mon, Tue
    assert due["2026-W40"] == dt.date(2026, 10, 9)  # across National Day: 10-08, 10-09
    assert due["2026-W38"] == dt.date(2026, 9, 22)  # the make-up Sunday 09-20 is the week's own day
    assert weeks.receive_due(dt.date(2026, 9, 29), policy) == dt.date(2026, 10, 8)  # 09-30, then 10-08
    assert weeks.receive_due(dt.date(2026, 10, 9), policy) == dt.date(2026, 10, 12)  # Sat 10-10 is a workday
    assert weeks.receive_due(dt.date(2026, 11, 27), policy) == dt.date(2026, 12, 1)  # Fri → Mon, Tue


def test_weeks_of_a_period_are_those_ending_in_it():
    span = weeks.weeks_ending_between(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [week for week, _ in span] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert weeks.last_finished_week(dt.date(2026, 11, 22)) == "2026-W46"  # Sunday: W47 is not over
    assert weeks.last_finished_week(dt.date(2026, 11, 23)) == W47


# --- transitions ----------------------------------------------------------------------------------


def test_principal_signs_own_school_week_on_time(world, term):
    with at(dt.date(2026, 11, 23)):
        row = sign(world, note="本周无异常")
    assert row.status == "signed"
    assert (row.school, row.week, row.week_start) == (world.school, W47, dt.date(2026, 11, 16))
    assert row.sign_due == dt.date(2026, 11, 24)
    assert row.signed_by == world.principal
    assert row.signed_at.astimezone(SHANGHAI).date() == dt.date(2026, 11, 23)
    assert (row.sign_late, row.sign_note) == (False, "本周无异常")
    assert selectors.is_on_time(row)
    last = row.history.latest()
    assert (last.status, last.history_user) == ("signed", world.principal)


def test_signing_after_sign_due_is_late(world, term, today):
    row = sign(world)
    assert row.sign_late
    assert row.late
    assert not selectors.is_on_time(row)


def test_sign_twice_is_409(world, term, today, api):
    assert api_sign(api, world.principal, world.school).status_code == 200
    again = api_sign(api, world.principal, world.school)
    assert again.status_code == 409
    assert "已签发" in again.json()["detail"]
    assert WeeklySignoff.objects.count() == 1


def test_receive_before_sign_is_409(world, term, today, api):
    pending = WeeklySignoff.objects.create(
        school=world.school, week=W47, week_start=dt.date(2026, 11, 16), sign_due=dt.date(2026, 11, 24)
    )
    answer = api.as_user(world.bureau).post(f"{LIST}{pending.pk}/receive/", {}, format="json")
    assert answer.status_code == 409
    assert "待签发" in answer.json()["detail"]
    answer = api.as_user(world.bureau).post(f"{LIST}{pending.pk}/return/", {"comment": "不完整"}, format="json")
    assert answer.status_code == 409
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_bureau_receives_a_signed_week(world, term, today, api):
    row = sign(world)
    answer = api.as_user(world.bureau).post(f"{LIST}{row.pk}/receive/", {}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "received"
    assert body["received_by"] == world.bureau.pk
    assert (body["sign_late"], body["receive_late"], body["late"], body["on_time"]) == (True, False, True, False)
    assert api.as_user(world.bureau).post(f"{LIST}{row.pk}/receive/", {}, format="json").status_code == 409


def test_return_needs_a_comment_and_the_school_signs_again(world, term, today, api, django_capture_on_commit_callbacks):
    row = sign(world)
    url = f"{LIST}{row.pk}/return/"
    assert api.as_user(world.bureau).post(url, {}, format="json").status_code == 400
    blank = api.as_user(world.bureau).post(url, {"comment": "   "}, format="json")
    assert blank.status_code == 400
    assert _chinese(blank)
    row.refresh_from_db()
    assert row.status == "signed"
    with django_capture_on_commit_callbacks(execute=True):
        returned = api.as_user(world.bureau).post(url, {"comment": "缺少缺勤学生名单"}, format="json")
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    assert returned.json()["return_comment"] == "缺少缺勤学生名单"
    assert returned.json()["times_returned"] == 1
    note = Notification.objects.get(user=world.principal, kind=services.RETURNED_KIND)
    assert "缺少缺勤学生名单" in note.text
    assert note.link == reverse("accountability:signoffs") + "?week=2026-W47"
    assert not Notification.objects.filter(user=world.principal2, kind=services.RETURNED_KIND).exists()
    # The school signs again; the bureau receives.
    resigned = api_sign(api, world.principal, world.school, note="已补充名单")
    assert resigned.status_code == 200
    assert (resigned.json()["status"], resigned.json()["sign_note"]) == ("signed", "已补充名单")
    assert resigned.json()["id"] == row.pk
    assert api.as_user(world.bureau).post(f"{LIST}{row.pk}/receive/", {}, format="json").status_code == 200
    row.refresh_from_db()
    assert (row.status, row.times_returned, row.return_comment) == ("received", 1, "缺少缺勤学生名单")
    assert [h.status for h in row.history.order_by("history_date", "history_id")] == [
        "pending",
        "signed",
        "returned",
        "signed",
        "received",
    ]


def test_return_a_received_week_is_409(world, term, today):
    row = sign(world)
    services.receive_week(user=world.bureau, signoff_id=row.pk)
    with pytest.raises(InvalidTransition):
        services.return_week(user=world.bureau, signoff_id=row.pk, comment="晚了")
    with pytest.raises(InvalidTransition):
        sign(world)
    row.refresh_from_db()
    assert row.status == "received"


def test_a_week_not_over_yet_cannot_be_signed(world, term, api):
    with at(dt.date(2026, 11, 22)):  # the Sunday of W47
        answer = api_sign(api, world.principal, world.school)
        assert answer.status_code == 400
        assert "尚未结束" in answer.json()["detail"]
        assert api_sign(api, world.principal, world.school, week="2026-W50").status_code == 400  # the future
    assert not WeeklySignoff.objects.exists()
    with moment(dt.date(2026, 11, 23), 0, 5):  # Monday just after midnight: the week is over
        assert api_sign(api, world.principal, world.school).status_code == 200


@pytest.mark.parametrize("week", ["abc", "2026-W99", "2026-W00", "1999-W01", "２０２６-W47", "2026-11", ""])
def test_bad_week_strings_are_400_in_chinese(world, term, today, api, week):
    answer = api_sign(api, world.principal, world.school, week=week)
    assert answer.status_code == 400
    assert _chinese(answer)
    assert api.as_user(world.bureau).get(BOARD, {"week": week or "x"}).status_code == 400
    if week:
        listed = api.as_user(world.bureau).get(LIST, {"week": week})
        assert listed.status_code == 400
        assert _chinese(listed)
    assert not WeeklySignoff.objects.exists()


def test_bad_ids_are_400_or_404_never_500(world, term, today, api):
    row = sign(world)
    bureau = api.as_user(world.bureau)
    assert bureau.get(LIST, {"school": "abc"}).status_code == 400
    assert bureau.get(LIST, {"school": "1e3"}).status_code == 400
    assert bureau.get(LIST, {"status": "nonsense"}).status_code == 400
    assert bureau.post(f"{LIST}abc/receive/", {}, format="json").status_code == 404
    assert bureau.post(f"{LIST}99999999999999999999999/receive/", {}, format="json").status_code == 404
    assert bureau.get(f"{LIST}99999999999999999999999/").status_code == 404
    assert api_sign(api, world.principal, world.school).status_code == 409
    answer = api.as_user(world.principal).post(SIGN, {"school": "abc", "week": W47}, format="json")
    assert answer.status_code == 400
    answer = api.as_user(world.principal).post(SIGN, {"school": 2**70, "week": W47}, format="json")
    assert answer.status_code == 400
    for body in ([], 7, "text"):
        assert api.as_user(world.principal).post(SIGN, body, format="json").status_code == 400
    assert api.as_user(world.bureau).post(f"{LIST}{row.pk}/return/", [], format="json").status_code == 400
    assert (
        api.as_user(world.bureau).post(f"{LIST}{row.pk}/return/", {"comment": "x\x00"}, format="json").status_code
        == 400
    )
    row.refresh_from_db()
    assert row.status == "signed"


# --- roles ---------------------------------------------------------------------------------------


def test_principal2_cannot_see_or_act_on_school_1(world, term, today, api):
    row = sign(world)
    other = api.as_user(world.principal2)
    assert other.get(f"{LIST}{row.pk}/").status_code == 404
    assert other.get(LIST).json()["count"] == 0
    assert api_sign(api, world.principal2, world.school).status_code == 404
    assert other.post(f"{LIST}{row.pk}/receive/", {}, format="json").status_code == 404
    assert other.post(f"{LIST}{row.pk}/return/", {"comment": "x"}, format="json").status_code == 404
    board = other.get(BOARD, {"week": W47}).json()
    assert [s["school"] for s in board["schools"]] == [world.school2.pk]
    # Their own school: fine.
    assert api_sign(api, world.principal2, world.school2).status_code == 200


@pytest.mark.parametrize("role", ["teacher", "cadre", "outsider"])
def test_no_school_post_means_no_signoffs(world, term, today, api, role):
    row = sign(world)
    client = api.as_user(getattr(world, role))
    assert client.get(LIST).json()["count"] == 0
    assert client.get(f"{LIST}{row.pk}/").status_code == 404
    assert client.post(f"{LIST}{row.pk}/receive/", {}, format="json").status_code == 404
    assert client.post(f"{LIST}{row.pk}/return/", {"comment": "x"}, format="json").status_code == 404
    assert api_sign(api, getattr(world, role), world.school).status_code == 404
    board = client.get(BOARD, {"week": W47}).json()
    assert board["schools"] == []
    assert board["counts"]["total"] == 0
    with pytest.raises(OutOfScope):
        services.receive_week(user=getattr(world, role), signoff_id=row.pk)


def test_only_the_bureau_receives_and_returns(world, term, today, api):
    row = sign(world)
    principal = api.as_user(world.principal)
    assert principal.get(f"{LIST}{row.pk}/").status_code == 200
    answer = principal.post(f"{LIST}{row.pk}/receive/", {}, format="json")
    assert answer.status_code == 409
    assert "教育局" in answer.json()["detail"]
    assert principal.post(f"{LIST}{row.pk}/return/", {"comment": "x"}, format="json").status_code == 409
    # And only the school signs: the bureau may not sign for it.
    assert api_sign(api, world.bureau, world.school2).status_code == 409
    row.refresh_from_db()
    assert row.status == "signed"


def test_bureau_of_another_county_sees_nothing(world, term, today, api):
    row = sign(world)
    other_county = f.CountyFactory(code="431227", name="绿水县")
    stranger = f.UserFactory(username="other-bureau")
    f.PostFactory(user=stranger, role="bureau", county=other_county)
    assert api.as_user(stranger).get(f"{LIST}{row.pk}/").status_code == 404
    assert api.as_user(stranger).post(f"{LIST}{row.pk}/receive/", {}, format="json").status_code == 404
    assert api.as_user(stranger).get(BOARD, {"week": W47}).json()["schools"] == []


def test_list_filters(world, term, api):
    with at(dt.date(2026, 11, 16)):
        sign(world, "2026-W46")  # due 11-17: on time
    with at(dt.date(2026, 11, 25)):
        sign(world)  # late
        sign(world, user=world.principal2, school=world.school2)
    bureau = api.as_user(world.bureau)
    assert bureau.get(LIST).json()["count"] == 3
    assert [r["week"] for r in bureau.get(LIST).json()["results"]] == [W47, W47, "2026-W46"]
    assert bureau.get(LIST, {"week": "2026-W46"}).json()["count"] == 1
    assert bureau.get(LIST, {"school": world.school2.pk}).json()["count"] == 1
    assert bureau.get(LIST, {"status": "signed"}).json()["count"] == 3
    assert bureau.get(LIST, {"status": "received"}).json()["count"] == 0
    assert bureau.get(LIST, {"late": "true"}).json()["count"] == 2
    assert bureau.get(LIST, {"late": "false"}).json()["count"] == 1
    assert api.as_user(world.principal).get(LIST).json()["count"] == 2


# --- deadlines on working-day edges ---------------------------------------------------------------


def test_sign_due_across_a_weekend_to_the_minute(world, term):
    with moment(dt.date(2026, 11, 24), 23, 59):
        on_time = sign(world)
    with moment(dt.date(2026, 11, 25), 0, 1):
        late = sign(world, user=world.principal2, school=world.school2)
    assert (on_time.sign_due, on_time.sign_late) == (dt.date(2026, 11, 24), False)
    assert (late.sign_due, late.sign_late) == (dt.date(2026, 11, 24), True)


def test_receive_due_across_a_weekend(world, term):
    with at(dt.date(2026, 11, 27)):  # Friday
        first = sign(world)
        second = sign(world, user=world.principal2, school=world.school2)
    with at(dt.date(2026, 12, 1)):  # Tuesday: the 2nd working day after Friday
        services.receive_week(user=world.bureau, signoff_id=first.pk)
    with at(dt.date(2026, 12, 2)):
        services.receive_week(user=world.bureau, signoff_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.receive_late, second.receive_late) == (False, True)
    # The late signature (due 11-24) stays counted although the receipt was on time.
    assert first.sign_late
    assert first.late
    assert not selectors.is_on_time(first)


def test_sign_due_across_the_national_day_holiday(world, term):
    with at(dt.date(2026, 10, 9)):  # Friday: the 2nd working day after Sun 10-04 (10-05 … 10-07 off)
        on_time = sign(world, "2026-W40")
    with at(dt.date(2026, 10, 10)):  # the make-up Saturday is a working day, and past the deadline
        late = sign(world, "2026-W40", user=world.principal2, school=world.school2)
    assert on_time.sign_due == dt.date(2026, 10, 9)
    assert (on_time.sign_late, late.sign_late) == (False, True)


def test_receive_due_across_the_national_day_holiday(world, term):
    with at(dt.date(2026, 9, 29)):  # W39 signed on its deadline (Tue 09-29)
        first = sign(world, "2026-W39")
        second = sign(world, "2026-W39", user=world.principal2, school=world.school2)
    assert first.sign_due == dt.date(2026, 9, 29)
    assert not first.sign_late
    with at(dt.date(2026, 10, 8)):  # 09-30 and 10-08 are the two working days after 09-29
        services.receive_week(user=world.bureau, signoff_id=first.pk)
    with at(dt.date(2026, 10, 9)):
        services.receive_week(user=world.bureau, signoff_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.receive_late, second.receive_late) == (False, True)
    assert selectors.is_on_time(first)
    assert selectors.is_on_time(second)


def test_receive_after_a_signature_on_the_eve_of_a_make_up_saturday(world, term):
    with at(dt.date(2026, 10, 9)):
        row = sign(world, "2026-W40")
    with at(dt.date(2026, 10, 12)):  # Sat 10-10 (make-up) and Mon 10-12 are the two working days
        services.receive_week(user=world.bureau, signoff_id=row.pk)
    row.refresh_from_db()
    assert not row.receive_late


def test_county_policy_sets_the_deadlines(world, term):
    AccountabilityPolicy.objects.create(county=world.county, sign_working_days=1, receive_working_days=5)
    with at(dt.date(2026, 11, 24)):
        row = sign(world)
    assert (row.sign_due, row.sign_late) == (dt.date(2026, 11, 23), True)


def test_resigning_after_a_return_past_sign_due_is_late(world, term):
    with at(dt.date(2026, 11, 23)):
        row = sign(world)
        services.return_week(user=world.bureau, signoff_id=row.pk, comment="请补充")
    assert not WeeklySignoff.objects.get(pk=row.pk).sign_late
    with at(dt.date(2026, 11, 26)):
        row = sign(world)
    assert row.sign_late


# --- the board and the period's tally -----------------------------------------------------------


def test_board_lists_every_school_of_the_county_with_counts(world, term, api, django_assert_max_num_queries):
    school3 = f.SchoolFactory(county=world.county, township=world.township, name="石门小学", code="S00003")
    with at(dt.date(2026, 11, 23)):
        first = sign(world)
    with at(dt.date(2026, 11, 24)):
        services.receive_week(user=world.bureau, signoff_id=first.pk)
    with at(dt.date(2026, 11, 26)):
        sign(world, user=world.principal2, school=world.school2)  # late
        with django_assert_max_num_queries(8):
            answer = api.as_user(world.bureau).get(BOARD, {"week": W47})
    assert answer.status_code == 200
    board = answer.json()
    assert (board["week"], board["week_start"], board["week_end"]) == (W47, "2026-11-16", "2026-11-22")
    assert board["counts"] == {
        "total": 3,
        "pending": 1,
        "signed": 1,
        "received": 1,
        "returned": 0,
        "on_time": 1,
        "late": 1,
        "overdue": 1,
    }
    by_school = {row["school"]: row for row in board["schools"]}
    assert by_school[world.school.pk]["status"] == "received"
    assert by_school[world.school.pk]["signoff"]["id"] == first.pk
    assert by_school[world.school2.pk]["late"] is True
    assert by_school[school3.pk]["status"] == "pending"
    assert by_school[school3.pk]["signoff"] is None
    assert by_school[school3.pk]["sign_due"] == "2026-11-24"
    assert by_school[school3.pk]["overdue"] is True


def test_board_query_count_does_not_grow_with_schools(world, term, today, api):
    bureau = api.as_user(world.bureau)
    bureau.get(BOARD, {"week": W47})  # the county's policy is created on first use

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert bureau.get(BOARD, {"week": W47}).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for n in range(20):
        school = f.SchoolFactory(county=world.county, township=world.township, name=f"学校{n}", code=f"T{n:05d}")
        if n % 2:
            WeeklySignoff.objects.create(
                school=school, week=W47, week_start=dt.date(2026, 11, 16), sign_due=dt.date(2026, 11, 24)
            )
    assert queries() == few <= 6
    assert bureau.get(BOARD, {"week": W47}).json()["counts"]["total"] == 22


def test_board_defaults_to_the_last_finished_week(world, term, today, api):
    assert api.as_user(world.bureau).get(BOARD).json()["week"] == W47


def test_late_count_per_school_over_a_period(world, term):
    with at(dt.date(2026, 11, 16)):
        sign(world, "2026-W46")  # on time (due 11-17)
    with at(dt.date(2026, 11, 25)):
        sign(world)  # W47 late (due 11-24)
    with at(dt.date(2026, 11, 30)):
        sign(world, "2026-W48")  # on time (due 12-01)
        tally = selectors.late_count(world.bureau, start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    # Weeks ending in November: W44 … W48. W44/W45 never signed: late.
    assert (tally[world.school.pk].weeks, tally[world.school.pk].on_time, tally[world.school.pk].late) == (5, 2, 3)
    assert tally[world.school.pk].late_weeks == ["2026-W44", "2026-W45", "2026-W47"]
    # School 2 signed nothing: W48's deadline (12-01) has not passed on 11-30, so it is still open.
    assert (tally[world.school2.pk].weeks, tally[world.school2.pk].late) == (4, 4)
    # Principal 2 sees their school only; a teacher nothing.
    with at(dt.date(2026, 11, 30)):
        assert set(selectors.late_count(world.principal2, start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))) == {
            world.school2.pk
        }
        assert selectors.late_count(world.teacher, start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)) == {}


def test_weeks_without_school_days_are_not_counted(world, term):
    # The winter holiday: the autumn term ends on 2027-01-22 and no spring term is entered.
    tally = selectors.late_count(
        world.bureau, start=dt.date(2027, 1, 25), end=dt.date(2027, 2, 21), today=dt.date(2027, 3, 1)
    )
    assert tally[world.school.pk].weeks == 0
    # National Day week W41 (10-05 … 10-11) still has school days (10-08, 10-09, 10-10).
    tally = selectors.late_count(
        world.bureau, start=dt.date(2026, 10, 5), end=dt.date(2026, 10, 11), today=dt.date(2026, 11, 1)
    )
    assert tally[world.school.pk].weeks == 1


# --- reminders ------------------------------------------------------------------------------------


def test_the_bureau_is_told_when_a_week_is_signed(world, term, today, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = sign(world)
    note = Notification.objects.get(user=world.bureau)
    assert note.kind == services.SIGNED_KIND
    assert "清溪镇中学" in note.text
    assert "逾期" in note.text
    assert "11月27日" in note.text
    assert not Notification.objects.filter(user=world.principal2).exists()
    assert selectors.signoff_reminders_done([note]) == set()
    services.receive_week(user=world.bureau, signoff_id=row.pk)
    assert selectors.signoff_reminders_done([note]) == {note.pk}


def test_nothing_is_told_when_the_step_is_refused(world, term, today, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(InvalidInput):
        sign(world, "2026-W48")
    assert callbacks == []
    assert not Notification.objects.exists()


# --- the report run's signature signs the week --------------------------------------------------


def _done_run(world, period=W47) -> ReportRun:
    return f.ReportRunFactory(
        kind=ReportRun.Kind.SCHOOL_WEEKLY,
        period=period,
        scope_type=ReportRun.ScopeType.SCHOOL,
        scope=world.school,
        requested_by=world.principal,
        status=ReportRun.Status.DONE,
    )


def test_signing_the_school_weekly_report_signs_the_week(world, term, today):
    run = _done_run(world)
    signature = report_services.sign_run(user=world.principal, run_id=run.pk, note="同意上报")
    row = WeeklySignoff.objects.get(school=world.school, week=W47)
    assert (row.status, row.signed_by, row.sign_note, row.sign_late) == ("signed", world.principal, "同意上报", True)
    assert signature.user == world.principal
    assert abs((row.signed_at - signature.at).total_seconds()) < 5


def test_report_signature_leaves_an_already_signed_week_alone(world, term, today):
    with at(dt.date(2026, 11, 23)):
        row = sign(world)
        services.receive_week(user=world.bureau, signoff_id=row.pk)
    report_services.sign_run(user=world.principal, run_id=_done_run(world).pk)
    fresh = WeeklySignoff.objects.get(pk=row.pk)
    assert (fresh.status, fresh.signed_at, fresh.sign_late) == ("received", row.signed_at, False)


def test_report_signature_signs_a_returned_week_again(world, term, today):
    row = sign(world)
    services.return_week(user=world.bureau, signoff_id=row.pk, comment="请补充")
    report_services.sign_run(user=world.principal, run_id=_done_run(world).pk)
    assert WeeklySignoff.objects.get(pk=row.pk).status == "signed"


def test_a_report_of_a_week_not_over_cannot_be_signed(world, term, today):
    run = _done_run(world, period="2026-W48")
    with pytest.raises(InvalidInput):
        report_services.sign_run(user=world.principal, run_id=run.pk)
    assert not ReportSignature.objects.exists()
    assert not WeeklySignoff.objects.exists()


# --- pages --------------------------------------------------------------------------------------


def test_bureau_page_shows_the_board_and_receives(world, term, today, client):
    row = sign(world)
    client.force_login(world.bureau)
    page = client.get(reverse("accountability:signoffs"), {"week": W47})
    assert page.status_code == 200
    html = page.content.decode()
    assert "清溪镇中学" in html
    assert "白沙乡中学" in html
    assert "签发逾期" in html
    assert reverse("accountability:signoff-receive", args=[row.pk]) in html
    assert 'name="comment"' in html
    assert "<script>" not in html  # no inline script without a nonce (CSP)
    answer = client.post(reverse("accountability:signoff-receive", args=[row.pk]), {"week": W47})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("accountability:signoffs") + "?week=2026-W47"
    row.refresh_from_db()
    assert row.status == "received"


def test_bureau_page_returns_with_a_comment(world, term, today, client):
    row = sign(world)
    client.force_login(world.bureau)
    url = reverse("accountability:signoff-return", args=[row.pk])
    refused = client.post(url, {"comment": ""}, follow=True)
    assert "退回须填写退回意见" in refused.content.decode()
    client.post(url, {"comment": "数据有误", "week": W47})
    row.refresh_from_db()
    assert (row.status, row.return_comment) == ("returned", "数据有误")


def test_bad_week_on_the_page_shows_a_message(world, term, today, client):
    client.force_login(world.bureau)
    page = client.get(reverse("accountability:signoffs"), {"week": "2026-W99"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "周次无效" in html
    assert 'value="2026-W47"' in html


def test_principal_page_lists_weeks_and_signs(world, term, today, client):
    client.force_login(world.principal)
    html = client.get(reverse("accountability:signoffs")).content.decode()
    assert 'data-week="2026-W47"' in html
    assert 'data-week="2026-W48"' not in html  # not over yet
    assert reverse("accountability:signoff-sign") in html
    assert "白沙乡中学" not in html
    answer = client.post(
        reverse("accountability:signoff-sign"), {"school": world.school.pk, "week": W47, "note": "同意"}
    )
    assert answer.status_code == 302
    row = WeeklySignoff.objects.get(school=world.school, week=W47)
    assert (row.status, row.sign_note) == ("signed", "同意")
    refused = client.post(reverse("accountability:signoff-sign"), {"school": world.school.pk, "week": W47}, follow=True)
    assert "不能再次签发" in refused.content.decode()
    # The principal cannot receive their own week.
    client.post(reverse("accountability:signoff-receive", args=[row.pk]))
    row.refresh_from_db()
    assert row.status == "signed"


def test_pages_are_scoped(world, term, today, client):
    row = sign(world)
    client.force_login(world.principal2)
    assert client.post(reverse("accountability:signoff-receive", args=[row.pk])).status_code == 404
    assert client.post(reverse("accountability:signoff-return", args=[row.pk]), {"comment": "x"}).status_code == 404
    answer = client.post(reverse("accountability:signoff-sign"), {"school": world.school.pk, "week": W47})
    assert answer.status_code == 404
    for role in ("teacher", "cadre", "outsider"):
        client.force_login(getattr(world, role))
        assert client.get(reverse("accountability:signoffs")).status_code == 404
        assert client.post(reverse("accountability:signoff-receive", args=[row.pk])).status_code == 404
        assert client.post(reverse("accountability:signoff-sign"), {"school": world.school.pk}).status_code == 404
    client.logout()
    assert "/accounts/login/" in client.get(reverse("accountability:signoffs"))["Location"]
    row.refresh_from_db()
    assert row.status == "signed"


def test_empty_board_for_a_county_without_schools(db, client, today):
    lonely = f.UserFactory(username="lonely-bureau")
    f.PostFactory(user=lonely, role="bureau", county=f.CountyFactory(code="431227", name="绿水县"))
    client.force_login(lonely)
    html = client.get(reverse("accountability:signoffs")).content.decode()
    assert "本县暂无学校" in html


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_signatures_at_once_make_one_row(world, term):
    leader = f.UserFactory(username="leader")
    f.PostFactory(user=leader, role="school_leader", county=world.county, school=world.school)
    barrier = threading.Barrier(2)
    outcomes = []

    def act(user):
        try:
            barrier.wait()
            with at(dt.date(2026, 11, 23)):
                services.sign_week(user=user, school_id=world.school.pk, week=W47)
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("409")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(user,)) for user in (world.principal, leader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["409", "ok"]
    assert WeeklySignoff.objects.filter(school=world.school, week=W47).count() == 1
