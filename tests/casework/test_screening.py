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

O = ScreeningOutcome
LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # before Wednesday 25 November
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    def run(user, upload, **kwargs) -> ScreeningRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.start_import(user=user, upload=upload, **kwargs)
        run.refresh_from_db()
        return run

    return run


@pytest.fixture
def register(world, term, today):
    """A register of 石门村 and 柳树村 with every outcome (see each row), and the reports behind it."""
    a0, a1, a2 = world.students_a  # all live in 石门村 (the cadre's township 清溪镇)
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
    assert children[a0.name].outcome == O.ATTENDING and children[a0.name].student == a0
    assert children[a0.name].match_method == ScreenedChild.MatchMethod.ID_NUMBER
    absent = [c for c in children.values() if c.student == a1]
    assert len(absent) == 1 and absent[0].outcome == O.ENROLLED_ABSENT
    assert "11-18至11-24" in absent[0].evidence_text
    assert ScreenedChild.objects.get(run=run, student=a2).outcome == O.NOT_REGISTERED
    assert children["王小花"].outcome == O.NOT_ENROLLED and children["王小花"].student is None
    suggested = [c for c in children.values() if c.suggested_student == b0]
    assert len(suggested) == 1 and suggested[0].outcome == O.NOT_ENROLLED
    assert suggested[0].suggestion == ScreenedChild.Suggestion.PENDING and suggested[0].student is None
    assert "王小宝" not in children and "王大山" not in children
    assert children["刚满六岁"].age == 6 and "差一天" not in children
    assert run.counts["register_rows"] == 9 and run.counts["not_of_age"] == 3
    counts = selectors.outcome_counts(selectors.children_visible_to(world.bureau).filter(run=run))
    assert counts[O.ATTENDING] == 1, counts
    assert counts[O.NOT_ENROLLED] == 4  # 王小花, 王小草, the suggested child, 刚满六岁
    assert counts[O.ENROLLED_ABSENT] == 1
    # Enrolled students of the register's two villages it does not list: a2 and c2 (石门村), b1, b2, c0, c1 (柳树村).
    assert counts[O.NOT_REGISTERED] == 6
    assert counts["suggested"] == 1
