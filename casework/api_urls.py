from django.urls import include, path

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("dropout-cases", api.DropoutCaseViewSet, basename="api-case")

urlpatterns = [*router.urls, path("", include("casework.screening.api_urls"))]
