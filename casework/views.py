"""Case pages. Thin: parse, call a service or selector, render."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def case_list(request):
    return render(request, "casework/case_list.html", {"cases": selectors.case_list(request.user)[:50]})


@login_required
def case_detail(request, pk: int):
    return render(request, "casework/case_detail.html", {"case": selectors.case_detail(request.user, pk)})
