"""API routes of screening (included by casework/api_urls.py under /api/v1/)."""

from django.urls import path

from students.api_common import Router

from . import api

router = Router(trailing_slash=True)
router.register("screening/runs", api.ScreeningRunViewSet, basename="api-screening-run")
router.register("screening/children", api.ScreenedChildViewSet, basename="api-screening-child")

urlpatterns = [
    path("screening/template.xlsx", api.TemplateView.as_view(), name="api-screening-template"),
    *router.urls,
]
