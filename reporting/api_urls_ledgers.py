"""API routes of the Excel ledgers and the download log (included under /api/v1/)."""

from django.urls import path

from . import api_ledgers

urlpatterns = [
    path("ledgers/<str:name>.xlsx", api_ledgers.ledger_download, name="api-ledger-download"),
    path("downloads/", api_ledgers.DownloadLogList.as_view(), name="api-download-log"),
]
