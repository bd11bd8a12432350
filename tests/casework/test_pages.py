"""Case pages: list, detail with its action forms, the report form, the print views, scoping."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework import services
from casework.models import CaseActivity, DropoutCase, FollowUp, ReturnPlan
from students import idnumber
from students.models import Post, Student
from tests import factories as f
from tests.helpers import at

pytestmark = pytest.mark.django_db
D = dt.date
STAGES = ("suspected", "reported", "confirmed", "returning", "returned")


def _township_cadre(world, student):
    return world.cadre2 if student.village.township_id == world.other_township.pk else world.cadre


def make_case(world, student, stage: str = "suspected", *, cadre=None, target=None) -> DropoutCase:
    """A case of ``student`` driven through the services up to ``stage`` (on the current date)."""
    case = services.open_case(
        user=world.principal if student.school_id == world.school.pk else world.principal2,
        student_id=student.pk,
        form=services.ReportForm(reason="learning", last_attended_on=D(2026, 11, 2), reason_detail="厌学"),
    )
    leader = world.principal if student.school_id == world.school.pk else world.principal2
    if STAGES.index(stage) >= STAGES.index("reported"):
        services.submit_report(user=leader, case_id=case.pk)
    if STAGES.index(stage) >= STAGES.index("confirmed"):
        services.verify_case(user=world.bureau, case_id=case.pk)
    if STAGES.index(stage) >= STAGES.index("returning"):
        teacher = world.teacher if student.classroom_id == world.class_a.pk else world.teacher2
        services.make_plan(
            user=leader,
            case_id=case.pk,
            plan=services.PlanInput(
                reason_analysis="厌学,父母外出务工",
                measures=["home_visit", "tutoring"],
                method="班主任与村干部共同家访",
                target_return_on=target or D(2026, 12, 31),
                school_leader_id=leader.pk,
                class_teacher_id=teacher.pk,
                township_cadre_id=(cadre or _township_cadre(world, student)).pk,
            ),
        )
    if stage == "returned":
        services.record_return(user=leader, case_id=case.pk, returned_on=D(2026, 11, 25), placement="original")
    return DropoutCase.objects.get(pk=case.pk)


def html(response) -> str:
    return response.content.decode()


def section(page: str, element_id: str, end: str = "</form>") -> str:
    """The part of ``page`` from the element with ``element_id`` to the next ``end``."""
    rest = page[page.index(f'id="{element_id}"') :]
    return rest[: rest.index(end)]


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- scoping ----------------------------------------------------------------------------------


def test_case_pages_render_for_those_in_scope_and_404_for_everyone_else(world, term, today, client):
    case = make_case(world, world.students_a[0], "suspected")
    urls = [
        reverse("case-detail", args=[case.pk]),
        reverse("case-report", args=[case.pk]),
        reverse("case-print-report", args=[case.pk]),
    ]
    for user in (world.teacher, world.principal, world.bureau, world.cadre):  # cadre: a resident of the township
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            assert case.student.name in html(response)
        assert case.student.name in html(client.get(reverse("case-list")))
        detail = html(client.get(urls[0]))
        full_id = case.student.id_number
        assert (full_id in detail) is (user in (world.principal, world.bureau))  # masked for teachers and cadres
        assert idnumber.mask(full_id) in detail or full_id in detail
    for user in (world.teacher2, world.principal2, world.outsider):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        listing = html(client.get(reverse("case-list")))
        assert f'data-case="{case.pk}"' not in listing
        post = client.post(reverse("case-action", args=[case.pk, "submit"]))
        assert post.status_code == 404
    assert DropoutCase.objects.get(pk=case.pk).reported_on is None


def test_cadre_sees_cases_they_own_even_outside_their_township(world, term, today, client):
    # The plan names the cadre while the student lives in their township; then the family moves to
    # 白沙乡 (the other township): the cadre no longer sees the student as a resident, but owns the case.
    student = world.students_a[0]
    case = make_case(world, student, "returning")
    student.village = world.other_village
    student.save()
    client.force_login(world.cadre2)  # 白沙乡's cadre sees the new resident; the plan's owner must too
    assert client.get(reverse("case-detail", args=[case.pk])).status_code == 200
    client.force_login(world.cadre)
    page = client.get(reverse("case-detail", args=[case.pk]))
    assert page.status_code == 200
    assert "添加劝返记录" in html(page)
    assert f'data-case="{case.pk}"' in html(client.get(reverse("case-list"), {"owner": "me"}))


def test_outsider_list_is_empty_and_nav_link_only_with_a_post(world, term, today, client):
    make_case(world, world.students_a[0])
    client.force_login(world.outsider)
    page = html(client.get(reverse("case-list")))
    assert "暂无辍学个案" in page
    assert 'href="/cases/"' not in page
    client.force_login(world.teacher)
    assert 'href="/cases/"' in html(client.get(reverse("home")))


# --- opening a case ---------------------------------------------------------------------------


def test_teacher_reports_a_suspected_dropout_from_the_student_page(world, term, today, client):
    student = world.students_a[0]
    client.force_login(world.teacher)
    assert "报告疑似辍学" in html(client.get(reverse("student-detail", args=[student.pk])))
    response = client.post(reverse("case-open", args=[student.pk]))
    case = DropoutCase.objects.get(student=student)
    assert response.status_code == 302
    assert response["Location"] == reverse("case-report", args=[case.pk])
    assert case.status == "suspected"
    assert case.source == "manual"
    assert case.created_by == world.teacher

    again = client.post(reverse("case-open", args=[student.pk]), follow=True)
    text = html(again)
    assert "该学生已有未结的辍学个案" in text
    assert f'href="{case.get_absolute_url()}"' in text
    assert DropoutCase.objects.filter(student=student).count() == 1


def test_report_button_is_404_for_a_student_out_of_scope(world, term, today, client):
    client.force_login(world.teacher2)
    assert client.post(reverse("case-open", args=[world.students_a[0].pk])).status_code == 404
    client.force_login(world.cadre)  # sees the resident but may not report for the school
    response = client.post(reverse("case-open", args=[world.students_a[0].pk]), follow=True)
    assert "您的岗位不能报告疑似辍学" in html(response)
    assert not DropoutCase.objects.exists()


def test_red_flag_becomes_a_case_prefilled_from_the_evidence(world, term, today, client):
    student = world.students_a[1]
    flag = f.RiskFlagFactory(
        student=student,
        rule_code="consecutive_unexcused",
        level="red",
        evidence={"dates": ["2026-11-23", "2026-11-24", "2026-11-25"]},
        evidence_text="连续旷课3个上学日:11-23、11-24、11-25",
    )
    client.force_login(world.teacher)
    assert "一键转为疑似辍学个案" in html(client.get(reverse("risk-flag-detail", args=[flag.pk])))
    response = client.post(reverse("case-open", args=[student.pk]), {"flag": flag.pk})
    case = DropoutCase.objects.get(student=student)
    assert response["Location"] == reverse("case-report", args=[case.pk])
    assert case.source == "attendance"
    assert case.source_flag == flag
    assert case.last_attended_on == D(2026, 11, 22)
    assert "11-23、11-24、11-25" in case.measures_taken
    form = html(client.get(response["Location"]))
    assert 'value="2026-11-22"' in form


def test_yellow_flag_offers_no_case_button(world, term, today, client):
    flag = f.RiskFlagFactory(student=world.students_a[0], rule_code="r", level="yellow", evidence_text="缺勤")
    client.force_login(world.teacher)
    assert "一键转为疑似辍学个案" not in html(client.get(reverse("risk-flag-detail", args=[flag.pk])))


# --- the report form --------------------------------------------------------------------------


def test_report_form_saves_only_the_posted_fields(world, term, today, client):
    case = make_case(world, world.students_a[0])
    client.force_login(world.teacher)
    url = reverse("case-report", args=[case.pk])
    page = html(client.get(url))
    for label in (
        "最后到校日期",
        "辍学原因",
        "去向",
        "已采取措施",
        "监护人意见",
        "班主任意见",
        "教导处意见",
        "校长意见",
    ):
        assert label in page
    response = client.post(url, {"whereabouts": "working", "teacher_opinion": "建议尽快家访"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.whereabouts == "working"
    assert case.teacher_opinion == "建议尽快家访"
    assert case.reason == "learning"  # not posted, kept
    assert case.last_attended_on == D(2026, 11, 2)


def test_report_form_error_keeps_the_typed_text(world, term, today, client):
    case = make_case(world, world.students_a[0])
    client.force_login(world.teacher)
    url = reverse("case-report", args=[case.pk])
    response = client.post(url, {"last_attended_on": "2026-12-30", "family_situation": "父母离异"})
    assert response.status_code == 400
    assert "最后到校日期不能晚于今天" in messages_of(response)
    assert "父母离异" in html(response)
    response = client.post(url, {"last_attended_on": "30/11/2026"})
    assert "最后到校日期格式不正确" in messages_of(response)
    case.refresh_from_db()
    assert case.family_situation == ""
    assert case.last_attended_on == D(2026, 11, 2)


def test_report_form_is_read_only_after_verification(world, term, today, client):
    case = make_case(world, world.students_a[0], "confirmed")
    client.force_login(world.teacher)
    url = reverse("case-report", args=[case.pk])
    assert "报告表不能再修改" in html(client.get(url))
    response = client.post(url, {"reason": "poverty"})
    assert "不能修改报告表" in messages_of(response)
    assert DropoutCase.objects.get(pk=case.pk).reason == "learning"


# --- actions ----------------------------------------------------------------------------------


def action(client, case, name, data=None):
    return client.post(reverse("case-action", args=[case.pk, name]), data or {}, follow=True)


def test_submit_verify_and_dismiss_through_the_page(world, term, today, client):
    case = make_case(world, world.students_a[0])
    client.force_login(world.teacher)
    refused = action(client, case, "submit")
    assert "您的岗位不能签发报告表" in html(refused)
    assert DropoutCase.objects.get(pk=case.pk).reported_on is None

    client.force_login(world.principal)
    page = html(client.get(case.get_absolute_url()))
    assert "签发上报" in page
    assert "认定辍学" not in page  # the bureau decides
    done = action(client, case, "submit", {"note": "情况属实"})
    assert "报告表已签发并上报教育局" in html(done)
    case.refresh_from_db()
    assert case.reported_on == today
    assert case.signed_by == world.principal

    refused = action(client, case, "verify")
    assert "您的岗位不能认定辍学(须教育局)" in html(refused)
    assert DropoutCase.objects.get(pk=case.pk).status == "suspected"

    client.force_login(world.bureau)
    page = html(client.get(case.get_absolute_url()))
    assert "认定辍学" in page
    assert "转学在读" in page  # the dismiss reasons
    assert "请选择排除原因" in html(action(client, case, "dismiss", {"reason": ""}))
    assert DropoutCase.objects.get(pk=case.pk).status == "suspected"
    done = action(client, case, "verify", {"note": "经核实属实"})
    assert "已认定辍学" in html(done)
    assert DropoutCase.objects.get(pk=case.pk).status == "confirmed"
    assert Student.objects.get(pk=case.student_id).status == "dropped_out"


def test_bureau_dismisses_a_suspected_case(world, term, today, client):
    case = make_case(world, world.students_a[0], "reported")
    client.force_login(world.bureau)
    done = action(client, case, "dismiss", {"reason": "transferred", "note": "已转入外县学校"})
    assert "已排除疑似辍学" in html(done)
    case.refresh_from_db()
    assert case.status == "dismissed"
    assert case.dismiss_reason == "transferred"


def test_plan_form_offers_the_schools_people_and_the_township_cadres(world, term, today, client):
    case = make_case(world, world.students_a[0], "confirmed")
    village_cadre = f.UserFactory(username="village-cadre", display_name="石门村干部")
    f.PostFactory(user=village_cadre, role=Post.Role.CADRE, county=world.county, village=world.village)
    client.force_login(world.principal)
    page = html(client.get(case.get_absolute_url()))
    assert "制定一人一案" in page
    form = section(page, "plan-form")
    assert f'<option value="{world.principal.pk}" selected>' in section(form, "p-leader", "</select>")
    teachers = section(form, "p-teacher", "</select>")
    assert f'<option value="{world.teacher.pk}" selected>' in teachers  # the class's own teacher
    assert f'<option value="{world.teacher2.pk}"' in teachers
    assert "principal2" not in form  # another school
    assert f'<option value="{world.cadre.pk}" selected>' in section(form, "p-township", "</select>")
    assert f'<option value="{village_cadre.pk}" selected>' in section(form, "p-village", "</select>")
    for label in ("资助", "补习", "心理辅导", "家访", "法治宣传"):
        assert label in form

    data = {
        "reason_analysis": "厌学,沉迷网络",
        "measures": ["home_visit", "counselling"],
        "method": "班主任和村干部家访",
        "target_return_on": "2026-12-10",
        "school_leader": world.principal.pk,
        "class_teacher": world.teacher.pk,
        "township_cadre": world.cadre.pk,
        "village_cadre": village_cadre.pk,
    }
    assert "请选择帮扶措施" in html(action(client, case, "plan", {**data, "measures": []}))
    assert "目标返校日期不能早于今天" in html(action(client, case, "plan", {**data, "target_return_on": "2026-11-01"}))
    assert "请选择乡镇干部责任人" in html(action(client, case, "plan", {**data, "township_cadre": ""}))
    assert not ReturnPlan.objects.exists()

    done = html(action(client, case, "plan", data))
    assert "一人一案已保存(第1版)" in done
    assert DropoutCase.objects.get(pk=case.pk).status == "returning"
    plan = ReturnPlan.objects.get(case=case)
    assert plan.measures == ["home_visit", "counselling"]
    assert plan.village_cadre == village_cadre
    assert "心理辅导" in done
    assert "石门村干部" in done

    action(client, case, "plan", {**data, "method": "联合家访"})
    page = html(client.get(case.get_absolute_url()))
    assert "第2版" in page
    assert "历史版本(1)" in page


def test_activity_form_logs_a_contact_and_the_timeline_shows_it_first(world, term, today, client):
    case = make_case(world, world.students_a[0], "returning")
    client.force_login(world.teacher)
    data = {
        "occurred_on": today.isoformat(),
        "kind": "home_visit",
        "target": "both",
        "outcome": "promised",
        "participants": "班主任 teacher、村干部",
        "content": "与祖母和学生谈心,学生答应下周一返校",
        "next_step": "周一早上电话确认",
        "next_step_on": "2026-11-30",
    }
    assert "劝返日期不能晚于今天" in html(action(client, case, "activity", {**data, "occurred_on": "2026-11-26"}))
    assert "劝返日期格式不正确" in html(action(client, case, "activity", {**data, "occurred_on": "明天"}))
    assert "请填写参与人员" in html(action(client, case, "activity", {**data, "participants": " "}))
    assert not CaseActivity.objects.exists()

    response = action(client, case, "activity", data)
    assert response.redirect_chain[-1][0].endswith("#timeline")
    page = html(response)
    assert "劝返记录已保存" in page
    row = CaseActivity.objects.get(case=case)
    assert row.kind == "home_visit"
    assert row.next_step_on == D(2026, 11, 30)
    timeline = page[page.index('id="timeline-list"') :]
    first = timeline[: timeline.index("</li>")]
    assert "家访" in first
    assert "第1次劝返/跟踪" in first
    assert "承诺返校" in first
    assert "与祖母和学生谈心" in first
    assert "周一早上电话确认" in first


def test_cadre_of_the_home_township_may_log_a_contact(world, term, today, client):
    case = make_case(world, world.students_a[0], "confirmed")
    client.force_login(world.cadre)
    data = {"occurred_on": today.isoformat(), "kind": "phone", "outcome": "unreachable", "participants": "镇干部"}
    assert "劝返记录已保存" in html(action(client, case, "activity", data))


def test_escalation_is_proposed_after_three_failed_contacts(world, term, today, client):
    case = make_case(world, world.students_a[0], "returning")
    client.force_login(world.principal)
    assert 'id="form-escalate"' not in html(client.get(case.get_absolute_url()))
    refused = html(action(client, case, "escalate"))
    assert "尚未达到联合劝返条件" in refused
    for kind in ("phone", "home_visit", "interview"):
        services.add_activity(
            user=world.teacher,
            case_id=case.pk,
            activity=services.ActivityInput(occurred_on=today, kind=kind, outcome="refused", participants="班主任"),
        )
    page = html(client.get(case.get_absolute_url()))
    assert 'id="escalation-proposal"' in page
    assert "已3次劝返未果" in page
    done = html(action(client, case, "escalate"))
    assert "已升级为联合劝返" in done
    assert "乡镇牵头" in done
    assert DropoutCase.objects.get(pk=case.pk).status == "escalated"


def test_notice_is_issued_and_printed_with_the_tear_off_receipt(world, term, today, client):
    case = make_case(world, world.students_a[0], "returning")
    f.GuardianFactory(student=case.student, name="张建国", relation="父亲")
    client.force_login(world.principal)
    print_url = reverse("case-print-notice", args=[case.pk])
    early = client.get(print_url, follow=True)
    assert "尚未发出限期返校通知书" in html(early)

    client.force_login(world.teacher)
    assert "您的岗位不能发出限期返校通知书" in html(action(client, case, "notice"))
    client.force_login(world.principal)
    done = html(action(client, case, "notice", {"number": "清中〔2026〕3号"}))
    assert "已发出限期返校通知书(清中〔2026〕3号)" in done
    assert f'href="{print_url}"' in done
    case.refresh_from_db()
    assert case.notice_deadline == today + dt.timedelta(days=7)

    page = html(client.get(print_url))
    assert "限期返校通知书" in page
    assert "清中〔2026〕3号" in page
    assert "张建国(" in page
    assert "第五条" in page
    assert "第十一条" in page
    assert "《中华人民共和国义务教育法》" in page
    assert "2026年12月2日" in page  # the deadline
    assert "2026年11月2日以后未再到校上学" in page
    assert "2026年11月25日" in page  # issued
    assert world.school.name in page
    for label in ("送达回证", "送达地点", "送达时间", "受送达人签名", "送达人签名", "沿此线剪开"):
        assert label in page
    assert 'class="navbar' not in page


def test_printed_notice_dates_follow_the_language(world, term, today, client):
    case = make_case(world, world.students_a[0], "returning")
    client.force_login(world.principal)
    action(client, case, "notice", {"number": "清中〔2026〕4号"})
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = html(client.get(reverse("case-print-notice", args=[case.pk])))
    assert "December 2, 2026" in page  # the deadline
    assert "November 25, 2026" in page  # issued
    assert "2026年12月2日" not in page


def test_return_follow_up_close_and_handover(world, term, today, client):
    case = make_case(world, world.students_a[0], "returning")
    client.force_login(world.principal)
    form = section(html(client.get(case.get_absolute_url())), "form-return")
    assert f'<option value="{world.class_b.pk}">' in form  # a class of the case's school
    assert f'<option value="{world.class_c.pk}"' not in form
    assert "请选择安置方式" in html(action(client, case, "return", {"returned_on": today.isoformat()}))
    done = html(
        action(
            client,
            case,
            "return",
            {"returned_on": today.isoformat(), "placement": "inserted", "classroom": world.class_b.pk, "buddy": "王芳"},
        )
    )
    assert "已登记复学" in done
    case.refresh_from_db()
    assert case.status == "returned"
    assert case.classroom == world.class_b
    buddy = FollowUp.objects.get(case=case, kind="buddy")
    assert "互助对子" in done

    client.force_login(world.teacher)  # the plan's class teacher, although the student moved class
    response = client.post(reverse("case-follow-up-done", args=[case.pk, buddy.pk]), {"note": "已结对"}, follow=True)
    assert "跟踪事项已完成" in html(response)
    assert FollowUp.objects.get(pk=buddy.pk).done_on == today
    again = client.post(reverse("case-follow-up-done", args=[case.pk, buddy.pk]), follow=True)
    assert "该跟踪事项已完成" in html(again)
    other = make_case(world, world.students_a[1], "suspected")
    assert client.post(reverse("case-follow-up-done", args=[other.pk, buddy.pk])).status_code == 404

    assert "销号(须教育局)" in html(action(client, case, "close"))
    client.force_login(world.bureau)
    refused = html(action(client, case, "close"))
    assert "须满20个上学日方可销号" in refused
    assert DropoutCase.objects.get(pk=case.pk).status == "returned"

    form = section(html(client.get(case.get_absolute_url())), "form-handover")
    assert f'<option value="{world.class_c.pk}">' in form  # handover targets: other schools of the county
    assert f'<option value="{world.class_b.pk}">' not in form
    done = html(action(client, case, "handover", {"classroom": world.class_c.pk, "note": "随父母转学"}))
    assert "个案已移交接收学校" in done
    case.refresh_from_db()
    assert case.school == world.school2


def test_unknown_action_is_404_and_actions_need_post(world, term, today, client):
    case = make_case(world, world.students_a[0])
    client.force_login(world.principal)
    assert client.post(reverse("case-action", args=[case.pk, "delete"])).status_code == 404
    assert client.get(reverse("case-action", args=[case.pk, "submit"])).status_code == 405


# --- the list ---------------------------------------------------------------------------------


def test_list_filters_by_status_overdue_owner_and_name(world, term, client):
    with at(D(2026, 11, 2)):
        late = make_case(world, world.students_a[0], "returning")  # contact due 11-11, overdue on 11-25
    with at(D(2026, 11, 25)):
        fresh = make_case(world, world.students_a[1], "suspected")
        mine_elsewhere = make_case(world, world.students_b[0], "returning")
        client.force_login(world.principal)
        url = reverse("case-list")

        def listed(**params):
            page = html(client.get(url, params))
            return {c.pk for c in (late, fresh, mine_elsewhere) if f'data-case="{c.pk}"' in page}

        assert listed() == {late.pk, fresh.pk, mine_elsewhere.pk}
        assert listed(status="suspected") == {fresh.pk}
        assert listed(status="returning") == {late.pk, mine_elsewhere.pk}
        assert listed(overdue="1") == {late.pk}
        assert listed(q=late.student.name) >= {late.pk}
        assert listed(q=fresh.student.student_no) == {fresh.pk}
        client.force_login(world.teacher)
        assert listed(owner="me") == {late.pk}
        client.force_login(world.principal)

        page = html(client.get(url, {"overdue": "1"}))
        row = page[page.index(f'data-case="{late.pk}"') :]
        row = row[: row.index("</tr>")]
        assert "劝返联系" in row
        assert "逾期" in row
        assert "teacher" in row  # the plan's owners
        tabs = page[page.index('id="status-tabs"') :]
        tabs = tabs[: tabs.index("</ul>")]
        assert "劝返中 <span" in tabs
        assert 'href="?overdue=1&amp;status=returning"' in tabs
        assert "没有符合条件的个案" in html(client.get(url, {"status": "closed"}))

        tabs = section(html(client.get(url)), "status-tabs", "</ul>")
        for label, count in (("全部", 3), ("疑似辍学", 1), ("劝返中", 2), ("已销号", 0)):
            assert f'{label} <span class="badge text-bg-secondary">{count}</span>' in tabs.replace(
                "text-bg-light", "text-bg-secondary"
            ), label


def test_list_makes_the_same_number_of_queries_for_3_and_20_cases(world, term, today, client):
    students = [f.StudentFactory(classroom=world.class_a, village=world.village) for _ in range(20)]
    client.force_login(world.principal)

    def build(batch):
        for i, student in enumerate(batch):
            case = make_case(world, student, "returning" if i % 2 else "suspected")
            if i % 2:
                services.add_activity(
                    user=world.teacher,
                    case_id=case.pk,
                    activity=services.ActivityInput(
                        occurred_on=D(2026, 11, 25), kind="phone", outcome="promised", participants="班主任"
                    ),
                )

    def count_queries():
        client.get(reverse("home"))  # warm the session and the scope caches alike
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("case-list"), {"overdue": "", "owner": ""})
        assert response.status_code == 200
        return len(queries), html(response).count("data-case=")

    build(students[:3])
    few, rows = count_queries()
    assert rows == 3
    build(students[3:])
    many, rows = count_queries()
    assert rows == 20
    assert many == few
    assert few <= 12, few


# --- print views ------------------------------------------------------------------------------


def test_print_report_has_the_paper_form_fields_and_masks_the_id_for_teachers(world, term, today, client):
    case = make_case(world, world.students_a[0], "reported")
    f.GuardianFactory(
        student=case.student, name="张建国", relation="父亲", employer="广东东莞某厂", phone="13912345678"
    )
    full_id = case.student.id_number
    url = reverse("case-print-report", args=[case.pk])
    client.force_login(world.teacher)
    page = html(client.get(url))
    for label in (
        "辍学学生情况报告表",
        "学校",
        "班级",
        "姓名",
        "性别",
        "出生年月",
        "身份证号",
        "学籍号",
        "家庭住址",
        "监护人",
        "关系",
        "工作单位",
        "联系电话",
        "最后到校日期",
        "未到校天数",
        "辍学原因",
        "去向",
        "已采取措施",
        "监护人意见",
        "班主任意见",
        "教导处意见",
        "校长意见",
        "校长签名",
        "报告日期",
        "(学校盖章)",
    ):
        assert label in page, label
    assert idnumber.mask(full_id) in page
    assert full_id not in page
    assert "广东东莞某厂" in page
    assert "学习困难/厌学" in page
    assert "2026年11月25日" in page  # reported today
    assert "css/print.css" in page
    assert 'class="navbar' not in page
    assert "<td>17 天</td>" in page.replace("\n", "")  # school days 11-03 … 11-25

    client.force_login(world.principal)
    assert full_id in html(client.get(url))


def test_list_paginates_and_keeps_the_filters(world, term, today, client, monkeypatch):
    monkeypatch.setattr("casework.views.PAGE_SIZE", 2)
    for student in world.students_a:
        make_case(world, student)
    client.force_login(world.principal)
    first = html(client.get(reverse("case-list"), {"status": "suspected"}))
    assert first.count("data-case=") == 2
    assert "第 1 / 2 页,共 3 条" in first
    assert 'href="?status=suspected&amp;page=2"' in first
    assert "{#" not in first
    second = html(client.get(reverse("case-list"), {"status": "suspected", "page": "2"}))
    assert second.count("data-case=") == 1


def test_home_lists_the_cases_i_own(world, case_in, client):
    case = case_in("returning")  # plan owners: principal, teacher, cadre
    client.force_login(world.cadre)
    html = client.get("/").content.decode()
    assert "我负责的个案" in html
    assert case.get_absolute_url() in html
    client.force_login(world.teacher2)
    assert "我负责的个案" not in client.get("/").content.decode()
