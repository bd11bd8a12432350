"""Reading spreadsheets people fill in by hand: cell values, dates, village names, the .xlsx archive.

Shared by the roster import (students/roster) and the household-register import (casework/screening):
both check every row before writing anything and report each problem with its row and column.
"""

import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable

from openpyxl.utils.datetime import from_excel

from .models import Village

DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,28}[0-9]$")
_SPACES = str.maketrans({"\u3000": " ", "\xa0": " "})


def text(value) -> str:
    """A cell as trimmed text: numbers without '.0', dates as YYYY-MM-DD, runs of spaces made one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).translate(_SPACES).split())


def person_name(value) -> str:
    """Chinese names padded with spaces ('张　伟') lose them; 'Ayi Li' keeps a single space."""
    name = text(value)
    if name and not any(ch.isascii() and ch.isalpha() for ch in name):
        name = name.replace(" ", "")
    return name


def parse_date(value) -> dt.date | None:
    """A date cell, or a date typed as text (2013-05-17, 2013/5/17, 2013年5月17日, 20130517); None if not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if float(value).is_integer() and 19000101 <= value <= 29991231:
            value = str(int(value))
        elif 1 <= value < 100_000:  # an Excel serial date in a cell not formatted as a date
            try:
                return from_excel(value).date()
            except (ValueError, OverflowError):
                return None
        else:
            return None
    match = DATE_TEXT.match(text(value)) or DATE_DIGITS.match(text(value))
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


class VillageLookup:
    """Villages of a county: '乡镇+村' always, the bare village name when unique."""

    def __init__(self, county_id: int) -> None:
        self.full: dict[str, Village] = {}
        self.by_name: dict[str, list[Village]] = defaultdict(list)
        for village in Village.objects.filter(township__county_id=county_id).select_related("township"):
            self.full[village.township.name + village.name] = village
            self.by_name[village.name].append(village)

    def find(self, name: str) -> tuple[Village | None, str]:
        """The village and "" , or None and why (unknown, or a name several townships share)."""
        key = name.replace(" ", "")
        if key in self.full:
            return self.full[key], ""
        found = self.by_name.get(key, [])
        if len(found) == 1:
            return found[0], ""
        if found:
            towns = "、".join(v.township.name + v.name for v in found)
            return None, f"县内有多个“{key}”({towns}),请写成“乡镇+村”"
        return None, f"本县没有“{name}”这个村(社区),请核对名称,或写成“乡镇+村”,如 清溪镇石门村"


@dataclasses.dataclass(frozen=True)
class ZipLimits:
    """What an .xlsx (a zip of XML parts) may unpack to, checked from the zip's directory before
    anything is unpacked: a small file that unpacks to gigabytes ("zip bomb", or many texts of
    thousands of characters) is refused at once instead of filling the server's memory."""

    unpacked: int  # all parts together
    part: int  # one part (the sheet)
    shared_strings: int
    parts: int = 200


def check_zip(content: bytes, limits: ZipLimits, *, refuse: Callable[[str], Exception], what: str) -> None:
    """Refuse (``raise refuse(message)``) an archive that is not a zip or would unpack beyond ``limits``."""
    too_big = refuse(f"文件内容过大(解压后超过上限),请只保留{what}工作表并删除无关内容后再上传")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise refuse(f"文件格式错误,请上传 .xlsx 格式的{what}") from exc
    if len(parts) > limits.parts or sum(part.file_size for part in parts) > limits.unpacked:
        raise too_big
    for part in parts:
        limit = limits.shared_strings if part.filename.lower().endswith("sharedstrings.xml") else limits.part
        if part.file_size > limit:
            raise too_big


def header_key(value) -> str:
    """A column header as compared: no '*', no spaces, full-width brackets, no (必填)/(选填)."""
    key = text(value).replace("*", "").replace("(", "(").replace(")", ")").replace(" ", "")
    return key.replace("(必填)", "").replace("(选填)", "")


class RowErrors:
    """Every problem of a file as ``{"row", "field", "message"}`` (row 0: the file as a whole)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.items: list[dict] = []

    def add(self, row: int, field: str, message: str) -> None:
        self.items.append({"row": row, "field": field, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[dict]:
        order = {column: index for index, column in enumerate(self.columns)}
        return sorted(self.items, key=lambda e: (e["row"], order.get(e["field"], -1)))
