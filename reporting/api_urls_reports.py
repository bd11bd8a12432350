from students.api_common import Router

from . import api_reports

router = Router(trailing_slash=True)
router.register("reports", api_reports.ReportRunViewSet, basename="api-report")

urlpatterns = router.urls
