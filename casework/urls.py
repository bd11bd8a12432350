from django.urls import path

from . import views

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/report/", views.case_report, name="case-report"),
    path("cases/<int:pk>/do/<str:action>/", views.case_action, name="case-action"),
    path("cases/<int:pk>/follow-ups/<int:follow_up_id>/done/", views.follow_up_done, name="case-follow-up-done"),
    path("cases/<int:pk>/print/report/", views.print_report, name="case-print-report"),
    path("cases/<int:pk>/print/notice/", views.print_notice, name="case-print-notice"),
    path("students/<int:student_id>/report-dropout/", views.case_open, name="case-open"),
]
