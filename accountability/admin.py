"""Admin for accountability: the county's settings are edited here; the matrix, pledges, sign-offs
and findings are read here (with their history) and changed through their pages and services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from students import scoping
from students.admin import ScopedAdminMixin

from .models import (
    AccountabilityPolicy,
    Finding,
    LeadingGroup,
    Pledge,
    PledgeTemplate,
    Responsibility,
    TeacherFault,
    WeeklySignoff,
)


class ReadOnlyAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Shown with its history; written only by the services (which check the workflow and the roles)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CountyScoped:
    county_field = "county"

    def scope_queryset(self, request, queryset):
        return queryset.filter(**{f"{self.county_field}__in": scoping.managed_counties(request.user)})


@admin.register(AccountabilityPolicy)
class AccountabilityPolicyAdmin(CountyScoped, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["county", "sign_working_days", "flag_ack_school_days", "finding_working_days", "report_by"]


@admin.register(Responsibility)
class ResponsibilityAdmin(CountyScoped, ReadOnlyAdmin):
    list_display = ["school_year", "person", "line", "target_kind", "target_key", "owner_school"]
    list_filter = ["line", "target_kind"]
    list_select_related = ["school_year", "person", "owner_school"]


@admin.register(LeadingGroup)
class LeadingGroupAdmin(CountyScoped, ReadOnlyAdmin):
    county_field = "school__county"
    list_display = ["school", "school_year", "leader", "updated_at"]


@admin.register(Pledge)
class PledgeAdmin(CountyScoped, ReadOnlyAdmin):
    list_display = ["kind", "school", "term", "party_a", "party_b", "signed_on"]
    list_filter = ["kind"]


@admin.register(PledgeTemplate)
class PledgeTemplateAdmin(CountyScoped, ReadOnlyAdmin):
    list_display = ["county", "kind", "title", "updated_at"]


@admin.register(WeeklySignoff)
class WeeklySignoffAdmin(CountyScoped, ReadOnlyAdmin):
    county_field = "school__county"
    list_display = ["school", "week", "status", "signed_at", "sign_late", "received_at", "receive_late"]
    list_filter = ["status", "sign_late"]


@admin.register(Finding)
class FindingAdmin(CountyScoped, ReadOnlyAdmin):
    list_display = ["school", "issued_on", "due_on", "status", "source", "metric"]
    list_filter = ["status", "source"]


@admin.register(TeacherFault)
class TeacherFaultAdmin(CountyScoped, ReadOnlyAdmin):
    list_display = ["person", "case", "recorded_on", "recorded_by"]
