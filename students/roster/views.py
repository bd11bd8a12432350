"""Roster import pages: upload an .xlsx roster, download the empty template. Thin views."""

from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from students.errors import ImportRejected
from students.roster import services as roster

TEMPLATE_FILENAME = "学生花名册模板.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _schools_or_404(user):
    schools = roster.importable_schools(user)
    if not schools:
        raise Http404
    return schools


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request):
    schools = _schools_or_404(request.user)
    context = {
        "schools": schools,
        "selected_school": request.POST.get("school", ""),
        "columns": [(column, column in roster.REQUIRED) for column in roster.COLUMNS],
        "max_mb": settings.ROSTER_IMPORT_MAX_BYTES // (1024 * 1024),
        "max_rows": roster.MAX_ROWS,
        "rejected": None,
    }
    if request.method == "POST":
        try:
            result = roster.import_roster(
                user=request.user, upload=request.FILES.get("file"), school_id=request.POST.get("school") or None
            )
        except ImportRejected as exc:
            context["rejected"] = exc
            return render(request, "students/roster_import.html", context, status=400)
        messages.success(
            request,
            _("导入成功:新增%(created)d人,更新%(updated)d人") % {"created": result.created, "updated": result.updated},
        )
        return redirect("roster-import")
    return render(request, "students/roster_import.html", context)


@login_required
@require_http_methods(["GET"])
def roster_template(request):
    _schools_or_404(request.user)
    response = HttpResponse(roster.build_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename=\"roster-template.xlsx\"; filename*=UTF-8''{quote(TEMPLATE_FILENAME)}"
    )
    return response
