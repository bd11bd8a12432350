"""Screening (排查摸底): import a household register, compare it with 学籍 and 在校, resolve the unmatched."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from casework.screening import selectors, services
from casework.screening.services import ResolutionInput
from students.errors import ImportRejected, InvalidInput, InvalidTransition, OutOfScope
from students.models import Student
from tests import factories as f
from tests import screening_files as files
from tests.helpers import report

OUT = ScreeningOutcome
LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # before Wednesday 25 November
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def register(world, term, today):
    """A register of 石门村 and 柳树村 with every outcome (see each row), and the reports behind it."""
    a0, a1, _a2 = world.students_a  # all live in 石门村 (the cadre's township 清溪镇)
    b0 = world.students_b[0]  # lives in 柳树村 (白沙乡)
    for day in LAST_FIVE:
        report(world.class_a, day, [a1], by=world.teacher)
    rows = [
        files.of_student(a0),  # 在读且在校
        files.of_student(a1),  # 名在人不在: absent on the last five school days
        # a2 is not on the register: 在籍不在册
        files.person("王小花", dt.date(2014, 3, 2), female=True, sequence=11),  # 未在本县学籍
        files.person("王小草", dt.date(2012, 8, 31), sequence=12),  # another one, for the cadre to resolve
        # b0 with another number (a typo in one office or the other): only a suggestion
        files.person(b0.name, b0.birth_date, village="柳树村", sequence=13),
        files.person("王小宝", dt.date(2021, 3, 1), sequence=14),  # 5 years old: not screened
        files.person("王大山", dt.date(1985, 1, 1), relation="户主", sequence=15),  # an adult: not screened
        files.person("刚满六岁", dt.date(2020, 8, 31), sequence=16),  # 6 on 31 August: of age
        files.person("差一天", dt.date(2020, 9, 1), sequence=17),  # 6 on 1 September: not yet
    ]
    return rows


def by_name(run) -> dict[str, ScreenedChild]:
    return {child.name: child for child in ScreenedChild.objects.filter(run=run)}


def test_each_outcome_of_a_hand_made_register(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))
    assert run.status == ScreeningRun.Status.DONE, run.errors
    assert run.cutoff_on == dt.date(2026, 8, 31)
    children = by_name(run)
    a0, a1, a2 = world.students_a
    b0 = world.students_b[0]
    assert children[a0.name].outcome == OUT.ATTENDING
    assert children[a0.name].student == a0
    assert children[a0.name].match_method == ScreenedChild.MatchMethod.ID_NUMBER
    absent = [c for c in children.values() if c.student == a1]
    assert len(absent) == 1
    assert absent[0].outcome == OUT.ENROLLED_ABSENT
    assert "11-18至11-24" in absent[0].evidence_text
    assert ScreenedChild.objects.get(run=run, student=a2).outcome == OUT.NOT_REGISTERED
    assert children["王小花"].outcome == OUT.NOT_ENROLLED
    assert children["王小花"].student is None
    suggested = [c for c in children.values() if c.suggested_student == b0]
    assert len(suggested) == 1
    assert suggested[0].outcome == OUT.NOT_ENROLLED
    assert suggested[0].suggestion == ScreenedChild.Suggestion.PENDING
    assert suggested[0].student is None
    assert "王小宝" not in children
    assert "王大山" not in children
    assert children["刚满六岁"].age == 6
    assert "差一天" not in children
    assert run.counts["register_rows"] == 9
    assert run.counts["not_of_age"] == 3
    counts = selectors.outcome_counts(selectors.children_visible_to(world.bureau).filter(run=run))
    assert counts[OUT.ATTENDING] == 1, counts
    assert counts[OUT.NOT_ENROLLED] == 4  # 王小花, 王小草, the suggested child, 刚满六岁
    assert counts[OUT.ENROLLED_ABSENT] == 1
    # Enrolled students of the register's two villages it does not list: a2 and c2 (石门村), b1, b2, c0, c1 (柳树村).
    assert counts[OUT.NOT_REGISTERED] == 6
    assert counts["suggested"] == 1


def test_a_gbk_csv_and_a_utf8_bom_csv_give_the_same_children_as_the_xlsx(world, register, run_import):
    results = []
    for upload in (
        files.xlsx(register),
        files.csv_file(register, encoding="gbk"),
        files.csv_file(register, encoding="utf-8", bom=True),
        files.csv_file(register, encoding="utf-8"),
    ):
        run = run_import(world.bureau, upload)
        assert run.status == ScreeningRun.Status.DONE, run.errors
        rows = ScreenedChild.objects.filter(run=run).order_by("name", "id_number")
        results.append([(c.name, c.id_number, c.outcome, c.suggestion, c.village_id) for c in rows])
    assert results[0] == results[1] == results[2] == results[3]
    formats = list(ScreeningRun.objects.order_by("pk").values_list("file_format", flat=True))
    assert formats == ["Excel (.xlsx)", "CSV GBK", "CSV UTF-8 (BOM)", "CSV UTF-8"]


def test_a_bad_id_number_rejects_the_whole_file_and_writes_nothing(world, register, run_import):
    register[3][files.register.ID_NUMBER] = register[3][files.register.ID_NUMBER][:17] + (
        "0" if register[3][files.register.ID_NUMBER][17] != "0" else "1"
    )
    register[4][files.register.BIRTH_DATE] = "2012-09-01"  # the ID says 2012-08-31
    register[5][files.register.VILLAGE] = "不存在村"
    run = run_import(world.bureau, files.csv_file(register, encoding="gbk"))
    assert run.status == ScreeningRun.Status.REJECTED
    assert not ScreenedChild.objects.exists()
    assert not Student.objects.filter(status=Student.Status.NOT_ENROLLED).exists()
    errors = {(e["row"], e["field"]): e["message"] for e in run.errors}
    assert "校验位" in errors[(5, "身份证号")]
    assert "不一致" in errors[(6, "出生日期")]
    assert "不存在村" in errors[(7, "村(社区)")]
    assert run.error_count == 3
    assert "未写入任何数据" in run.error


def test_duplicate_id_numbers_within_the_file_are_refused(world, register, run_import):
    register.append(dict(register[2], **{files.register.NAME: "王小花二"}))
    run = run_import(world.bureau, files.xlsx(register))
    assert run.status == ScreeningRun.Status.REJECTED
    assert run.errors == [{"row": len(register) + 1, "field": "身份证号", "message": "身份证号与第4行重复"}]
    assert not ScreenedChild.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("名单.txt", b"abc", "格式错误"),
        ("名单.xlsx", b"not a zip", "不是 Excel 文件"),
        ("名单.csv", b"", "文件为空"),
        ("名单.csv", "\ufeff".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_file_that_cannot_be_a_register_is_refused_at_once_and_nothing_is_kept(world, today, name, content, message):
    with pytest.raises(ImportRejected) as refused:
        services.start_import(user=world.bureau, upload=SimpleUploadedFile(name, content))
    assert message in refused.value.details[0]["message"]
    assert not ScreeningRun.objects.exists()


def test_a_file_over_the_size_limit_is_refused(world, today, settings):
    settings.SCREENING_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ImportRejected, match="导入失败") as refused:
        services.start_import(user=world.bureau, upload=SimpleUploadedFile("名单.csv", b"x" * 1001))
    assert "超过" in refused.value.details[0]["message"]


def test_only_the_bureau_imports(world, register, today):
    for user in (world.principal, world.cadre, world.teacher, world.outsider):
        with pytest.raises(OutOfScope):
            services.start_import(user=user, upload=files.xlsx(register))


def test_a_rejected_suggestion_stays_unmatched_and_the_student_is_not_on_the_register(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))
    b0 = world.students_b[0]
    child = ScreenedChild.objects.get(run=run, suggested_student=b0)
    assert not ScreenedChild.objects.filter(run=run, student=b0).exists()
    services.reject_suggestion(user=world.cadre2, child_id=child.pk)
    child.refresh_from_db()
    assert child.suggestion == ScreenedChild.Suggestion.REJECTED
    assert child.outcome == OUT.NOT_ENROLLED
    assert child.student is None
    assert child.needs_resolution
    listed = ScreenedChild.objects.get(run=run, student=b0)
    assert listed.outcome == OUT.NOT_REGISTERED
    with pytest.raises(InvalidTransition):
        services.confirm_suggestion(user=world.cadre2, child_id=child.pk)


def test_a_confirmed_suggestion_matches_the_student(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))
    b0 = world.students_b[0]
    child = ScreenedChild.objects.get(run=run, suggested_student=b0)
    with pytest.raises(OutOfScope):  # the cadre of another township does not see the child
        services.confirm_suggestion(user=world.cadre, child_id=child.pk)
    services.confirm_suggestion(user=world.bureau, child_id=child.pk)
    child.refresh_from_db()
    assert child.student == b0
    assert child.match_method == ScreenedChild.MatchMethod.SUGGESTION
    assert child.outcome == OUT.ATTENDING
    assert child.school == world.school
    assert child.history.first().history_user == world.bureau


def test_a_child_turning_six_on_1_september_is_not_of_age_and_on_31_august_is(world, term, run_import, today):
    rows = [
        files.person("八月生", dt.date(2020, 8, 31), sequence=21),
        files.person("九月生", dt.date(2020, 9, 1), sequence=22),
        files.person("十五岁", dt.date(2010, 9, 1), sequence=23),  # 15 on 31 August 2026
        files.person(
            "十六岁", dt.date(2010, 8, 31), sequence=24
        ),  # 16, and enrolled nowhere: done with compulsory school
    ]
    run = run_import(world.bureau, files.xlsx(rows))
    listed = ScreenedChild.objects.filter(run=run).exclude(outcome=OUT.NOT_REGISTERED)
    assert sorted(listed.values_list("name", flat=True)) == ["八月生", "十五岁"]


def test_an_older_child_still_in_compulsory_school_is_screened(world, term, run_import, today):
    older = f.StudentFactory(classroom=world.class_a, village=world.village, birth_date=dt.date(2009, 6, 1))
    older.id_number = f.idnumber.make_id_number("431226", dt.date(2009, 6, 1), 7, False)
    older.save()
    run = run_import(world.bureau, files.xlsx([files.of_student(older)]))
    child = ScreenedChild.objects.get(run=run, row_number=2)
    assert child.age == 17
    assert child.student == older
    assert child.outcome == OUT.ATTENDING


def _pdf(name="在读证明.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_the_cadre_resolves_a_child_studying_elsewhere_with_a_scan(world, register, run_import, media):
    run = run_import(world.bureau, files.xlsx(register))
    child = ScreenedChild.objects.get(run=run, name="王小花")
    with pytest.raises(InvalidInput, match="在读证明"):
        services.resolve(
            user=world.cadre, child_id=child.pk, data=ResolutionInput(Resolution.ELSEWHERE, "广州市某小学", "广州")
        )
    with pytest.raises(InvalidInput, match="就读学校和所在地"):
        services.resolve(
            user=world.cadre, child_id=child.pk, data=ResolutionInput(Resolution.ELSEWHERE, evidence=_pdf())
        )
    with pytest.raises(InvalidInput, match="PDF"):
        services.resolve(
            user=world.cadre,
            child_id=child.pk,
            data=ResolutionInput(
                Resolution.ELSEWHERE, "广州市某小学", "广州", evidence=SimpleUploadedFile("a.png", b"\x89PNG")
            ),
        )
    assert not list(media.rglob("evidence/*"))  # nothing of the refused files was kept
    with pytest.raises(OutOfScope):
        services.resolve(
            user=world.cadre2,
            child_id=child.pk,
            data=ResolutionInput(Resolution.ELSEWHERE, "广州市某小学", "广州", evidence=_pdf()),
        )
    services.resolve(
        user=world.cadre,
        child_id=child.pk,
        data=ResolutionInput(Resolution.ELSEWHERE, "广州市某小学", "广州", evidence=_pdf()),
    )
    child.refresh_from_db()
    assert child.resolution == Resolution.ELSEWHERE
    assert child.resolved_by == world.cadre
    assert child.evidence_name == "在读证明.pdf"
    assert child.evidence.read() == PDF
    assert child.resolved_on == dt.date(2026, 11, 25)


def test_out_of_school_opens_a_suspected_case_from_screening(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))
    child = ScreenedChild.objects.get(run=run, name="王小草")
    with pytest.raises(InvalidInput, match="负责劝返的学校"):
        services.resolve(user=world.cadre, child_id=child.pk, data=ResolutionInput(Resolution.OUT_OF_SCHOOL))
    with pytest.raises(InvalidInput):  # school2 lies in another township: not the cadre's to choose
        services.resolve(
            user=world.cadre,
            child_id=child.pk,
            data=ResolutionInput(Resolution.OUT_OF_SCHOOL, responsible_school_id=world.school2.pk),
        )
    services.resolve(
        user=world.cadre,
        child_id=child.pk,
        data=ResolutionInput(Resolution.OUT_OF_SCHOOL, note="在家务农", responsible_school_id=world.school.pk),
    )
    child.refresh_from_db()
    case = child.case
    assert case is not None
    assert case.source == DropoutCase.Source.SCREENING
    assert case.status == DropoutCase.Status.SUSPECTED
    assert case.school == world.school
    student = case.student
    assert student.status == Student.Status.NOT_ENROLLED
    assert student.student_no == ""
    assert student.id_number == child.id_number
    assert student.classroom is None
    assert student.village == world.village
    assert student.guardians.get().phone == "13800000000"
    assert case.events.get().by == world.cadre
    from casework.selectors import cases_visible_to

    assert cases_visible_to(world.bureau).filter(pk=case.pk).exists()
    assert cases_visible_to(world.principal).filter(pk=case.pk).exists()
    assert not cases_visible_to(world.principal2).filter(pk=case.pk).exists()
    with pytest.raises(InvalidTransition):  # a case was opened: it is followed there
        services.resolve(user=world.cadre, child_id=child.pk, data=ResolutionInput(Resolution.MIGRANT, place="广州"))
    # Not on any roll: the school's enrolled count is unchanged.
    assert not Student.objects.filter(school=world.school, status=Student.Status.ENROLLED, pk=student.pk).exists()


def test_an_enrolled_but_absent_child_is_reported_as_a_suspected_case(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))
    a1 = world.students_a[1]
    child = ScreenedChild.objects.get(run=run, student=a1)
    with pytest.raises(OutOfScope):
        services.report_absent(user=world.principal2, child_id=child.pk)
    services.report_absent(user=world.teacher, child_id=child.pk)
    child.refresh_from_db()
    assert child.case.source == DropoutCase.Source.SCREENING
    assert child.case.student == a1
    with pytest.raises(InvalidTransition):
        services.report_absent(user=world.teacher, child_id=child.pk)
    attending = ScreenedChild.objects.get(run=run, student=world.students_a[0])
    with pytest.raises(InvalidTransition):
        services.report_absent(user=world.teacher, child_id=attending.pk)


def test_who_sees_which_children(world, register, run_import):
    run = run_import(world.bureau, files.xlsx(register))

    def names(user):
        return set(selectors.children_visible_to(user).filter(run=run).values_list("name", flat=True))

    everyone = set(ScreenedChild.objects.filter(run=run).values_list("name", flat=True))
    assert names(world.bureau) == everyone
    cadre = selectors.children_visible_to(world.cadre).filter(run=run)
    assert set(cadre.values_list("village_id", flat=True)) == {world.village.pk}
    assert {"王小花", "王小草", "刚满六岁"} <= names(world.cadre)
    principal = selectors.children_visible_to(world.principal).filter(run=run)
    assert principal.exists()
    assert not principal.filter(student__isnull=True).exists()
    assert set(principal.values_list("school_id", flat=True)) == {world.school.pk}
    teacher2 = selectors.children_visible_to(world.teacher2).filter(run=run)
    assert set(teacher2.values_list("classroom_id", flat=True)) == {world.class_b.pk}
    assert not names(world.outsider)
    counts = selectors.outcome_counts(selectors.children_visible_to(world.principal).filter(run=run))
    assert counts[OUT.NOT_ENROLLED] == 0
    assert counts["suggested"] == 0


def test_admin_lists_children_in_scope_with_masked_numbers_for_masked_staff(world, register, run_import, client):
    from django.urls import reverse

    run = run_import(world.bureau, files.xlsx(register))
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get(reverse("admin:casework_screeningrun_changelist")).status_code == 200
    child = ScreenedChild.objects.get(run=run, name="王小花")
    assert child.id_number in client.get(reverse("admin:casework_screenedchild_changelist")).content.decode()
    world.cadre.is_staff = True
    world.cadre.save()
    from django.contrib.auth.models import Permission

    world.cadre.user_permissions.add(Permission.objects.get(codename="view_screenedchild"))
    client.force_login(world.cadre)
    page = client.get(reverse("admin:casework_screenedchild_changelist")).content.decode()
    assert "王小花" in page
    assert child.id_number not in page
    assert child.id_number[-4:] in page
    other = ScreenedChild.objects.filter(run=run, village=world.other_village).first()
    assert client.get(reverse("admin:casework_screenedchild_change", args=[other.pk])).status_code == 302


def test_a_child_found_out_of_school_goes_through_the_case_workflow_into_a_class(world, register, run_import):
    from casework import services as case_services
    from tests.helpers import plan_input

    run = run_import(world.bureau, files.xlsx(register))
    child = ScreenedChild.objects.get(run=run, name="王小草")
    services.resolve(
        user=world.cadre,
        child_id=child.pk,
        data=ResolutionInput(Resolution.OUT_OF_SCHOOL, responsible_school_id=world.school.pk),
    )
    case = ScreenedChild.objects.get(pk=child.pk).case
    with pytest.raises(InvalidInput, match="辍学原因"):  # never at school: the last day is not asked for
        case_services.submit_report(user=world.principal, case_id=case.pk)
    case_services.update_report(user=world.principal, case_id=case.pk, changes={"reason": "poverty"})
    case_services.submit_report(user=world.principal, case_id=case.pk)
    case_services.verify_case(user=world.bureau, case_id=case.pk)
    assert Student.objects.get(pk=case.student_id).status == Student.Status.DROPPED_OUT
    case_services.make_plan(user=world.principal, case_id=case.pk, plan=plan_input(world, student=case.student))
    with pytest.raises(InvalidInput, match="安置班级"):
        case_services.record_return(
            user=world.principal, case_id=case.pk, returned_on=dt.date(2026, 11, 25), placement="inserted"
        )
    case_services.record_return(
        user=world.principal,
        case_id=case.pk,
        returned_on=dt.date(2026, 11, 25),
        placement="inserted",
        classroom_id=world.class_a.pk,
    )
    student = Student.objects.get(pk=case.student_id)
    assert student.status == Student.Status.ENROLLED
    assert student.classroom == world.class_a
