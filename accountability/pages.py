"""What the accountability pages share: a date from a form (files are served by students.uploads.download)."""

import datetime as dt

from students.errors import InvalidInput


def optional_date(value: str, label: str) -> dt.date | None:
    """A YYYY-MM-DD field that may be left empty; anything else is refused in Chinese."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label}格式不正确,应为 年-月-日") from None
