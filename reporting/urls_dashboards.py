"""Dashboard pages (wired in config/urls.py with ``path("", include("reporting.urls_dashboards"))``)."""

from django.urls import path

from . import views_dashboards as views

urlpatterns = [
    path("dashboard/school/", views.school_dashboard, name="dashboard-school"),
    path("dashboard/county/", views.county_dashboard, name="dashboard-county"),
]
