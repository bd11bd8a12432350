"""Pages of the 包保 matrix (included by accountability/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [path("matrix/", views.matrix_page, name="matrix")]
