"""API routes of accountability/pledges (included by accountability/api_urls.py under /api/v1/)."""

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("pledges", api.PledgeViewSet, basename="api-pledge")
router.register("pledge-templates", api.PledgeTemplateViewSet, basename="api-pledge-template")

urlpatterns = router.urls
