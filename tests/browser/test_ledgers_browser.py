"""The bureau downloads the dropout ledger in the browser and finds the download in the log."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reporting.models import DownloadLog
from tests.helpers import build_case

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bureau_downloads_the_dropout_ledger_and_sees_it_in_the_log(page, live_server, world, term, today, artifacts):
    confirmed = build_case(world, world.students_a[0], "confirmed")
    login(page, live_server, "bureau")
    page.goto(f"{live_server.url}/ledgers/")
    link = page.locator("#ledger-cards a[download]").first
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    content = Path(download.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    headers = [cell.value for cell in sheet[3]]
    assert headers[:3] == ["序号", "县(区)", "乡镇(街道)"]
    names = {row[headers.index("姓名")] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert confirmed.student.name in names

    page.goto(f"{live_server.url}/downloads/")
    table = page.inner_text("#download-table")
    assert "辍学学生台账" in table
    assert "bureau" in table
    page.screenshot(path=str(artifacts / "download_log.png"), full_page=True)
    log = DownloadLog.objects.get()
    assert (log.user, log.row_count) == (world.bureau, 1)
