from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.register("schools", api.SchoolViewSet, basename="api-school")
router.register("classrooms", api.ClassroomViewSet, basename="api-classroom")
router.register("students", api.StudentViewSet, basename="api-student")

urlpatterns = [
    path("auth/token/", api.obtain_token, name="api-token"),
    path("me/", api.me, name="api-me"),
    *router.urls,
]
