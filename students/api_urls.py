from django.urls import path

from students import api
from students.api_common import Router
from students.attendance import api as api_attendance

router = Router(trailing_slash=True)
router.register("schools", api.SchoolViewSet, basename="api-school")
router.register("classrooms", api.ClassroomViewSet, basename="api-classroom")
router.register("students", api.StudentViewSet, basename="api-student")
router.register("attendance", api_attendance.AttendanceViewSet, basename="api-attendance")
router.register("risk-flags", api_attendance.RiskFlagViewSet, basename="api-riskflag")

urlpatterns = [
    path("auth/token/", api.obtain_token, name="api-token"),
    path("auth/logout/", api.revoke_token, name="api-logout"),
    path("me/", api.me, name="api-me"),
    *router.urls,
]
