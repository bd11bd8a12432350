"""API routes of accountability/signoffs (registered on the app's router in accountability/api_urls.py)."""

urlpatterns: list = []
