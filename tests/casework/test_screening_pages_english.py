"""The screening pages (排查比对) in English: the bureau switches the language (the i18n set_language
view, as a user does) and the runs page, a run's children and a child's page show the English
catalogue's terms, not the Chinese headings they translate."""

import datetime as dt

import pytest
from django.urls import reverse

from casework.models import ScreenedChild, ScreeningRun
from tests import screening_files as files
from tests.helpers import report

pytestmark = pytest.mark.django_db

LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # before Wednesday 25 November
RUNS = reverse("screening:runs")


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# The minimal fixture of tests/casework/test_screening_pages.py: one register with every outcome.


@pytest.fixture
def rows(world, term, today):
    a0, a1, _a2 = world.students_a
    b0 = world.students_b[0]
    for day in LAST_FIVE:
        report(world.class_a, day, [a1], by=world.teacher)
    return [
        files.of_student(a0),  # 在读且在校
        files.of_student(a1),  # 名在人不在
        files.person("王小花", dt.date(2014, 3, 2), female=True, sequence=11),  # 未在本县学籍
        files.person(b0.name, b0.birth_date, village="柳树村", head="柳大树", sequence=14),  # a suggestion of b0
    ]


@pytest.fixture
def run(world, rows, run_import):
    run = run_import(world.bureau, files.xlsx(rows))
    assert run.status == ScreeningRun.Status.DONE, run.errors
    return run


@pytest.fixture
def english(client, world):
    """The bureau, logged in, with English chosen through the language switch."""
    client.force_login(world.bureau)
    response = client.post(reverse("set_language"), {"language": "en", "next": RUNS})
    assert response.status_code == 302
    return client


def assert_english(page: str, english: list[str], chinese: list[str]) -> None:
    assert 'lang="en"' in page
    for text in english:
        assert text in page, text
    for text in chinese:
        assert text not in page, text


def test_the_runs_page_in_english(english, run):
    page = html(english.get(RUNS))
    assert run.title in page
    assert_english(
        page,
        [
            "<title>Screening",
            'id="nav-screening" href="/screening/" title="Screening"',
            "household register",
            "Download household register template (.xlsx)",
            "Import a household register",
            "Household register (.xlsx or .csv, UTF-8 or GBK, up to ",
            "Age cut-off date",
            "Upload and compare",
            "Batch",
            "Children compared",
            "Awaiting verification",
            "Enrolled but absent",
        ],
        [
            "排查比对",
            "下载户籍名单模板",
            "导入户籍名单",
            "年龄计算截止日",
            "上传并比对",
            "比对儿童",
            "待核实",
            "名在人不在",
            "四查三比对",
        ],
    )


def test_a_run_and_its_children_in_english(english, run):
    page = html(english.get(run.get_absolute_url()))
    assert_english(
        page,
        [
            "Ledger of school-age children",
            "Enrolled and attending",
            "Enrolled but absent",
            "Not enrolled in the county",
            "Enrolled but not on the register",
            "Verification progress (by township and village)",
            "Suggested match to confirm",
            "All outcomes",
            "All resolutions",
            "Head of household",
            "Outcome",
            "Compare with an earlier batch",
        ],
        [
            "适龄儿童少年台账",
            "在读且在校",
            "未在本县学籍",
            "在籍不在册",
            "核实进度",
            "疑似匹配待确认",
            "全部比对结果",
            "全部核实结论",
            "比对结果",
            "与以往批次比对",
        ],
    )


def test_a_child_to_verify_in_english(english, run):
    child = ScreenedChild.objects.get(run=run, name="王小花")
    page = html(english.get(reverse("screening:child", args=[child.pk])))
    assert_english(
        page,
        [
            f"Household register details (row {child.row_number} of the register)",
            "Head of household",
            "Relation to head of household",
            "Not enrolled in the county",
            "Awaiting verification",
            "Resolution",
            "Studying outside the county",
            "Out of school (becomes a case)",
            "Evidence (PDF or JPG, up to 5 MB;",
            "Submit resolution",
            f"Aged {child.age} on {run.cutoff_on:%Y-%m-%d}",
        ],
        [
            "户籍信息",
            "与户主关系",
            "未在本县学籍",
            "待核实",
            "核实结论",
            "在外地就读",
            "佐证材料",
            "提交核实结论",
            "周岁",
        ],
    )


def test_a_suggested_match_in_english(english, run, world):
    child = ScreenedChild.objects.get(run=run, suggested_student=world.students_b[0])
    page = html(english.get(reverse("screening:child", args=[child.pk])))
    assert_english(
        page,
        [
            "Suggested match (same name, date of birth and village; different ID number)",
            "To be confirmed",
            "Same person",
            "Not the same person",
        ],
        ["疑似对应学生", "待确认", "是同一人", "不是同一人"],
    )
