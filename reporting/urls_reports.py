from django.urls import path

from . import views_reports as views

urlpatterns = [
    path("reports/", views.report_list, name="report-list"),
    path("reports/generate/", views.report_generate, name="report-generate"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("reports/<int:pk>/file/", views.report_file, name="report-file"),
    path("reports/<int:pk>/regenerate/", views.report_regenerate, name="report-regenerate"),
    path("reports/<int:pk>/sign/", views.report_sign, name="report-sign"),
]
