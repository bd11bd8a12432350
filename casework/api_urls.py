from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.register("dropout-cases", api.DropoutCaseViewSet, basename="api-case")

urlpatterns = router.urls
