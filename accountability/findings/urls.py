"""Pages of accountability/findings (included by accountability/urls.py)."""

urlpatterns: list = []
