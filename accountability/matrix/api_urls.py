"""API routes of the 包保 matrix and the leading groups."""

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("responsibilities", api.ResponsibilityViewSet, basename="api-responsibility")
router.register("leading-groups", api.LeadingGroupViewSet, basename="api-leading-group")

urlpatterns = router.urls
