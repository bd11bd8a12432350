"""API routes of accountability/findings (registered on the app's router in accountability/api_urls.py)."""

urlpatterns: list = []
