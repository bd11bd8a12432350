from django.contrib.auth import views as auth_views
from django.urls import path

from students import views, views_calendar
from students.attendance import views as views_attendance
from students.roster import views as views_roster

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("schools/", views.school_list, name="school-list"),
    path("schools/<int:pk>/", views.school_detail, name="school-detail"),
    path("classrooms/<int:pk>/", views.classroom_detail, name="classroom-detail"),
    path("students/", views.student_list, name="student-list"),
    path("students/import/", views_roster.roster_import, name="roster-import"),
    path("students/import/template.xlsx", views_roster.roster_template, name="roster-template"),
    path("students/<int:pk>/", views.student_detail, name="student-detail"),
    path("students/<int:student_id>/flags/new/", views_attendance.flag_create, name="risk-flag-create"),
    path("attendance/", views_attendance.attendance_home, name="attendance-home"),
    path("attendance/take/<int:classroom_id>/", views_attendance.take_attendance, name="attendance-take"),
    path("attendance/duty/", views_attendance.duty_view, name="attendance-duty"),
    path("notifications/read/", views_attendance.notifications_read, name="notifications-read"),
    path("risk/", views_attendance.flag_list, name="risk-flags"),
    path("risk/rules/", views_attendance.rule_list, name="risk-rules"),
    path("calendar/official/", views_calendar.official_calendar_page, name="official-calendar"),
    path("risk/<int:pk>/", views_attendance.flag_detail, name="risk-flag-detail"),
    path("risk/<int:pk>/<str:action>/", views_attendance.flag_action, name="risk-flag-action"),
]
