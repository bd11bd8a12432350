"""Pages of accountability/matrix (included by accountability/urls.py)."""

urlpatterns: list = []
