"""API routes of accountability/findings (included by accountability/api_urls.py under /api/v1/)."""

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("findings", api.FindingViewSet, basename="api-finding")
router.register("teacher-faults", api.TeacherFaultViewSet, basename="api-teacher-fault")

urlpatterns = router.urls
