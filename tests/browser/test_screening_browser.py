"""Issue 14 in a real Chromium: the bureau imports a household register; a township cadre resolves two
children no school enrols, one as 在外地就读 with a scan and one as 失学 (choosing the school that takes
the case); the bureau then finds the second as a new suspected case with source 排查比对."""

import datetime as dt

import pytest

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningRun
from tests import screening_files as files

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def logout(page) -> None:
    page.context.clear_cookies()


def test_a_cadre_resolves_two_children_and_the_bureau_sees_the_new_case(
    page, live_server, world, term, today, tmp_path, settings, artifacts
):
    settings.MEDIA_ROOT = tmp_path / "media"
    register = tmp_path / "户籍名单.csv"
    rows = [
        files.of_student(world.students_a[0]),
        files.person("王小花", dt.date(2014, 3, 2), female=True, sequence=11),
        files.person("王小草", dt.date(2012, 8, 31), sequence=12),
    ]
    register.write_bytes(files.csv_file(rows, bom=True).read())

    # The bureau imports the register through the form (UTF-8 with BOM, as Excel saves it).
    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/screening/")
    assert page.locator("#i-cutoff").input_value() == "2026-08-31"
    page.set_input_files("#i-file", str(register))
    with page.expect_navigation():
        page.click("#import-submit")
    run = ScreeningRun.objects.get()
    assert run.status == ScreeningRun.Status.DONE, run.errors
    assert page.locator("#run-title [data-status='done']").count() == 1
    assert page.locator("#counts [data-count='not_enrolled']").inner_text().strip() == "2"
    logout(page)

    # The township cadre starts from the home page: two children of 清溪镇 to resolve.
    login(page, live_server, "cadre")
    page.goto(f"{live_server.url}/")
    assert "待核实 2 名" in page.locator("#screening-home-link").inner_text()
    with page.expect_navigation():
        page.click("#screening-home-link")
    assert page.locator("#child-table tbody tr[data-child]").count() == 2
    flower = ScreenedChild.objects.get(run=run, name="王小花")
    assert flower.id_number not in page.content()  # masked for a cadre
    with page.expect_navigation():
        page.click(f"#child-table tr[data-child='{flower.pk}'] a")

    # 在外地就读 with the school's 在读证明 scan.
    scan = tmp_path / "在读证明.pdf"
    scan.write_bytes(PDF)
    page.select_option("#r-resolution", "elsewhere")
    page.fill("#r-school", "广州市天河区第一小学")
    page.fill("#r-place", "广东省广州市")
    page.set_input_files("#r-evidence", str(scan))
    with page.expect_navigation():
        page.click("#resolve-submit")
    assert "在外地就读" in page.locator("#child-resolution").inner_text()
    assert "在读证明.pdf" in page.locator("#evidence-link").inner_text()
    flower.refresh_from_db()
    assert flower.resolution == Resolution.ELSEWHERE
    assert flower.evidence_name == "在读证明.pdf"
    page.screenshot(path=str(artifacts / "resolved_elsewhere.png"), full_page=True)

    # Back to the list of those left: only 王小草, who is out of school.
    page.goto(f"{live_server.url}{run.get_absolute_url()}?unresolved=1")
    grass = ScreenedChild.objects.get(run=run, name="王小草")
    assert page.locator("#child-table tbody tr[data-child]").count() == 1
    with page.expect_navigation():
        page.click(f"#child-table tr[data-child='{grass.pk}'] a")
    page.select_option("#r-resolution", "out_of_school")
    page.select_option("#r-responsible", str(world.school.pk))
    page.fill("#r-note", "在家帮忙务农,家长不愿送学")
    with page.expect_navigation():
        page.click("#resolve-submit")
    assert "已转为疑似辍学个案" in page.locator(".messages").inner_text()
    assert page.locator("#child-case").count() == 1
    grass.refresh_from_db()
    case = grass.case
    assert case is not None
    assert (case.source, case.status, case.school) == ("screening", "suspected", world.school)
    page.screenshot(path=str(artifacts / "resolved_out_of_school.png"), full_page=True)
    logout(page)

    # The bureau sees the new suspected case, source 排查比对, in the case list.
    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/cases/?status=suspected")
    row = page.locator(f"#case-table tr[data-case='{case.pk}']")
    assert "王小草" in row.inner_text()
    assert row.locator("[data-source='screening']").inner_text().strip() == "排查比对"
    assert "疑似辍学" in row.inner_text()
    assert DropoutCase.objects.filter(source="screening").count() == 1
    page.screenshot(path=str(artifacts / "case_list.png"), full_page=True)
