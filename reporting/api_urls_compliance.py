"""API routes of the compliance metrics and the appraisal (issue 13)."""

from django.urls import path

from . import api_appraisal, api_compliance

urlpatterns = [
    path("compliance/", api_compliance.ComplianceView.as_view(), name="api-compliance"),
    path("appraisals/", api_appraisal.AppraisalView.as_view(), name="api-appraisals"),
    path("appraisals.xlsx", api_appraisal.AppraisalXlsxView.as_view(), name="api-appraisals-xlsx"),
]
