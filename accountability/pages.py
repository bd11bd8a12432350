"""What the accountability pages share: a stored PDF/JPG served as a download, a date from a form."""

import datetime as dt

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from students.errors import InvalidInput

CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def download(stored: FieldFile, name: str) -> FileResponse:
    """A scan or evidence file under its original ``name``; never kept by a browser or proxy.
    The caller has checked that the reader may see it."""
    extension = stored.name.rsplit(".", 1)[-1].lower()
    try:
        handle = stored.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("文件已不存在") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name or f"文件.{extension}",
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
    )
    response["Cache-Control"] = "no-store"
    return response


def optional_date(value: str, label: str) -> dt.date | None:
    """A YYYY-MM-DD field that may be left empty; anything else is refused in Chinese."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label}格式不正确,应为 年-月-日") from None
