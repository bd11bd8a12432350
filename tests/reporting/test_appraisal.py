"""The appraisal (issue 13, item 6): metrics, findings, 无辍班 and the 一票否决 with its reason."""

import datetime as dt
import io

import openpyxl
import pytest

from accountability.findings import services as findings
from accountability.policy import policy_for
from casework import services as case_services
from reporting import appraisal, compliance
from reporting.models import DownloadLog
from students.models import School
from tests.helpers import at

pytestmark = pytest.mark.django_db
D = dt.date
URL = "/api/v1/appraisals/"
TERM = (D(2026, 9, 1), D(2026, 11, 25))


@pytest.fixture
def dropout(world, term, today):
    """A confirmed dropout in class A (school 1): its rate, 1 of 6, is far over the 0.60% target."""
    with at(D(2026, 11, 16)):
        case = case_services.open_case(
            user=world.principal,
            student_id=world.students_a[0].pk,
            form=case_services.ReportForm(reason="work", last_attended_on=D(2026, 11, 13)),
        )
        case_services.submit_report(user=world.principal, case_id=case.pk)
        case_services.verify_case(user=world.bureau, case_id=case.pk)
    return case


def appraise(world):
    result = compliance.collect(School.objects.filter(county=world.county), *TERM)
    return appraisal.appraise(result, label="2026-2027 秋季学期")


def school_row(found, school):
    return next(a for a in found.schools if a.row.key == school.pk)


def person_row(found, user):
    return next(a for a in found.people if a.row.key == user.pk)


def test_a_school_over_its_dropout_target_is_vetoed_with_the_reason(world, dropout):
    found = appraise(world)
    first = school_row(found, world.school)
    assert first.veto is True
    assert "辍学率 16.67% 超过控制目标 0.60%" in first.veto_reason
    assert first.conclusion.startswith("一票否决:")
    assert first.no_dropout is False
    second = school_row(found, world.school2)
    assert (second.veto, second.veto_reason) == (False, "")
    assert second.no_dropout is True


def test_an_accepted_rectification_of_the_dropout_rate_lifts_the_veto(world, dropout, today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    finding = findings.issue_finding(
        user=world.bureau, school_id=world.school.pk, facts="辍学率超标", source="metric", metric="dropout_rate"
    )
    assert school_row(appraise(world), world.school).findings_open == 1
    assert school_row(appraise(world), world.school).veto is True  # issued, not yet rectified
    findings.answer_finding(user=world.principal, finding_id=finding.pk, answer="已劝返并落实帮扶")
    findings.accept_finding(user=world.bureau, finding_id=finding.pk)
    first = school_row(appraise(world), world.school)
    assert (first.veto, first.findings, first.findings_accepted) == (False, 1, 1)
    assert "辍学率" in first.conclusion  # still not met, and said so
    assert first.conclusion.startswith("未全部达标")


def test_the_county_may_switch_the_school_veto_off(world, dropout):
    policy = policy_for(world.county.pk)
    policy.veto_on_dropouts_over_target = False
    policy.save()
    assert school_row(appraise(world), world.school).veto is False


def test_a_fault_recorded_by_the_bureau_vetoes_the_teacher(world, dropout, today):
    findings.record_fault(
        user=world.bureau, person_id=world.teacher.pk, case_id=dropout.pk, reason="连续5天未报告缺勤,未家访"
    )
    found = appraise(world)
    teacher = person_row(found, world.teacher)
    assert teacher.veto is True
    assert world.students_a[0].name in teacher.veto_reason
    assert "未家访" in teacher.veto_reason
    assert person_row(found, world.teacher2).veto is False
    policy = policy_for(world.county.pk)
    policy.veto_on_teacher_fault = False
    policy.save()
    assert person_row(appraise(world), world.teacher).veto is False


def test_the_api_is_scoped_and_the_xlsx_reads_back(world, dropout, term, api):
    answer = api.as_user(world.bureau).get(URL, {"term": term.pk})
    assert answer.status_code == 200
    body = answer.json()
    assert {row["name"] for row in body["schools"]} == {world.school.name, world.school2.name}
    vetoed = next(row for row in body["schools"] if row["id"] == world.school.pk)
    assert vetoed["veto"] is True
    assert vetoed["veto_reason"]
    assert body["veto_rules"]
    mine = api.as_user(world.principal2).get(URL).json()
    assert [row["id"] for row in mine["schools"]] == [world.school2.pk]
    own = api.as_user(world.teacher).get(URL).json()
    assert own["schools"] == []
    assert [row["id"] for row in own["people"]] == [world.teacher.pk]
    assert api.as_user(world.cadre).get(URL).json()["schools"] == []
    assert api.as_user(world.bureau).get(URL, {"term": 99999}).status_code == 404
    assert api.as_user(world.bureau).get(URL, {"term": "abc"}).status_code == 400

    download = api.as_user(world.bureau).get("/api/v1/appraisals.xlsx", {"term": term.pk})
    assert download.status_code == 200
    assert download["Cache-Control"] == "no-store"
    wb = openpyxl.load_workbook(io.BytesIO(download.content))
    assert wb.sheetnames == ["学校考核", "班主任考核"]
    ws = wb["学校考核"]
    headers = [cell.value for cell in ws[3]]
    assert headers[:2] == ["序号", "学校"]
    assert "一票否决" in headers
    rows = {row[1]: row for row in ws.iter_rows(min_row=4, values_only=True) if row[0]}
    first = rows[world.school.name]
    assert first[headers.index("一票否决")] == "是"
    assert "超过控制目标" in first[headers.index("考核结论")]
    assert rows[world.school2.name][headers.index("一票否决")] == "否"
    assert ws.page_setup.orientation == "landscape"
    assert DownloadLog.objects.filter(user=world.bureau, what="appraisal").count() == 1
