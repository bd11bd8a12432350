"""What the screening pages and the API share: the query of a children list, and the two files
they serve (the register as imported, the empty template). Each caller has checked the reader."""

from urllib.parse import quote

from django.http import FileResponse, Http404, HttpResponse

from students import scoping
from students.errors import InvalidInput, as_id

from ..models import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from . import register, selectors

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {"xlsx": XLSX_TYPE, "csv": "text/csv; charset=utf-8"}
TEMPLATE_NAME = "户籍名单模板.xlsx"
TRUE = ("1", "true", "yes", "on")


def _choice(params, name: str, choices, what: str) -> str:
    value = (params.get(name) or "").strip()
    if value and value not in dict(choices):
        raise InvalidInput(f"{what}无效:{value[:20]}")
    return value


def child_filters(params) -> dict:
    """The query parameters of a children list, checked (a bad one is a 400 in Chinese)."""
    return {
        "outcome": _choice(params, "outcome", ScreeningOutcome.choices, "比对结果"),
        "resolution": _choice(params, "resolution", Resolution.choices, "核实结论"),
        "suggestion": _choice(params, "suggestion", ScreenedChild.Suggestion.choices, "疑似匹配状态"),
        "township": as_id(params.get("township"), "乡镇"),
        "village": as_id(params.get("village"), "村"),
        "school": as_id(params.get("school"), "学校"),
        "unresolved": (params.get("unresolved") or "").strip().lower() in TRUE,
        "q": (params.get("q") or "").strip()[:50],
    }


def is_county_bureau(user, run: ScreeningRun) -> bool:
    """The bureau of the run's county: sees the file, its row errors and every child."""
    return scoping.scope_for(user).manages_county(run.county_id)


def register_file(run: ScreeningRun) -> FileResponse:
    """The register as imported (.xlsx or .csv), never kept by a browser or proxy."""
    extension = (run.file.name or "").rsplit(".", 1)[-1].lower()
    try:
        handle = run.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("文件已不存在") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=run.file_name or f"户籍名单.{extension}",
        content_type=FILE_TYPES.get(extension, "application/octet-stream"),
    )
    response["Cache-Control"] = "no-store"
    return response


def may_get_template(user) -> bool:
    """The bureau (who imports) and the cadres (who compile the register in the villages)."""
    return selectors.may_import(user) or scoping.scope_for(user).residence_line


def template() -> HttpResponse:
    response = HttpResponse(register.build_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename=\"register-template.xlsx\"; filename*=UTF-8''{quote(TEMPLATE_NAME)}"
    )
    return response
