"""The compliance page (督导考核指标) and the appraisal page (考核), for the bureau and school leaders;
a class teacher sees their own row. Each missed metric offers the bureau a finding in one click."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from students import scoping
from students.errors import DomainError, as_id, page_message

from . import appraisal, compliance
from .api_appraisal import appraisal_period


def _county(user) -> int | None:
    return (
        scoping.scope_for(user).home_county_id
        or scoping.post_county_ids(user).values_list("county_id", flat=True).first()
    )


@login_required
def compliance_page(request):
    user, params = request.user, request.GET
    error, result = "", None
    try:
        start, end = compliance.period_for(
            _county(user), period=params.get("period", ""), start=params.get("start", ""), end=params.get("end", "")
        )
        result = compliance.for_user(user, start, end, school=as_id(params.get("school"), "学校"))
    except DomainError as exc:
        error = page_message(exc)
    bureau = scoping.scope_for(user).county_level
    rows = []
    if result is not None:
        label = params.get("period") or f"{result.start:%Y-%m-%d}至{result.end:%Y-%m-%d}"
        for row in result.schools:
            cells = []
            for code, value in row.values.items():
                link = ""
                if bureau and value.met is False:
                    metric = compliance.BY_CODE[code]
                    facts = f"{row.name}{label}{metric.label}为{_shown(value)},未达到目标{_shown(value, target=True)}。"
                    query = urlencode({"school": row.key, "metric": code, "period": label[:30], "facts": facts})
                    link = f"{reverse('accountability:finding-new')}?{query}"
                cells.append({"value": value, "metric": compliance.BY_CODE[code], "finding_link": link})
            rows.append({"row": row, "cells": cells})
    return render(
        request,
        "reporting/compliance.html",
        {
            "result": result,
            "rows": rows,
            "people": result.people if result else [],
            "person_codes": compliance.PERSON_METRICS,
            "metrics": compliance.METRICS,
            "error": error,
            "period": params.get("period", ""),
        },
    )


def _shown(value: compliance.Value, *, target: bool = False) -> str:
    number = value.target if target else value.value
    if number is None:
        return "—"
    return f"{number:.2f}%" if compliance.BY_CODE[value.code].unit == "%" else f"{number:.2f}"


@login_required
def appraisal_page(request):
    user = request.user
    error, found = "", None
    try:
        start, end, label = appraisal_period(user, request.GET)
        found = appraisal.for_user(user, start, end, label=label, school=as_id(request.GET.get("school"), "学校"))
    except DomainError as exc:
        error = page_message(exc)
    return render(
        request,
        "reporting/appraisal.html",
        {
            "found": found,
            "error": error,
            "query": urlencode({k: v for k, v in request.GET.items() if k in ("term", "school_year", "school")}),
            "veto_rules": appraisal.VETO_RULES,
        },
    )
