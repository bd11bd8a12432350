"""Weekly and monthly reports: exact numbers, the .xlsx read back, the API and the pages.

The county of ``world`` in ISO week 2026-W47 (Mon 11-16 … Fri 11-20 are school days; "today"
is Wed 11-25):

- class A (3 students + one who dropped out in an earlier year) reports all five days:
  Mon a0 旷课, Tue a0 旷课 and a1 病假, Wed a0 不明, Thu nobody (零报告), Fri a2 事假
  → 应到 15, 实到 10;
- class B reports Mon–Wed only: Tue b0 病假 → 应到 9, 实到 8; b3 transferred out this year
  (a status change in the 学籍 history, no case);
- class C (school 2) reports only on Saturday 11-21, which is not a school day: ignored.

Cases of school 1: a0 confirmed (11-18), a1 returned (11-17), a2 closed (11-09, W46), b0 suspected
(11-19, not reported → overdue), b1 escalated (11-16), b2 dismissed as a verified transfer (11-16).
"""

import datetime as dt
import io
import os
import re
import shutil
import subprocess

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework import services as case_services
from casework.models import DropoutCase, FollowUp
from reporting import building, metrics, periods, services, xlsx
from reporting.models import DownloadLog, ReportRun, ReportSignature
from students import idnumber
from students.errors import Conflict, InvalidTransition, OutOfScope
from students.models import Absence, DailyReport, Student
from tests import factories as f
from tests.helpers import at, build_case, report

pytestmark = pytest.mark.django_db

W47 = "2026-W47"
MON = dt.date(2026, 11, 16)
DAYS = [MON + dt.timedelta(days=n) for n in range(5)]
YEAR_START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def county(world, term, today):
    """Attendance and cases of W47 as described in the module docstring."""
    a0, a1, a2 = world.students_a
    b0, b1, b2 = world.students_b
    w = world
    report(w.class_a, DAYS[0], {a0: "unexcused"}, by=w.teacher)
    report(w.class_a, DAYS[1], {a0: "unexcused", a1: "sick"}, by=w.teacher)
    report(w.class_a, DAYS[2], {a0: "unknown"}, by=w.teacher)
    report(w.class_a, DAYS[3], {}, by=w.teacher)
    report(w.class_a, DAYS[4], {a2: "personal"}, by=w.teacher)
    report(w.class_b, DAYS[0], {}, by=w.teacher2)
    report(w.class_b, DAYS[1], {b0: "sick"}, by=w.teacher2)
    report(w.class_b, DAYS[2], {}, by=w.teacher2)
    report(w.class_c, dt.date(2026, 11, 21), dict.fromkeys(w.students_c, "unknown"), by=w.principal2)

    # Left in an earlier school year: neither enrolled at the start of this one nor a dropout of it.
    old = f.StudentFactory(classroom=w.class_a, village=w.village, status=Student.Status.DROPPED_OUT)
    # Transferred out this year: the 学籍 history shows the change.
    b3 = f.StudentFactory(classroom=w.class_b, village=w.other_village)
    b3.status = Student.Status.TRANSFERRED_OUT
    b3.save()

    cases = {
        "a0": build_case(w, a0, "confirmed", day=DAYS[2]),
        "a1": build_case(w, a1, "returned", day=DAYS[1]),
        "a2": build_case(w, a2, "closed", day=dt.date(2026, 11, 9)),
        "b0": build_case(w, b0, "suspected", day=DAYS[3]),
        "b1": build_case(w, b1, "escalated", day=DAYS[0]),
        "b2": build_case(w, b2, "reported", day=DAYS[0]),
    }
    DropoutCase.objects.filter(pk=cases["a2"].pk).update(closed_on=dt.date(2026, 11, 20))
    with at(DAYS[0]):
        case_services.dismiss_case(user=w.bureau, case_id=cases["b2"].pk, reason="transferred")
    # One of the follow-ups due in W47 is done already.
    FollowUp.objects.filter(case=cases["a2"], kind="counselling").update(done_on=DAYS[0])
    f.RiskFlagFactory(
        student=a0,
        level="red",
        evidence_text="连续3个上学日旷课/不明",
        raised_at=dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC),
    )
    f.RiskFlagFactory(
        student=a2, level="yellow", evidence_text="上周的预警", raised_at=dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)
    )
    w.old, w.b3, w.cases = old, b3, cases
    return w


def build(kind, scope_type, scope_id, period=W47) -> tuple[building.BuildResult, list[int]]:
    run = f.ReportRunFactory.build(
        kind=kind, period=period, scope_type=scope_type, scope_id=scope_id, scope_name="测试"
    )
    seen: list[int] = []
    result = services.BUILDERS[kind](run, seen.append)
    return result, seen


def workbook(result: building.BuildResult):
    return openpyxl.load_workbook(io.BytesIO(result.content))


def rows_of(ws, first=4):
    return [[c.value for c in row] for row in ws.iter_rows(min_row=first)]


# --- metrics --------------------------------------------------------------------------------------


def test_metrics_per_class_school_and_county(county):
    m = metrics.collect(metrics.Classroom.objects.filter(school__county=county.county), *periods.period_bounds(W47))
    assert [d.isoformat() for d in m.school_days] == [d.isoformat() for d in DAYS]
    assert m.school_year == {"name": "2026-2027", "start": "2026-09-01", "end": "2027-08-31"}
    a, b, c = m.classes
    assert (a.enrolled_sum, a.present_sum, a.attendance_rate) == (15, 10, 66.67)
    assert (b.enrolled_sum, b.present_sum, b.attendance_rate) == (9, 8, 88.89)
    assert (c.reports_filed, c.attendance_rate, c.absence_total) == (0, None, 0)  # Saturday ignored
    assert (a.reports_filed, a.reports_expected, a.completeness) == (5, 5, 100.0)
    assert (b.reports_filed, b.completeness) == (3, 60.0)
    assert a.absences == {"sick": 1, "personal": 1, "unexcused": 2, "unknown": 1}

    s1, s2 = m.schools
    assert s1.key == county.school.pk
    assert (s1.enrolled_sum, s1.present_sum, s1.attendance_rate) == (24, 18, 75.0)
    assert (s1.reports_filed, s1.reports_expected, s1.completeness) == (8, 10, 80.0)
    assert s1.absences == {"sick": 2, "personal": 1, "unexcused": 2, "unknown": 1}
    assert s1.new_suspected == 5  # a2's case was detected in W46
    assert s1.cases == {"suspected": 1, "confirmed": 1, "returning": 1, "returned": 1, "closed": 1}
    assert s1.overdue == 2  # b0 not reported within 3 working days; a1's buddy follow-up of 11-18
    # Enrolled now: a1, a2 (returned), b0. Left this year: a0, b1 (dropouts), b2 (verified transfer),
    # b3 (transfer in the 学籍 history). The student who left in an earlier year is not counted.
    assert (s1.enrolled, s1.enrolled_at_start) == (3, 7)
    assert s1.dropouts == 4  # a0, a1, a2, b1 — not the dismissed transfer b2, not the suspected b0
    assert s1.dropout_rate == 57.14
    assert s1.retention_rate == 42.86
    assert (s1.target, s1.target_met) == (0.6, False)

    assert (s2.enrolled, s2.enrolled_at_start, s2.dropouts, s2.dropout_rate, s2.target_met) == (3, 3, 0, 0.0, True)
    assert (s2.completeness, s2.attendance_rate) == (0.0, None)

    total = m.total
    assert (total.enrolled, total.enrolled_at_start, total.dropouts) == (6, 10, 4)
    assert (total.dropout_rate, total.retention_rate) == (40.0, 60.0)
    assert (total.reports_filed, total.reports_expected, total.completeness) == (8, 15, 53.33)
    assert total.attendance_rate == 75.0
    assert a.dropouts == 3
    assert b.dropouts == 1


def test_dropouts_and_closed_cases_agree_with_the_case_columns_whatever_the_period(county):
    """Issue 12 item 13: a report of a past week, made today, counts this year's dropouts and closed
    cases up to today, as its case columns (and the dashboard of this week) do: a2 was verified on
    11-09, three more students after W46; one case was closed since."""
    classrooms = metrics.Classroom.objects.filter(school=county.school)
    w46 = metrics.collect(classrooms, *periods.period_bounds("2026-W46")).schools[0]
    this_week = metrics.collect(classrooms, *periods.period_bounds("2026-W48")).schools[0]
    assert w46.dropouts == this_week.dropouts == 4
    assert w46.cases == this_week.cases
    assert w46.cases["closed"] == this_week.cases["closed"] == 1


def test_completeness_counts_up_to_today(county):
    classrooms = metrics.Classroom.objects.filter(school=county.school)
    november = metrics.collect(classrooms, *periods.period_bounds("2026-11"))
    school = november.schools[0]
    assert len(november.school_days) == 18  # 11-02 … 11-25 ("today"), weekdays only
    assert (school.reports_filed, school.reports_expected, school.completeness) == (8, 36, 22.22)
    assert school.dropouts == 4
    assert school.new_suspected == 6


def test_metrics_run_a_constant_number_of_queries(county):
    start, end = periods.period_bounds(W47)
    classrooms = metrics.Classroom.objects.filter(school__county=county.county)
    with CaptureQueriesContext(connection) as before:
        metrics.collect(classrooms, start, end)
    for n in range(3):
        school = f.SchoolFactory(county=county.county)
        room = f.ClassroomFactory(grade=f.GradeFactory(school=school, level=8), number=1)
        for student in [f.StudentFactory(classroom=room) for _ in range(4)]:
            student.status = Student.Status.DROPPED_OUT if n else student.status
            student.save()
        report(room, DAYS[0], {}, by=county.bureau, enrolled=4)
    with CaptureQueriesContext(connection) as after:
        again = metrics.collect(classrooms, start, end)
    assert len(again.schools) == 5
    assert len(after.captured_queries) == len(before.captured_queries) <= 10


def test_compiled_statements_are_reused_only_for_the_same_classes_period_and_calendar(county, monkeypatch):
    """collect() keeps its compiled SQL per argument set: the same numbers come back from it, and a
    change to anything its SQL depends on (here the school days, through a closure) compiles anew."""
    metrics.forget_statements()
    start, end = periods.period_bounds(W47)
    classrooms = metrics.Classroom.objects.filter(school=county.school)
    now = timezone.now()
    with CaptureQueriesContext(connection) as first:
        fresh = metrics.collect(classrooms, start, end, as_of=now)
    assert len(metrics._statements) == 2  # the classes, and the aggregates of this period
    with CaptureQueriesContext(connection) as second:
        again = metrics.collect(classrooms, start, end, as_of=now)
    assert again.to_dict() == fresh.to_dict()
    assert [q["sql"] for q in second.captured_queries] == [q["sql"] for q in first.captured_queries]
    assert len(metrics._statements) == 2

    f.ClosureFactory(county=county.county, start_date=DAYS[1], end_date=DAYS[1])
    closed = metrics.collect(classrooms, start, end)
    assert len(metrics._statements) == 3
    school, before = closed.schools[0], fresh.schools[0]
    assert len(closed.school_days) == len(fresh.school_days) - 1
    assert school.reports_expected == before.reports_expected - school.classes
    tuesday = DailyReport.objects.filter(classroom__in=classrooms, date=DAYS[1]).count()
    assert tuesday
    assert school.reports_filed == before.reports_filed - tuesday  # Tuesday's reports no longer count

    monkeypatch.setattr(metrics, "STATEMENTS_KEPT", 2)
    metrics.collect(classrooms, *periods.period_bounds("2026-W46"))
    assert len(metrics._statements) == 2  # the oldest argument sets are dropped


def test_compiled_statements_of_queries_that_match_nothing(county):
    """A period without a school day, or no classes at all: Django answers such queries without
    asking the database (EmptyResultSet); their compiled statements do the same."""
    metrics.forget_statements()
    summer = metrics.collect(
        metrics.Classroom.objects.filter(school=county.school), dt.date(2026, 8, 3), dt.date(2026, 8, 9)
    )
    assert summer.school_days == []
    assert summer.schools[0].reports_expected == 0
    assert summer.schools[0].enrolled > 0
    nothing = metrics.collect(metrics.Classroom.objects.none(), *periods.period_bounds(W47))
    assert (nothing.schools, nothing.total.enrolled) == ([], 0)


def test_metrics_serialise_to_json(county):
    import json

    m = metrics.collect(metrics.Classroom.objects.filter(school=county.school), *periods.period_bounds(W47))
    data = json.loads(json.dumps(m.to_dict()))
    assert data["start"] == "2026-11-16"
    assert data["schools"][0]["dropout_rate"] == 57.14
    assert "辍学率" in data["formulas"]["dropout_rate"]


# --- builders and their .xlsx ---------------------------------------------------------------------


def test_class_weekly_report(county):
    result, progress = build("class_weekly", "classroom", county.class_a.pk)
    assert progress
    assert progress == sorted(progress)
    a0, _a1, a2 = county.students_a
    students = {s["name"] + str(s["id"]): s for s in result.data["students"]}
    assert len(students) == 3  # the earlier-year dropout without absence or case is not listed
    row = students[a0.name + str(a0.pk)]
    assert (row["reported_days"], row["present"], row["absent"]) == (5, 2, 3)
    assert row["absences"] == {"sick": 0, "personal": 0, "unexcused": 2, "unknown": 1}
    assert row["open_case"] == "已认定辍学"
    assert row["new_flags"] == ["[红色] 连续3个上学日旷课/不明"]
    row = students[a2.name + str(a2.pk)]
    assert (row["present"], row["absences"]["personal"], row["open_case"], row["new_flags"]) == (4, 1, "", [])
    assert result.data["summary"]["attendance_rate"] == 66.67
    assert result.row_count == 3

    ws = workbook(result)["班级周报"]
    assert "班级周报" in ws["A1"].value
    assert "2026-W47" in ws["A2"].value
    assert "数据截至" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers[:7] == ["序号", "全国学籍号", "姓名", "性别", "学籍状态", "已报告天数", "出勤天数"]
    assert ws.freeze_panes == "D4"
    assert ws.auto_filter.ref == "A3:O6"
    body = {r[1]: r for r in rows_of(ws)[:3]}
    assert body[idnumber.mask(a0.student_no)][5:11] == [5, 2, 0, 0, 2, 1]  # the 学籍号 is masked in reports
    assert ws.cell(row=4, column=2).data_type == "s"


def test_school_weekly_report(county):
    result, _ = build("school_weekly", "school", county.school.pk)
    data = result.data
    assert [d["label"] for d in data["days"]] == [
        "11-16(周一)",
        "11-17(周二)",
        "11-18(周三)",
        "11-19(周四)",
        "11-20(周五)",
    ]
    class_a, class_b = data["classes"]
    assert [c and c["present"] for c in class_a["days"]] == [2, 1, 2, 3, 2]
    assert [c and c["present"] for c in class_b["days"]] == [3, 2, 3, None, None]
    assert class_a["teachers"] == ["teacher"]
    assert data["day_totals"][1] == {"enrolled": 6, "present": 3, "classes": 2}
    assert data["summary"]["completeness"] == 80.0
    assert data["summary"]["dropout_rate"] == 57.14
    assert len(data["absentees"]) == 6
    assert {c["name"] for c in data["new_cases"]} == {s.name for s in (*county.students_a[:2], *county.students_b)}
    assert len(data["new_cases"]) == 5
    # a1's buddy (11-18); a2's tutoring and first check-in (11-16); a2's counselling is done.
    assert sorted((fu["due_on"], fu["kind"]) for fu in data["follow_ups"]) == [
        ("2026-11-16", "每周回访"),
        ("2026-11-16", "补习辅导"),
        ("2026-11-18", "互助对子"),
    ]
    assert result.row_count == 2

    wb = workbook(result)
    assert wb.sheetnames == ["在校学生登记表", "缺勤名单", "新增疑似辍学", "本周复学跟踪", "汇总"]
    ws = wb["在校学生登记表"]
    assert ws["A1"].value == "清溪镇中学 值班领导周报告 · 在校学生登记表"
    headers = [c.value for c in ws[3]]
    assert headers[:7] == ["序号", "年级", "班级", "班主任", "在读人数", "11-16(周一)应到", "11-16(周一)实到"]
    assert headers[-5:] == ["已报天数", "应报天数", "报告完成率", "出勤率", "缺勤人次"]
    assert ws.freeze_panes == "D4"
    body = rows_of(ws)
    assert body[0][:7] == [1, "七年级", county.class_a.name, "teacher", 2, 3, 2]
    assert body[1][11:15] == ["未报", "未报", "未报", "未报"]
    assert body[1][-5:-2] == [3, 5, 0.6]
    assert body[2][2] == "全校合计"
    assert round(body[2][-2], 4) == 0.75
    assert ws.auto_filter.ref == f"A3:{ws.cell(row=3, column=len(headers)).column_letter}5"
    absentees = wb["缺勤名单"]
    assert [c.value for c in absentees[3]][:6] == ["序号", "日期", "班级", "全国学籍号", "姓名", "缺勤类别"]
    first = rows_of(absentees)[0]
    assert first[1] == dt.datetime(2026, 11, 16)
    assert first[5] == "旷课"
    summary = rows_of(wb["汇总"])
    assert summary[0][2] == "清溪镇中学"
    assert any(isinstance(r[0], str) and r[0].startswith("注:辍学率 =") for r in summary)


@pytest.mark.parametrize("kind", ["county_weekly", "county_monthly"])
def test_county_reports(county, kind):
    period = W47 if kind == "county_weekly" else "2026-11"
    result, progress = build(kind, "county", county.county.pk, period)
    assert max(progress) <= 99
    data = result.data
    assert [s["name"] for s in data["schools"]] == ["清溪镇中学", "白沙乡中学"]
    first = data["schools"][0]
    assert (first["dropouts"], first["enrolled_at_start"], first["dropout_rate"], first["target_met"]) == (
        4,
        7,
        57.14,
        False,
    )
    assert data["total"]["dropout_rate"] == 40.0
    assert data["total"]["name"] == "青山县合计"
    assert data["formulas"]["retention_rate"].startswith("巩固率(简化)")
    assert result.row_count == 2

    wb = workbook(result)
    ws = wb["各校情况"]
    title = "全县周报" if kind == "county_weekly" else "全县月报"
    assert ws["A1"].value == f"青山县 控辍保学{title}(2026-2027学年)"
    headers = [c.value for c in ws[3]]
    assert headers[:4] == ["序号", "学校代码", "学校", "班级数"]
    for name in ("出勤率", "报告完成率", "疑似辍学", "已认定辍学", "劝返中", "已复学", "已销号", "逾期事项"):
        assert name in headers
    assert headers[-4:] == ["辍学率", "巩固率", "辍学率控制目标", "是否达标"]
    column = {name: i for i, name in enumerate(headers)}
    body = rows_of(ws)
    school1 = body[0]
    assert school1[column["学校"]] == "清溪镇中学"
    assert school1[column["学年初在籍人数"]] == 7
    assert school1[column["本学年辍学人数"]] == 4
    assert round(school1[column["辍学率"]], 6) == 0.5714
    assert round(school1[column["巩固率"]], 6) == 0.4286
    assert round(school1[column["辍学率控制目标"]], 6) == 0.006
    assert school1[column["是否达标"]] == "否"
    assert body[1][column["是否达标"]] == "是"
    assert body[2][column["学校"]] == "青山县合计"
    assert round(body[2][column["辍学率"]], 6) == 0.4
    notes = [r[0] for r in body[3:] if r[0]]
    assert any(n.startswith("注:辍学率 = 本学年辍学人数 ÷ 学年初在籍人数") for n in notes)
    assert any(n.startswith("注:巩固率(简化)") and "毕业人数" in n for n in notes)
    assert ws.freeze_panes == "D4"
    assert ws.auto_filter.ref == f"A3:{ws.cell(row=3, column=len(headers)).column_letter}5"  # the two schools


def test_formula_like_text_is_written_as_text(county):
    a0 = county.students_a[0]
    Absence.objects.filter(student=a0).update(note='=HYPERLINK("http://x")')
    result, _ = build("school_weekly", "school", county.school.pk)
    ws = workbook(result)["缺勤名单"]
    notes = [r[7] for r in rows_of(ws) if r[7]]
    assert notes
    assert all(n.startswith("'=") for n in notes)
    assert xlsx.cell_text("@x") == "'@x"
    assert xlsx.cell_text("张三") == "张三"


# --- API ------------------------------------------------------------------------------------------


def generate(api, user, capture, **body):
    with capture(execute=True):
        return api.as_user(user).post(reverse("api-report-generate"), body, format="json")


def test_generate_download_and_log(county, api, django_capture_on_commit_callbacks):
    answer = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47)
    assert answer.status_code == 202
    run_id = answer.data["id"]
    assert answer.data["scope"] == {"type": "school", "id": county.school.pk, "name": "清溪镇中学"}
    detail = api.get(reverse("api-report-detail", args=[run_id]))
    assert detail.status_code == 200
    body = detail.data
    assert (body["status"], body["progress"], body["row_count"]) == ("done", 100, 2)
    assert len(body["checksum"]) == 64
    assert body["data_as_of"]
    assert body["data"]["summary"]["dropout_rate"] == 57.14
    assert body["file_url"].endswith(reverse("api-report-file", args=[run_id]))

    download = api.get(reverse("api-report-file", args=[run_id]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(download.streaming_content)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames[0] == "在校学生登记表"
    log = DownloadLog.objects.get()
    assert (log.user, log.run_id, log.what, log.row_count) == (county.principal, run_id, "school_weekly", 2)
    assert log.school_id == county.school.pk

    again = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47)
    assert (again.status_code, again.data["id"]) == (202, run_id)
    newer = generate(
        api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47, regenerate=True
    )
    assert newer.status_code == 202
    assert newer.data["id"] != run_id
    assert newer.data["generation"] == 2
    old = ReportRun.objects.get(pk=run_id)
    assert (old.status, old.generation) == ("done", 1)
    listed = api.get(reverse("api-report-list"), {"kind": "school_weekly"})
    assert listed.data["count"] == 2
    assert "data" not in listed.data["results"][0]


def test_list_filters(county, api, django_capture_on_commit_callbacks):
    generate(api, county.bureau, django_capture_on_commit_callbacks, kind="county_weekly", period=W47)
    generate(
        api,
        county.bureau,
        django_capture_on_commit_callbacks,
        kind="school_weekly",
        period=W47,
        scope=county.school2.pk,
    )
    client = api.as_user(county.bureau)
    assert client.get(reverse("api-report-list")).data["count"] == 2
    assert client.get(reverse("api-report-list"), {"scope_type": "school"}).data["count"] == 1
    assert (
        client.get(reverse("api-report-list"), {"scope_id": county.school2.pk, "scope_type": "school"}).data["count"]
        == 1
    )
    assert client.get(reverse("api-report-list"), {"period": "2026-W46"}).data["count"] == 0
    assert client.get(reverse("api-report-list"), {"status": "done"}).data["count"] == 2


def test_file_of_an_unfinished_run_is_refused(county, api):
    run, _ = services.request_run(user=county.bureau, kind="county_weekly", period=W47)  # no commit: stays queued
    answer = api.as_user(county.bureau).get(reverse("api-report-file", args=[run.pk]))
    assert answer.status_code == 409
    assert not DownloadLog.objects.exists()


def test_reports_are_scoped(county, api, django_capture_on_commit_callbacks):
    answer = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47)
    run_id = answer.data["id"]
    for outsider in (county.principal2, county.teacher, county.outsider):
        client = api.as_user(outsider)
        assert client.get(reverse("api-report-detail", args=[run_id])).status_code == 404
        assert client.get(reverse("api-report-file", args=[run_id])).status_code == 404
        assert client.get(reverse("api-report-list")).data["count"] == 0
        assert client.post(reverse("api-report-sign", args=[run_id]), {}).status_code == 404
    assert api.as_user(county.bureau).get(reverse("api-report-detail", args=[run_id])).status_code == 200
    # principal2 cannot ask for the other school's report; the teacher not for the county's.
    refused = generate(
        api,
        county.principal2,
        django_capture_on_commit_callbacks,
        kind="school_weekly",
        period=W47,
        scope=county.school.pk,
    )
    assert refused.status_code == 404
    refused = generate(
        api,
        county.teacher,
        django_capture_on_commit_callbacks,
        kind="county_weekly",
        period=W47,
        scope=county.county.pk,
    )
    assert refused.status_code == 404
    assert not ReportRun.objects.filter(kind="county_weekly").exists()
    ok = generate(api, county.teacher, django_capture_on_commit_callbacks, kind="class_weekly", period=W47)
    assert ok.status_code == 202
    assert ok.data["scope"]["id"] == county.class_a.pk
    bad = generate(api, county.teacher, django_capture_on_commit_callbacks, kind="class_weekly", period="2026-11")
    assert bad.status_code == 400


def test_principal_signs_the_school_weekly_once(county, api, django_capture_on_commit_callbacks):
    run_id = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47).data[
        "id"
    ]
    assert api.as_user(county.bureau).post(reverse("api-report-sign", args=[run_id]), {}).status_code == 409
    signed = api.as_user(county.principal).post(reverse("api-report-sign", args=[run_id]), {"note": "已阅"})
    assert signed.status_code == 201
    assert signed.data["signature"]["user"] == county.principal.pk
    assert signed.data["signature"]["note"] == "已阅"
    again = api.as_user(county.principal).post(reverse("api-report-sign", args=[run_id]), {})
    assert again.status_code == 409
    assert ReportSignature.objects.count() == 1
    run = ReportRun.objects.get(pk=run_id)
    assert run.status == "done"  # signing does not touch the run


def test_only_a_finished_school_weekly_can_be_signed(county, django_capture_on_commit_callbacks):
    queued, _ = services.request_run(user=county.principal, kind="school_weekly", period="2026-W46")
    with pytest.raises(InvalidTransition):
        services.sign_run(user=county.principal, run_id=queued.pk)
    with django_capture_on_commit_callbacks(execute=True):
        county_run, _ = services.request_run(user=county.bureau, kind="county_weekly", period=W47)
    with pytest.raises(OutOfScope):
        services.sign_run(user=county.principal, run_id=county_run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        done, _ = services.request_run(user=county.principal, kind="school_weekly", period=W47)
    services.sign_run(user=county.principal, run_id=done.pk)
    with pytest.raises(Conflict):
        services.sign_run(user=county.principal, run_id=done.pk)


# --- pages ----------------------------------------------------------------------------------------


def test_report_list_page_generates_and_shows_the_run(county, client, django_capture_on_commit_callbacks):
    client.force_login(county.bureau)
    page = client.get(reverse("report-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "生成报表" in html
    assert 'value="2026-W47"' in html  # the previous ISO week by default
    assert 'data-month="2026-10"' in html
    assert f'value="school:{county.school.pk}"' in html
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("report-generate"),
            {"kind": "county_weekly", "period": W47, "scope": f"county:{county.county.pk}"},
        )
    run = ReportRun.objects.get(kind="county_weekly")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("report-detail", args=[run.pk])
    detail = client.get(answer["Location"]).content.decode()
    assert "清溪镇中学" in detail
    assert "57.14%" in detail
    assert "辍学率 = 本学年辍学人数 ÷ 学年初在籍人数" in detail
    assert "巩固率(简化)" in detail
    assert reverse("report-file", args=[run.pk]) in detail
    listed = client.get(reverse("report-list")).content.decode()
    assert f'data-run="{run.pk}"' in listed
    download = client.get(reverse("report-file", args=[run.pk]))
    assert download.status_code == 200
    assert DownloadLog.objects.filter(user=county.bureau, run=run).count() == 1


def test_detail_page_of_a_running_run_polls_the_api(county, client):
    run, _ = services.request_run(user=county.principal, kind="school_weekly", period=W47)
    ReportRun.objects.filter(pk=run.pk).update(status="running", progress=40)
    client.force_login(county.principal)
    html = client.get(reverse("report-detail", args=[run.pk])).content.decode()
    assert 'id="run-progress"' in html
    assert reverse("api-report-detail", args=[run.pk]) in html
    assert 'data-progress="40"' in html  # the script sets the width (no style attribute under the CSP)
    assert "setTimeout(poll, 2000)" in html
    assert reverse("report-file", args=[run.pk]) not in html
    assert client.get(reverse("report-file", args=[run.pk])).status_code == 404


def test_failed_run_shows_the_error_and_regenerates(county, client, django_capture_on_commit_callbacks):
    run, _ = services.request_run(user=county.principal, kind="school_weekly", period=W47)
    services.mark_failed(run.pk, "RuntimeError: 数据库连接中断")
    client.force_login(county.principal)
    html = client.get(reverse("report-detail", args=[run.pk])).content.decode()
    assert "数据库连接中断" in html
    assert "重新生成" in html
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("report-regenerate", args=[run.pk]))
    newer = ReportRun.objects.get(generation=2)
    assert answer["Location"] == reverse("report-detail", args=[newer.pk])
    assert newer.status == "done"


def test_school_weekly_page_register_and_sign(county, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.request_run(user=county.principal, kind="school_weekly", period=W47)
    client.force_login(county.principal)
    html = client.get(reverse("report-detail", args=[run.pk])).content.decode()
    assert "在校学生登记表" in html
    assert "11-16(周一)" in html
    assert "未报" in html
    assert 'id="sign-button"' in html
    answer = client.post(reverse("report-sign", args=[run.pk]), {"note": "同意上报"})
    assert answer.status_code == 302
    html = client.get(reverse("report-detail", args=[run.pk])).content.decode()
    assert 'id="sign-button"' not in html
    assert "已于" in html
    assert "同意上报" in html
    # The duty leader's colleague at the other school never sees it.
    client.force_login(county.principal2)
    assert client.get(reverse("report-detail", args=[run.pk])).status_code == 404
    assert client.post(reverse("report-sign", args=[run.pk])).status_code == 404
    assert client.get(reverse("report-file", args=[run.pk])).status_code == 404


def test_class_weekly_page_for_the_teacher(county, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.request_run(user=county.teacher, kind="class_weekly", period=W47)
    client.force_login(county.teacher)
    html = client.get(reverse("report-detail", args=[run.pk])).content.decode()
    assert county.students_a[0].name in html
    assert "66.67%" in html
    client.force_login(county.teacher2)
    assert client.get(reverse("report-detail", args=[run.pk])).status_code == 404


def test_report_download_is_logged(county, api, django_capture_on_commit_callbacks):
    run_id = generate(api, county.teacher, django_capture_on_commit_callbacks, kind="class_weekly", period=W47).data[
        "id"
    ]
    assert api.get(reverse("api-report-file", args=[run_id]), REMOTE_ADDR="10.1.2.3").status_code == 200
    log = DownloadLog.objects.get()
    assert (log.user, log.run_id, log.what, log.row_count) == (county.teacher, run_id, "class_weekly", 3)
    assert (log.school_id, log.county_id, log.ip_address) == (county.school.pk, county.county.pk, "10.1.2.3")
    assert log.params["period"] == W47


def test_generate_form_refuses_a_scope_of_the_wrong_type(county, client):
    client.force_login(county.bureau)
    answer = client.post(
        reverse("report-generate"), {"kind": "class_weekly", "period": W47, "scope": f"school:{county.school.pk}"}
    )
    assert answer["Location"] == reverse("report-list")
    assert not ReportRun.objects.exists()
    page = client.get(answer["Location"]).content.decode()
    assert "范围类型不匹配" in page


def test_generated_files_have_unguessable_paths_and_no_url_of_their_own(
    county, api, settings, django_capture_on_commit_callbacks
):
    """Issue 12, item 5: a report file is reached only through the scoped, logged download view."""
    import importlib

    from django.test import Client
    from django.urls import Resolver404, clear_url_caches, resolve

    import config.urls

    first = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period=W47)
    again = generate(api, county.principal, django_capture_on_commit_callbacks, kind="school_weekly", period="2026-W46")
    names = [ReportRun.objects.get(pk=answer.data["id"]).file.name for answer in (first, again)]
    assert names[0] != names[1]
    for name in names:
        token = name.split("/")[-2]
        assert len(token) >= 24  # 18 random bytes, URL-safe
    settings.DEBUG = True
    try:
        importlib.reload(config.urls)  # the URLconf as a DEBUG deployment builds it
        with pytest.raises(Resolver404):
            resolve(settings.MEDIA_URL + names[0], urlconf=config.urls)
        assert Client().get(settings.MEDIA_URL + names[0]).status_code == 404
    finally:
        settings.DEBUG = False
        importlib.reload(config.urls)
        clear_url_caches()


def build_file(county, kind: str) -> building.BuildResult:
    """The file of one report or ledger kind, built as the worker builds it."""
    scope = {
        ReportRun.Kind.CLASS_WEEKLY: ("classroom", county.class_a.pk),
        ReportRun.Kind.SCHOOL_WEEKLY: ("school", county.school.pk),
    }.get(kind, ("county", county.county.pk))
    period = "2026-11" if kind == ReportRun.Kind.COUNTY_MONTHLY else W47
    run = f.ReportRunFactory(
        kind=kind, period=period, scope_type=scope[0], scope_id=scope[1], scope_name="测试", requested_by=county.bureau
    )
    return services.BUILDERS[kind](run, lambda _pct: None)


@pytest.mark.parametrize("kind", list(services.BUILDERS))
def test_every_report_and_ledger_prints_on_a4_landscape_one_page_wide(county, kind):
    """Issue 12 item 17: each sheet of each file sets up its pages for printing, signing and stamping."""
    wb = workbook(build_file(county, kind))
    assert wb.worksheets
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (int(setup.paperSize), setup.orientation) == (int(ws.PAPERSIZE_A4), "landscape"), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title  # one page wide, as long as it takes
        assert ws.print_title_rows == f"${xlsx.HEADER_ROW}:${xlsx.HEADER_ROW}", ws.title
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页", ws.title
        assert ws.cell(xlsx.HEADER_ROW, 1).value  # the repeated row is the header


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
A4_LANDSCAPE = (842, 595)  # points


@pytest.mark.skipif(
    SOFFICE is None and not os.environ.get("CI"), reason="LibreOffice 未安装(make test 会安装 libreoffice-calc-nogui)"
)
@pytest.mark.parametrize("kind", list(services.BUILDERS))
def test_every_report_and_ledger_prints_to_pdf_one_page_wide(county, kind, tmp_path):
    """Issue 12 item 17, as the offices print: LibreOffice turns the file into a PDF whose every page is
    A4 landscape with "第 N 页 共 M 页" at the foot, and each table's whole header row is on a page."""
    import pypdf

    result = build_file(county, kind)
    wb = workbook(result)
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(result.content)
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    subprocess.run(
        [
            str(SOFFICE),
            "--headless",
            "--norestore",
            profile,
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pages = pypdf.PdfReader(tmp_path / f"{kind}.pdf").pages
    assert pages
    texts = ["".join(page.extract_text().split()) for page in pages]  # wrapped header cells: no spaces
    for number, (page, text) in enumerate(zip(pages, texts, strict=True), 1):
        size = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        assert size == A4_LANDSCAPE, (number, size)
        assert re.search(r"第\d+页共\d+页", text), (number, text[-80:])
    for ws in wb.worksheets:
        # One page holds every column's header: had columns spilt onto a page to the right, each
        # page would hold only its part of the header row.
        headers = ["".join(str(cell.value).split()) for cell in ws[xlsx.HEADER_ROW] if cell.value]
        missing = [[h for h in headers if h not in text] for text in texts]
        assert min(missing, key=len) == [], (ws.title, missing)
