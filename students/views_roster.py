"""Placeholder: replaced by the roster import work."""

from .views import home as roster_import

roster_template = roster_import
