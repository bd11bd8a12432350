"""API v1 of accountability: each concern's routes (DESIGN.md §7)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accountability.matrix.api_urls")),
    path("", include("accountability.findings.api_urls")),
    path("", include("accountability.signoffs.api_urls")),
    path("", include("accountability.pledges.api_urls")),
]
