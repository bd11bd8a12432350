"""Pages of accountability/findings (included by accountability/urls.py, namespace ``accountability``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("findings/", views.finding_list, name="findings"),
    path("findings/new/", views.finding_new, name="finding-new"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/do/<str:action>/", views.finding_action, name="finding-action"),
    path("findings/<int:pk>/attachments/<int:attachment_id>/", views.finding_attachment, name="finding-attachment"),
]
