"""Pages of accountability/signoffs (included by accountability/urls.py, namespace ``accountability``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("signoffs/", views.signoffs, name="signoffs"),
    path("signoffs/sign/", views.signoff_sign, name="signoff-sign"),
    path("signoffs/<int:pk>/receive/", views.signoff_receive, name="signoff-receive"),
    path("signoffs/<int:pk>/return/", views.signoff_return, name="signoff-return"),
]
