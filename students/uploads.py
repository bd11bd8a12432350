"""Signed scans and evidence files (PDF or JPG): checked before anything is stored, served only as downloads.

A file is refused, with a Chinese message and nothing written, when its name is not .pdf/.jpg/.jpeg,
when it is larger than the limit, or when its content is not what the name says (a renamed
executable, an HTML page, a PNG called .jpg): a PDF starts with ``%PDF-`` and has an ``%%EOF``
near its end, a JPEG starts with the SOI marker FF D8 FF and ends with EOI FF D9.
"""

import dataclasses
import hashlib

from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from .errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
KINDS = {"pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg"}


@dataclasses.dataclass(frozen=True)
class CheckedFile:
    name: str
    extension: str
    size: int
    sha256: str
    content: bytes


def check_scan(upload: UploadedFile | None, *, what: str = "扫描件", max_bytes: int = MAX_BYTES) -> CheckedFile:
    """The upload, read and checked; raises InvalidInput (400) with the reason otherwise."""
    if upload is None:
        raise InvalidInput(f"请选择{what}文件(PDF 或 JPG)")
    name = (upload.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].strip()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in KINDS:
        raise InvalidInput(f"{what}只接受 PDF 或 JPG 文件(.pdf、.jpg、.jpeg),不接受“{name[:60]}”")
    if upload.size is not None and upload.size > max_bytes:
        raise InvalidInput(f"{what}不能超过 {max_bytes // (1024 * 1024)} MB(此文件 {upload.size / 1048576:.1f} MB)")
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise InvalidInput(f"{what}不能超过 {max_bytes // (1024 * 1024)} MB")
    if not content:
        raise InvalidInput(f"{what}是空文件")
    kind = KINDS[extension]
    if kind == "pdf" and not (content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]):
        raise InvalidInput(f"{what}“{name[:60]}”不是完整的 PDF 文件,请重新扫描或导出后上传")
    if kind == "jpeg" and not (content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00").endswith(b"\xff\xd9")):
        raise InvalidInput(f"{what}“{name[:60]}”不是完整的 JPG 图片,请重新拍照或扫描后上传")
    return CheckedFile(
        name=name[:200],
        extension="pdf" if kind == "pdf" else "jpg",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def download(stored: FieldFile, name: str) -> FileResponse:
    """A scan or evidence file under its original ``name``; never kept by a browser or proxy.
    The caller has checked that the reader may see it."""
    extension = (stored.name or "").rsplit(".", 1)[-1].lower()
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
