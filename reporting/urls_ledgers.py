"""Pages of the Excel ledgers and the download log."""

from django.urls import path

from . import views_ledgers

urlpatterns = [
    path("ledgers/", views_ledgers.ledgers, name="ledgers"),
    path("ledgers/generate/", views_ledgers.generate, name="ledgers-generate"),
    path("downloads/", views_ledgers.download_log, name="download-log"),
]
