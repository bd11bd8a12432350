"""Screening pages (排查比对): the runs, a run's children and progress, a child with its actions, the
import form, the cadre's home section and the county dashboard card — with the Django test client,
for each role (the owner, a colleague with another scope, an outsider)."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from casework.screening import selectors, services
from students import idnumber
from tests import screening_files as files
from tests.helpers import report

pytestmark = pytest.mark.django_db

Outcome = ScreeningOutcome
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # before Wednesday 25 November
RUNS = reverse("screening:runs")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", re.IGNORECASE)


def html(response) -> str:
    return response.content.decode()


def shown_children(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-child="(\d+)"', html(response))}


def run_url(run, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("screening:run", args=[run.pk]) + (f"?{query}" if query else "")


def child_url(child) -> str:
    return reverse("screening:child", args=[child.pk])


def action_url(child, action: str) -> str:
    return reverse("screening:child-action", args=[child.pk, action])


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def rows(world, term, today):
    """石门村 (the cadre's 清溪镇) and 柳树村 (cadre2's 白沙乡), with every outcome."""
    a0, a1, _a2 = world.students_a
    b0 = world.students_b[0]
    for day in LAST_FIVE:
        report(world.class_a, day, [a1], by=world.teacher)
    return [
        files.of_student(a0),  # 在读且在校 (school 1, class A)
        files.of_student(a1),  # 名在人不在
        files.person("王小花", dt.date(2014, 3, 2), female=True, sequence=11),  # 未在本县学籍, 石门村
        files.person("王小草", dt.date(2012, 8, 31), sequence=12),  # 未在本县学籍, 石门村
        files.person("柳小树", dt.date(2013, 5, 5), village="柳树村", head="柳大树", sequence=13),  # 柳树村
        files.person(b0.name, b0.birth_date, village="柳树村", head="柳大树", sequence=14),  # a suggestion of b0
        files.of_student(world.students_c[0]),  # 在读且在校 (school 2)
    ]


@pytest.fixture
def run(world, rows, run_import):
    run = run_import(world.bureau, files.xlsx(rows))
    assert run.status == ScreeningRun.Status.DONE, run.errors
    return run


def child_named(run, name) -> ScreenedChild:
    return ScreenedChild.objects.get(run=run, name=name)


def child_of(run, student) -> ScreenedChild:
    return ScreenedChild.objects.get(run=run, student=student)


def visible_ids(user, run) -> set[int]:
    return set(selectors.children_visible_to(user).filter(run=run).values_list("pk", flat=True))


# --- who sees which children ---------------------------------------------------------------------


def test_the_bureau_sees_every_child_and_the_counts_of_outcome_counts(world, client, run):
    client.force_login(world.bureau)
    response = client.get(run_url(run))
    assert response.status_code == 200
    every = set(ScreenedChild.objects.filter(run=run).values_list("pk", flat=True))
    assert shown_children(response) == every
    counts = selectors.outcome_counts(selectors.children_visible_to(world.bureau).filter(run=run))
    page = html(response)
    for key in ("attending", "enrolled_absent", "not_enrolled", "not_registered"):
        assert re.search(rf'data-count="{key}"[^>]*>{counts[key]}<', page), key
    assert counts["not_enrolled"] == 4
    assert counts["suggested"] == 1
    assert f'href="/api/v1/ledgers/screening.xlsx?run={run.pk}"' in page
    assert not INLINE_SCRIPT.search(page)
    # The bureau sees whole 身份证号.
    assert child_named(run, "王小花").id_number in page


def test_a_cadre_sees_only_the_children_of_their_township_with_masked_ids(world, client, run):
    client.force_login(world.cadre)
    response = client.get(run_url(run))
    shown = shown_children(response)
    a0, a1, a2 = world.students_a
    expected = {
        child_of(run, a0).pk,
        child_of(run, a1).pk,
        child_of(run, a2).pk,  # 在籍不在册, lives in 石门村
        child_of(run, world.students_c[2]).pk,  # school 2, lives in 石门村
        child_named(run, "王小花").pk,
        child_named(run, "王小草").pk,
    }
    assert shown == expected == visible_ids(world.cadre, run)
    assert child_named(run, "柳小树").pk not in shown
    flower = child_named(run, "王小花")
    page = html(response)
    assert flower.id_number not in page
    assert idnumber.mask(flower.id_number) in page
    # cadre2 (白沙乡) sees 柳树村 and not 石门村; the other cadre's child is a 404.
    client.force_login(world.cadre2)
    assert child_named(run, "柳小树").pk in shown_children(client.get(run_url(run)))
    assert client.get(child_url(flower)).status_code == 404


def test_a_principal_sees_only_children_matched_to_the_school(world, client, run):
    client.force_login(world.principal)
    shown = shown_children(client.get(run_url(run)))
    matched = set(ScreenedChild.objects.filter(run=run, school=world.school).values_list("pk", flat=True))
    assert shown == matched == visible_ids(world.principal, run)
    assert child_named(run, "王小花").pk not in shown  # the register's unmatched: bureau and cadres only
    a0_child = child_of(run, world.students_a[0])
    assert client.get(child_url(a0_child)).status_code == 200
    assert client.get(child_url(child_named(run, "王小花"))).status_code == 404

    client.force_login(world.principal2)
    assert client.get(child_url(a0_child)).status_code == 404
    assert shown_children(client.get(run_url(run))) == visible_ids(world.principal2, run)
    assert a0_child.pk not in visible_ids(world.principal2, run)

    client.force_login(world.outsider)
    assert client.get(run_url(run)).status_code == 404
    assert client.get(child_url(a0_child)).status_code == 404
    response = client.get(RUNS)
    assert response.status_code == 200
    assert f'data-run="{run.pk}"' not in html(response)


def test_filters_and_whole_number_search_for_a_masked_role(world, client, run):
    client.force_login(world.cadre)
    flower, grass = child_named(run, "王小花"), child_named(run, "王小草")
    assert shown_children(client.get(run_url(run, unresolved=1))) == {flower.pk, grass.pk}
    assert shown_children(client.get(run_url(run, outcome="enrolled_absent"))) == {
        child_of(run, world.students_a[1]).pk
    }
    assert shown_children(client.get(run_url(run, q=flower.id_number))) == {flower.pk}
    assert shown_children(client.get(run_url(run, q=flower.id_number[:10]))) == set()  # never a prefix
    assert shown_children(client.get(run_url(run, q="王小"))) == {flower.pk, grass.pk}
    assert shown_children(client.get(run_url(run, village=world.other_village.pk))) == set()


# --- a child and its actions ---------------------------------------------------------------------


def test_a_cadre_resolves_through_the_page_with_a_pdf(world, client, run, media):
    flower = child_named(run, "王小花")
    client.force_login(world.cadre)
    page = html(client.get(child_url(flower)))
    assert 'id="form-resolve"' in page
    response = client.post(
        action_url(flower, "resolve"),
        {
            "resolution": "elsewhere",
            "school": "广州市天河区第一小学",
            "place": "广东省广州市",
            "evidence": upload("在读证明.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == child_url(flower)
    flower.refresh_from_db()
    assert flower.resolution == Resolution.ELSEWHERE
    assert flower.resolved_by == world.cadre
    assert flower.evidence_name == "在读证明.pdf"
    page = html(client.get(child_url(flower)))
    assert "已记录核实结论" in page
    assert 'id="evidence-link"' in page
    evidence = client.get(reverse("screening:evidence", args=[flower.pk]))
    assert evidence.status_code == 200
    assert b"".join(evidence.streaming_content) == PDF
    for who in ("principal", "cadre2", "outsider"):
        client.force_login(getattr(world, who))
        assert client.get(reverse("screening:evidence", args=[flower.pk])).status_code == 404, who


def test_a_png_evidence_is_refused_in_chinese_and_nothing_is_stored(world, client, run, media):
    flower = child_named(run, "王小花")
    client.force_login(world.cadre)
    response = client.post(
        action_url(flower, "resolve"),
        {"resolution": "elsewhere", "school": "外地小学", "place": "广州", "evidence": upload("在读证明.png", PNG)},
    )
    assert response.status_code == 400
    page = html(response)
    assert "佐证材料只接受 PDF 或 JPG 文件" in page
    assert 'value="外地小学"' in page  # what the user typed is kept
    flower.refresh_from_db()
    assert flower.resolution == ""
    assert not flower.evidence
    evidence_dir = media / "screening" / str(run.county_id) / "evidence"
    assert not evidence_dir.exists() or not any(evidence_dir.iterdir())


def test_out_of_school_through_the_page_opens_a_screening_case(world, client, run):
    grass = child_named(run, "王小草")
    client.force_login(world.cadre)
    page = html(client.get(child_url(grass)))
    assert f'<option value="{world.school.pk}"' in page  # a school of the child's township
    assert f'<option value="{world.school2.pk}"' not in page
    response = client.post(
        action_url(grass, "resolve"),
        {"resolution": "out_of_school", "note": "在家务农", "responsible_school": world.school.pk},
    )
    assert response.status_code == 302
    grass.refresh_from_db()
    case = grass.case
    assert case is not None
    assert case.source == DropoutCase.Source.SCREENING
    assert case.school == world.school
    assert case.status == DropoutCase.Status.SUSPECTED
    page = html(client.get(child_url(grass)))
    assert 'id="form-resolve"' not in page  # now followed up in the case
    assert "已转为失学个案" in page


def test_a_suggestion_is_confirmed_or_rejected_only_by_the_cadre_of_its_village(world, client, run):
    b0 = world.students_b[0]
    suggested = ScreenedChild.objects.get(run=run, suggested_student=b0)
    client.force_login(world.principal)
    assert client.get(child_url(suggested)).status_code == 404  # unmatched: not the school's
    client.force_login(world.cadre)
    assert client.post(action_url(suggested, "reject")).status_code == 404
    client.force_login(world.cadre2)
    page = html(client.get(child_url(suggested)))
    assert 'id="form-confirm"' in page
    assert 'id="form-reject"' in page
    assert 'id="form-resolve"' not in page  # decide the suggestion first
    assert client.post(action_url(suggested, "reject")).status_code == 302
    suggested.refresh_from_db()
    assert suggested.suggestion == ScreenedChild.Suggestion.REJECTED
    assert suggested.outcome == Outcome.NOT_ENROLLED
    # A second decision is refused on the page, in Chinese, with 409.
    response = client.post(action_url(suggested, "confirm"))
    assert response.status_code == 409
    assert "没有待确认的疑似匹配" in html(response)


def test_an_enrolled_but_absent_child_is_reported_by_the_class_teacher(world, client, run):
    absent = child_of(run, world.students_a[1])
    client.force_login(world.cadre)
    assert 'id="form-report-absent"' not in html(client.get(child_url(absent)))  # cadres do not report students
    client.force_login(world.teacher2)
    assert client.post(action_url(absent, "report-absent")).status_code == 404
    client.force_login(world.teacher)
    assert 'id="form-report-absent"' in html(client.get(child_url(absent)))
    assert client.post(action_url(absent, "report-absent")).status_code == 302
    absent.refresh_from_db()
    assert absent.case.source == DropoutCase.Source.SCREENING
    assert absent.case.student == world.students_a[1]
    assert 'id="form-report-absent"' not in html(client.get(child_url(absent)))


def test_history_shows_who_changed_the_child(world, client, run):
    flower = child_named(run, "王小花")
    client.force_login(world.cadre)
    client.post(action_url(flower, "resolve"), {"resolution": "migrant", "place": "浙江省义乌市"})
    page = html(client.get(child_url(flower)))
    history = page[page.index('id="history"') :]
    assert "随迁就读" in history
    assert str(world.cadre) in history


def test_an_unknown_action_is_404(world, client, run):
    client.force_login(world.bureau)
    assert client.post(action_url(child_named(run, "王小花"), "delete")).status_code == 404


# --- runs, import, files -------------------------------------------------------------------------


def test_the_bureau_imports_a_utf8_bom_csv_through_the_form(
    world, client, rows, media, django_capture_on_commit_callbacks
):
    client.force_login(world.bureau)
    page = html(client.get(RUNS))
    assert 'id="import-form"' in page
    assert 'value="2026-08-31"' in page
    assert 'name="absent_days"' in page
    form = {"title": "2026年秋季户籍比对", "cutoff_on": "2026-08-31", "absent_days": "5"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUNS, {"file": files.csv_file(rows, bom=True), **form})
    run = ScreeningRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    assert run.status == ScreeningRun.Status.DONE, run.errors
    assert (run.title, run.imported_by, run.cutoff_on) == ("2026年秋季户籍比对", world.bureau, dt.date(2026, 8, 31))
    assert run.file_format == "CSV UTF-8 (BOM)"
    assert ScreenedChild.objects.filter(run=run, name="王小花", outcome=Outcome.NOT_ENROLLED).exists()
    listing = html(client.get(RUNS))
    assert f'data-run="{run.pk}"' in listing
    assert 'data-status="done"' in listing


@pytest.mark.parametrize("who", ["principal", "teacher", "cadre", "outsider"])
def test_only_the_bureau_may_post_an_import(world, client, rows, media, who):
    client.force_login(getattr(world, who))
    page = html(client.get(RUNS))
    assert 'id="import-form"' not in page
    response = client.post(RUNS, {"file": files.csv_file(rows, bom=True)})
    assert response.status_code == 404
    assert not ScreeningRun.objects.exists()


def test_a_register_with_bad_rows_is_rejected_and_its_errors_listed(
    world, client, rows, media, django_capture_on_commit_callbacks
):
    rows[2] = files.person("王小花", dt.date(2014, 3, 2), id_number="431226201403021234")  # bad check digit
    client.force_login(world.bureau)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUNS, {"file": files.xlsx(rows)})
    response = client.get(response["Location"])
    run = ScreeningRun.objects.get()
    assert run.status == ScreeningRun.Status.REJECTED
    assert not ScreenedChild.objects.exists()
    page = html(response)
    assert 'id="run-rejected"' in page
    assert "第4行" in page
    assert "身份证号" in page
    listing = html(client.get(RUNS))
    assert f'data-run-errors="{run.pk}"' in listing
    client.force_login(world.cadre)  # the row errors are the bureau's
    assert f'data-run-errors="{run.pk}"' not in html(client.get(RUNS))


def test_a_file_that_is_no_register_is_refused_on_the_page(world, client, media):
    client.force_login(world.bureau)
    response = client.post(RUNS, {"file": upload("名单.txt", "姓名\n".encode())})
    assert response.status_code == 400
    assert "文件格式错误" in html(response)
    assert not ScreeningRun.objects.exists()


def test_a_queued_run_shows_its_progress_and_refreshes_itself(world, client, rows, media):
    run = services.start_import(user=world.bureau, upload=files.xlsx(rows))  # the job never ran (no commit)
    client.force_login(world.bureau)
    page = html(client.get(run_url(run)))
    assert 'id="run-progress"' in page
    assert 'data-progress="0"' in page
    assert "window.location.reload" in page
    assert not INLINE_SCRIPT.search(page)
    assert "window.location.reload" in html(client.get(RUNS))


def test_the_template_and_the_register_file(world, client, run):
    client.force_login(world.bureau)
    template = client.get(reverse("screening:template"))
    assert template.status_code == 200
    assert template.content[:2] == b"PK"
    register_file = client.get(reverse("screening:file", args=[run.pk]))
    assert register_file.status_code == 200
    assert b"".join(register_file.streaming_content)[:2] == b"PK"
    client.force_login(world.cadre)
    assert client.get(reverse("screening:template")).status_code == 200
    assert client.get(reverse("screening:file", args=[run.pk])).status_code == 404
    for who in ("principal", "teacher", "outsider"):
        client.force_login(getattr(world, who))
        assert client.get(reverse("screening:template")).status_code == 404, who


def test_comparing_two_runs_lists_the_changes_by_kind(world, client, rows, run, run_import):
    later_rows = [row for row in rows if row["姓名"] != "王小草"]
    later_rows.append(files.person("新来的", dt.date(2015, 1, 1), sequence=21))
    later = run_import(world.bureau, files.xlsx(later_rows))
    client.force_login(world.cadre)
    page = html(client.get(run_url(later)))
    assert f'<option value="{run.pk}">' in page  # the earlier run to compare with
    response = client.get(reverse("screening:compare", args=[later.pk]) + f"?with={run.pk}")
    assert response.status_code == 200
    page = html(response)
    moved_out = page[page.index('data-kind="moved_out"') :]
    assert "王小草" in moved_out
    moved_in = page[page.index('data-kind="moved_in"') : page.index('data-kind="moved_out"')]
    assert "新来的" in moved_in
    assert "柳小树" not in page  # cadre2's
    client.force_login(world.outsider)
    assert client.get(reverse("screening:compare", args=[later.pk]) + f"?with={run.pk}").status_code == 404


# --- the cadre's home and the county dashboard ---------------------------------------------------


def test_the_cadre_home_section_shows_the_run_numbers(world, client, run):
    client.force_login(world.cadre)
    client.post(action_url(child_named(run, "王小花"), "resolve"), {"resolution": "migrant", "place": "义乌"})
    page = html(client.get(reverse("home")))
    assert 'id="screening-home"' in page
    counts = selectors.outcome_counts(selectors.children_visible_to(world.cadre).filter(run=run))
    section = page[page.index('id="screening-home"') :]
    assert re.search(rf'data-count="not_enrolled">{counts["not_enrolled"]}<', section)
    assert re.search(rf'data-count="resolved">{counts["resolved"]}<', section)
    assert re.search(rf'data-count="unresolved"[^>]*>{counts["unresolved"]}<', section)
    assert (counts["not_enrolled"], counts["resolved"], counts["unresolved"]) == (2, 1, 1)
    [town] = selectors.progress(world.cadre, run)
    assert (town.name, town.total, town.resolved, town.left) == ("清溪镇", 2, 1, 1)
    assert f'data-township="{world.township.pk}"' in section
    assert f'data-left="{town.left}"' in section
    assert f"{run_url(run, unresolved=1)}" in section
    for who in ("bureau", "principal", "teacher"):  # the section is the administrative line's
        client.force_login(getattr(world, who))
        assert 'id="screening-home"' not in html(client.get(reverse("home")))


def test_the_county_dashboard_card_shows_each_township(world, client, run):
    client.force_login(world.bureau)
    page = html(client.get(reverse("dashboard-county")))
    card = page[page.index('id="screening-progress"') :]
    card = card[: card.index("</section>")]
    counts = selectors.outcome_counts(selectors.children_visible_to(world.bureau).filter(run=run))
    for key in ("not_enrolled", "resolved", "unresolved", "suggested"):
        assert re.search(rf'data-count="{key}">{counts[key]}<', card), key
    towns = selectors.progress(world.bureau, run)
    assert {t.name for t in towns} == {"清溪镇", "白沙乡"}
    for town in towns:
        row = card[card.index(f'data-township="{town.pk}"') :]
        assert f'data-total="{town.total}"' in row
        assert f'data-left="{town.left}"' in row
    assert sum(t.total for t in towns) == counts["not_enrolled"]


def test_the_menu_links_screening_for_the_bureau_cadres_and_school_leaders(world, client):
    for who, shown in (("bureau", True), ("cadre", True), ("principal", True), ("teacher", False), ("outsider", False)):
        client.force_login(getattr(world, who))
        assert ('id="nav-screening"' in html(client.get(reverse("home")))) == shown, who


def test_the_run_page_queries_do_not_grow_with_the_register(world, client, rows, run_import):
    def queries(run) -> int:
        client.get(run_url(run))  # warm the scope cache
        with CaptureQueriesContext(connection) as captured:
            assert client.get(run_url(run)).status_code == 200
        return len(captured.captured_queries)

    client.force_login(world.bureau)
    small = queries(run_import(world.bureau, files.xlsx(rows)))
    more = [files.person(f"王{n}", dt.date(2013, 1, 1 + n), sequence=30 + n) for n in range(20)]
    big = queries(run_import(world.bureau, files.xlsx(rows + more)))
    # Session, user, posts; the run; count and page of children; their places; progress (rows, township
    # and village names, cadres); the earlier runs; the counts.
    assert big == small <= 12


def test_a_bad_filter_in_the_address_lists_every_child_and_says_why(world, client, run):
    client.force_login(world.bureau)
    page = client.get(reverse("screening:run", args=[run.pk]), {"outcome": "lost", "township": "x"})
    assert page.status_code == 200
    assert "比对结果无效" in page.content.decode()
