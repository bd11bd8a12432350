"""Admin for report runs and the download log: read-only, scoped like the pages.

Runs are made by reporting.services and never changed once done; downloads are written by
reporting.services.log_download. The admin only looks, at what reporting.selectors lets the user
see (both lists are scoped through students.scoping).
"""

from django.contrib import admin

from students.admin import ScopedAdminMixin

from . import selectors
from .models import DownloadLog, ReportRun


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(ReportRun)
class ReportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "period",
        "scope_name",
        "generation",
        "status",
        "progress",
        "row_count",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status", "scope_type"]
    search_fields = ["scope_name", "period"]
    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=selectors.runs_visible_to(request.user).values("pk"))


@admin.register(DownloadLog)
class DownloadLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "what", "label", "row_count", "school_id", "county_id", "ip_address"]
    list_filter = ["what"]
    search_fields = ["user__username", "user__display_name", "label"]
    date_hierarchy = "at"
    list_select_related = ["user"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=selectors.downloads_visible_to(request.user).values("pk"))
