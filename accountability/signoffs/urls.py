"""Pages of accountability/signoffs (included by accountability/urls.py)."""

urlpatterns: list = []
