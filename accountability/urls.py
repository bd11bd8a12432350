"""Pages of accountability, under /accountability/ (namespace ``accountability``)."""

from django.urls import include, path

app_name = "accountability"

urlpatterns = [
    path("", include("accountability.matrix.urls")),
    path("", include("accountability.findings.urls")),
    path("", include("accountability.signoffs.urls")),
    path("", include("accountability.pledges.urls")),
]
