"""Pages of accountability/pledges (included by accountability/urls.py, namespace ``accountability``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("pledges/", views.pledge_list, name="pledges"),
    path("pledges/templates/", views.pledge_templates, name="pledge-templates"),
    path("pledges/<int:pk>/", views.pledge_detail, name="pledge"),
    path("pledges/<int:pk>/scan/", views.pledge_scan, name="pledge-scan"),
    path("pledges/<int:pk>/print/", views.pledge_print, name="pledge-print"),
]
