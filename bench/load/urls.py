"""The project's URLs plus the bare yardstick route (only under :mod:`bench.load.settings`)."""

from django.urls import include, path

from .bare import BARE_PATH, BareAttendance

handler500 = "students.ops.server_error"  # as in config.urls (a root URLconf's handlers are not included)

urlpatterns = [
    path(BARE_PATH.lstrip("/"), BareAttendance.as_view(), name="load-bare-attendance"),
    path("", include("config.urls")),
]
