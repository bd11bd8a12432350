"""API routes of accountability/signoffs (included by accountability/api_urls.py under /api/v1/)."""

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("weekly-signoffs", api.WeeklySignoffViewSet, basename="api-signoff")

urlpatterns = router.urls
