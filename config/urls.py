from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from students import ops, pwa

handler500 = "students.ops.server_error"  # a database outage answers 503 in Chinese, not a bare 500

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("favicon.ico", ops.favicon),
    # The installable attendance app: its manifest and service worker from the site root (students/pwa.py).
    path("manifest.webmanifest", pwa.manifest, name="pwa-manifest"),
    path("sw.js", pwa.service_worker, name="pwa-service-worker"),
    path("offline/", pwa.offline_page, name="pwa-offline"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("students.api_urls")),
    path("api/v1/", include("casework.api_urls")),
    path("api/v1/", include("reporting.api_urls_reports")),
    path("api/v1/", include("reporting.api_urls_ledgers")),
    path("api/v1/", include("accountability.api_urls")),
    path("api/v1/", include("reporting.api_urls_compliance")),
    # The API's description is for signed-in users only (session or token), like the API itself.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path(
        "api/docs/",
        # The split view loads its start-up script as a file: the page needs no inline script (CSP).
        # Swagger UI's bundle adds <style> elements of its own: inline styles are allowed on this page only.
        csp_replace({"style-src": [SELF, UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated])
        ),
        name="api-docs",
    ),
    path("", include("casework.urls")),
    path("accountability/", include("accountability.urls")),
    path("", include("reporting.urls_reports")),
    path("", include("reporting.urls_ledgers")),
    path("", include("reporting.urls_dashboards")),
    path("", include("reporting.urls_compliance")),
    path("screening/", include("casework.screening.urls")),
    path("", include("students.urls")),
]
# No route serves MEDIA_ROOT, in any mode: generated reports and ledgers are downloaded only through
# their scoped views (reporting/views_reports.py), which check the reader and log the download.
