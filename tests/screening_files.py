"""Hand-made household registers (户籍名单) for the screening tests: .xlsx and .csv in any encoding."""

import csv
import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from casework.screening import register
from students import idnumber

HEADERS = [
    register.HEAD,
    register.RELATION,
    register.NAME,
    register.GENDER,
    register.ID_NUMBER,
    register.BIRTH_DATE,
    register.TOWNSHIP,
    register.VILLAGE,
    register.HUKOU,
    register.CURRENT,
    register.GUARDIAN,
    register.PHONE,
]


def person(
    name: str,
    born: dt.date,
    *,
    village: str = "石门村",
    township: str = "",
    female: bool = False,
    sequence: int = 1,
    id_number: str | None = None,
    head: str = "王大山",
    relation: str = "子",
    **overrides,
) -> dict:
    """One register row (a dict by column header) with a valid 身份证号 unless one is given."""
    number = id_number or idnumber.make_id_number("431226", born, sequence, female)
    row = {
        register.HEAD: head,
        register.RELATION: relation,
        register.NAME: name,
        register.GENDER: "女" if female else "男",
        register.ID_NUMBER: number,
        register.BIRTH_DATE: born.isoformat(),
        register.TOWNSHIP: township,
        register.VILLAGE: village,
        register.HUKOU: f"{township}{village}",
        register.CURRENT: f"{township}{village}",
        register.GUARDIAN: head,
        register.PHONE: "13800000000",
    }
    row.update(overrides)
    return row


def of_student(student, **overrides) -> dict:
    """The register row of an existing student (same 身份证号, name, village; the birth date of the number,
    as the public-security register has it: the factory's numbers run past its fixed birth date)."""
    female = int(student.id_number[16]) % 2 == 0  # the register's gender is the 身份证号's
    return person(
        student.name,
        idnumber.birth_date_of(student.id_number) or student.birth_date,
        village=student.village.name if student.village else "石门村",
        female=female,
        id_number=student.id_number,
        **overrides,
    )


def xlsx(rows: list[dict], name: str = "户籍名单.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for row in rows:
        ws.append([row.get(header, "") for header in HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type="application/octet-stream")


def csv_file(rows: list[dict], *, encoding: str = "utf-8", bom: bool = False, name: str = "户籍名单.csv"):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row.get(header, "") for header in HEADERS])
    content = out.getvalue().encode(encoding)
    if bom:
        content = b"\xef\xbb\xbf" + content
    return SimpleUploadedFile(name, content, content_type="text/csv")
