from rest_framework.routers import DefaultRouter

from . import api_reports

router = DefaultRouter(trailing_slash=True)
router.register("reports", api_reports.ReportRunViewSet, basename="api-report")

urlpatterns = router.urls
