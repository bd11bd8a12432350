"""API routes of accountability/matrix (registered on the app's router in accountability/api_urls.py)."""

urlpatterns: list = []
