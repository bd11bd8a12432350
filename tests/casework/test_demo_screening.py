"""seed_demo's screening part (casework/screening/demo.py): a household register of the demo county imported
by the bureau and worked through by the cadres — every outcome, suggestions confirmed, rejected and pending,
every resolution, one 失学 case, and one village of ``cadre``'s township left unresolved; all written by the
real services at moments no later than the seeding."""

import datetime as dt
import io
import zipfile

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone
from openpyxl import load_workbook

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from casework.screening import demo, register, selectors
from students.models import Post, Student, User

pytestmark = pytest.mark.django_db

OUT = ScreeningOutcome
SUG = ScreenedChild.Suggestion


@pytest.fixture
def media(settings, tmp_path):
    """The demo's register and evidence files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def seeded(media, today):
    """The 300-student demo county seeded on 'today' (10:00 on Wednesday 2026-11-25)."""
    call_command("seed_demo", "--students", "300", "--seed", "7", verbosity=0)
    return ScreeningRun.objects.get()


def user(username: str) -> User:
    return User.objects.get(username=username)


def test_the_register_is_imported_with_every_outcome(seeded):
    run = seeded
    assert run.status == ScreeningRun.Status.DONE
    assert run.imported_by == user("bureau")
    assert run.file_format == "Excel (.xlsx)"
    assert run.cutoff_on == dt.date(2026, 8, 31)
    children = ScreenedChild.objects.filter(run=run)
    counts = selectors.outcome_counts(children)
    assert all(counts[outcome] > 0 for outcome in OUT.values), counts
    # Most students are on the register by their own number; the 随迁 students are not (在籍不在册).
    listed = children.filter(match_method=ScreenedChild.MatchMethod.ID_NUMBER).count()
    assert listed > 0.9 * Student.objects.exclude(status=Student.Status.NOT_ENROLLED).count()
    migrants = Student.objects.filter(migrant=True, status=Student.Status.ENROLLED)
    assert migrants.exists()
    assert not children.filter(student__in=migrants).exclude(outcome=OUT.NOT_REGISTERED).exists()
    # The dropouts of the demo cases are 名在人不在 with their case.
    dropped = children.filter(outcome=OUT.ENROLLED_ABSENT, student__status=Student.Status.DROPPED_OUT)
    assert dropped.exists()
    assert not dropped.filter(case__isnull=True).exists()
    # Adults, under-6 and over-15 children of the households were read and left out by the age filter.
    assert run.counts["not_of_age"] > 0
    assert (
        run.counts["register_rows"] == children.exclude(outcome=OUT.NOT_REGISTERED).count() + run.counts["not_of_age"]
    )
    assert not children.filter(age__lt=6).exists()
    # Not-enrolled children in several villages and townships, among them cadre's township.
    cadre_township = Post.objects.get(user__username="cadre").township
    unenrolled = children.filter(outcome=OUT.NOT_ENROLLED)
    assert unenrolled.values("village").distinct().count() >= 4
    assert unenrolled.values("township").distinct().count() >= 2
    assert unenrolled.filter(township=cadre_township).values("village").distinct().count() >= 2


def test_suggestions_are_confirmed_rejected_and_one_is_pending(seeded):
    children = ScreenedChild.objects.filter(run=seeded)
    confirmed = children.filter(suggestion=SUG.CONFIRMED)
    assert confirmed.exists()
    assert not confirmed.filter(student__isnull=True).exists()
    assert all(c.match_method == ScreenedChild.MatchMethod.SUGGESTION for c in confirmed)
    assert all(c.id_number != c.student.id_number and c.name == c.student.name for c in confirmed)
    rejected = children.get(suggestion=SUG.REJECTED)
    assert rejected.outcome == OUT.NOT_ENROLLED
    assert rejected.student is None
    assert rejected.resolution  # the other child was then found
    # The student it was not: now listed as 在籍不在册.
    assert children.filter(student=rejected.suggested_student, outcome=OUT.NOT_REGISTERED).exists()
    assert rejected.history.filter(suggestion=SUG.REJECTED).exists()
    pending = children.get(suggestion=SUG.PENDING)
    assert pending.outcome == OUT.NOT_ENROLLED
    assert not pending.resolution
    assert pending.suggested_student.birth_date == pending.birth_date


def test_every_unmatched_child_is_resolved_but_in_one_village_of_the_cadres_township(seeded):
    children = ScreenedChild.objects.filter(run=seeded)
    cadre_township = Post.objects.get(user__username="cadre").township
    left = children.filter(outcome=OUT.NOT_ENROLLED, resolution="")
    assert left.count() >= 3
    assert set(left.values_list("village__township", flat=True)) == {cadre_township.pk}
    assert left.values("village").distinct().count() == 1
    village = left.first().village
    # Its neighbours in the same township were resolved by the cadre.
    done = children.filter(outcome=OUT.NOT_ENROLLED, township=cadre_township).exclude(village=village)
    assert done.exists()
    assert not done.filter(resolution="").exists()
    assert done.filter(resolved_by=user("cadre")).exists()
    # Every choosable resolution at least once; each with its resolver, date and, where required, its file.
    resolved = children.exclude(resolution="")
    assert set(resolved.values_list("resolution", flat=True)) >= set(ScreenedChild.CHOOSABLE)
    assert not resolved.filter(Q(resolved_by__isnull=True) | Q(resolved_on__isnull=True)).exists()
    needing = resolved.filter(resolution__in=ScreenedChild.EVIDENCE_REQUIRED)
    assert needing.exists()
    for child in needing:
        assert child.evidence_size == child.evidence.size
        assert child.evidence_name.endswith(".pdf")
        content = child.evidence.read()
        assert content.startswith(b"%PDF-")
        assert content.rstrip().endswith(b"%%EOF")
        assert child.evidence.storage.exists(child.evidence.name)
    assert resolved.filter(resolution=Resolution.ELSEWHERE).exclude(resolved_school="").exists()
    assert resolved.filter(resolved_by=user("bureau")).exists()


def test_one_child_became_a_school_case_of_their_township(seeded):
    child = ScreenedChild.objects.select_related("case__school").get(run=seeded, resolution=Resolution.OUT_OF_SCHOOL)
    case = child.case
    assert case is not None
    assert case.source == DropoutCase.Source.SCREENING
    assert case.status == DropoutCase.Status.SUSPECTED
    assert case.school.township_id == child.township_id
    # Not principal's school: accountability's demo keeps it for a pledge with an enrolled student's family.
    assert case.school != Post.objects.get(user__username="principal").school
    assert case.student.status == Student.Status.NOT_ENROLLED
    assert case.student.id_number == child.id_number
    assert case.student.classroom is None
    assert child.student == case.student
    assert child.resolved_by == Post.objects.get(role=Post.Role.CADRE, township_id=child.township_id).user
    assert case.detected_on == child.resolved_on
    assert case.events.exists()
    assert selectors.children_visible_to(user("bureau")).filter(pk=child.pk).exists()


def test_nothing_is_later_than_now_and_the_steps_follow_the_import(seeded):
    run = seeded
    now = timezone.now()
    assert run.created_at <= run.finished_at < now
    assert timezone.localdate(run.created_at) < dt.date(2026, 11, 25)
    children = ScreenedChild.objects.filter(run=run).exclude(resolution="")
    assert not children.filter(resolved_on__gte=dt.date(2026, 11, 25)).exists()
    assert not children.filter(resolved_on__lt=timezone.localdate(run.created_at)).exists()
    history = ScreenedChild.history.filter(run=run)
    assert history.exists()
    assert not history.filter(history_date__gt=now).exists()
    assert not history.filter(history_date__lt=run.created_at).exists()
    assert not DropoutCase.objects.filter(source="screening", created_at__gt=now).exists()


def test_cadre_sees_only_their_townships_children(seeded):
    cadre = user("cadre")
    township = Post.objects.get(user=cadre).township
    visible = selectors.children_visible_to(cadre).filter(run=seeded)
    assert visible.exists()
    assert set(visible.values_list("township", flat=True)) == {township.pk}
    everyone = ScreenedChild.objects.filter(run=seeded)
    assert visible.count() == everyone.filter(township=township).count() < everyone.count()
    # A cadre of another township sees none of them.
    other = Post.objects.filter(role=Post.Role.CADRE).exclude(township=township).first()
    assert not selectors.children_visible_to(other.user).filter(township=township).exists()


def test_the_same_seed_builds_the_same_register(media, today):
    call_command("seed_demo", "--students", "300", "--seed", "7", verbosity=0)
    first = sorted(
        ScreenedChild.objects.values_list("name", "id_number", "outcome", "suggestion", "resolution", "resolved_on")
    )
    call_command("seed_demo", "--students", "300", "--seed", "7", "--reset", verbosity=0)
    again = sorted(
        ScreenedChild.objects.values_list("name", "id_number", "outcome", "suggestion", "resolution", "resolved_on")
    )
    assert first == again


def test_the_register_file_is_an_excel_workbook_of_households(seeded):
    run = seeded
    with run.file.open("rb") as handle:
        content = handle.read()
    assert zipfile.is_zipfile(io.BytesIO(content))
    book = load_workbook(io.BytesIO(content))  # the full reader, as Excel would open it
    sheet = book[register.SHEET_TITLE]
    header = [cell.value for cell in sheet[1]]
    assert header == register.COLUMNS
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == run.counts["register_rows"]
    relations = {row[1] for row in rows}
    assert {"户主", "配偶"} <= relations
    assert relations & {"子", "女"}
    assert relations & {"孙子", "孙女"}
    # Both ways of writing the group: in its own column, and "石门村3组" in the village's.
    assert any(row[8] for row in rows)
    assert any(str(row[7]).endswith("组") for row in rows)
    assert all(isinstance(row[4], str) and len(row[4]) == 18 for row in rows)


def test_register_xlsx_round_trips_through_the_reader():
    rows = [
        (
            "王建华",
            "户主",
            "王建华",
            "男",
            "431226198001010011",
            "1980-01-01",
            "清溪镇",
            "石门村",
            "3组",
            "a&b<c>",
            "",
            "",
            "",
        )
    ]
    content = demo.register_xlsx(rows)
    read, label = register.read_rows("xlsx", content)
    assert label == "Excel (.xlsx)"
    assert read[0] == (1, tuple(register.COLUMNS))
    assert read[1][1][:10] == rows[0][:10]
    assert all(value is None for value in read[1][1][10:])  # empty cells are not written
