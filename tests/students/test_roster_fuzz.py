"""Hostile and broken roster files (issue 12 item 8): each is refused with a clear Chinese message,
before the workbook is parsed where its size is the problem, and nothing is written."""

import io
import random
import zipfile

import pytest

from students.models import Guardian, Student
from students.roster import services as roster
from tests.students.test_roster import file_problem, messages, post, problems, student_row, xlsx_bytes

pytestmark = pytest.mark.django_db

FORMAT = "文件格式错误,请上传 .xlsx 格式的花名册"


def _counts() -> tuple[int, int]:
    return Student.objects.count(), Guardian.objects.count()


def _with_part(content: bytes, name: str, data: bytes) -> bytes:
    """The .xlsx ``content`` with its part ``name`` replaced by (or added as) ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item.filename))
        target.writestr(name, data)
    return out.getvalue()


def _shared_strings(count: int, length: int) -> bytes:
    """A sharedStrings part of ``count`` texts of ``length`` characters (compresses ~1000×)."""
    one = b"<si><t>" + b"\xe5\xa3\xae" * length + b"</t></si>"  # 壮
    namespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    head = f'<sst xmlns="{namespace}" count="{count}" uniqueCount="{count}">'
    return head.encode() + one * count + b"</sst>"


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if the workbook gets parsed: a file refused for its size must be refused before."""

    def parse(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(roster, "load_workbook", parse)


def test_shared_strings_that_unpack_to_gigabytes_are_refused_before_parsing(world, api, no_parsing):
    # The report's file: 110,000 texts of 10,000 characters (3 GB unpacked). Here 2,000 of them
    # (60 MB unpacked from a ~60 KB part), past the 16 MB the texts of a roster may take.
    content = _with_part(xlsx_bytes([student_row(1)]), "xl/sharedStrings.xml", _shared_strings(2_000, 10_000))
    assert len(content) < 1024 * 1024
    before = _counts()
    response = post(api, world.principal, content)
    assert response.status_code == 400
    assert file_problem(response).startswith("文件内容过大")
    assert _counts() == before


def test_a_zip_bomb_sheet_is_refused_before_parsing(world, api, no_parsing):
    bomb = b"<worksheet>" + b" " * (roster.ROSTER_ZIP.part + 1) + b"</worksheet>"
    content = _with_part(xlsx_bytes([student_row(1)]), "xl/worksheets/sheet1.xml", bomb)
    response = post(api, world.principal, content)
    assert response.status_code == 400
    assert file_problem(response).startswith("文件内容过大")


def test_too_many_parts_are_refused(world, api, no_parsing):
    content = xlsx_bytes([student_row(1)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        for n in range(roster.ROSTER_ZIP.parts):
            target.writestr(f"customXml/item{n}.xml", b"<a/>")
    response = post(api, world.principal, out.getvalue())
    assert file_problem(response).startswith("文件内容过大")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_file_is_refused(world, api, keep):
    content = xlsx_bytes([student_row(n) for n in range(1, 30)])
    before = _counts()
    response = post(api, world.principal, content[: int(len(content) * keep)])
    assert response.status_code == 400
    assert file_problem(response) == FORMAT
    assert _counts() == before


@pytest.mark.parametrize(
    "content",
    [
        "班级,姓名,性别\n七年级(1)班,张三,男\n".encode("gbk"),
        "班级,姓名,性别\n七年级(1)班,张三,男\n".encode("utf-16"),
        "\ufeff班级\t姓名\n".encode(),
        b"<html><table><tr><td>\xd5\xc5\xc8\xfd</td></tr></table></html>",
    ],
    ids=["gbk-csv", "utf16-csv", "utf8-bom-tsv", "html-as-xls"],
)
def test_text_in_other_encodings_named_xlsx_is_refused(world, api, content):
    before = _counts()
    response = post(api, world.principal, content)
    assert response.status_code == 400
    assert file_problem(response) == FORMAT
    assert _counts() == before


def test_a_huge_cell_is_a_row_error(world, api):
    before = _counts()
    response = post(api, world.principal, xlsx_bytes([student_row(1, 现住址="村" * 100_000), student_row(2)]))
    assert response.status_code == 400
    assert (2, "现住址") in problems(response)
    assert "200" in messages(response)
    assert _counts() == before


def test_formula_cells_are_not_taken_as_values(world, api):
    """A formula has no value in a file that was never opened in Excel: the required name is missing."""
    before = _counts()
    response = post(api, world.principal, xlsx_bytes([student_row(1, 姓名='=HYPERLINK("http://x","张三")')]))
    assert response.status_code == 400
    assert "姓名" in messages(response)
    assert _counts() == before


def test_a_10_mb_file_is_refused_by_its_size(world, api, no_parsing):
    noise = random.Random(1).randbytes(10 * 1024 * 1024 + 1)  # does not compress
    content = _with_part(xlsx_bytes([student_row(1)]), "xl/media/photo.bin", noise)
    assert len(content) > 10 * 1024 * 1024
    response = post(api, world.principal, content)
    assert response.status_code == 400
    assert file_problem(response).startswith("文件超过5MB")
