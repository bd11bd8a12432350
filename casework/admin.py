"""Admin for cases: the trail and the plans are read-only; writes go through casework.services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from students import idnumber, scoping
from students.admin import ScopedAdminMixin
from students.errors import DomainError

from . import selectors, services
from .models import (
    CaseActivity,
    CaseEvent,
    CaseHandover,
    CountyPolicy,
    DropoutCase,
    FollowUp,
    ReturnPlan,
    ScreenedChild,
    ScreeningRun,
)
from .screening import selectors as screening_selectors


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ["at", "by", "action", "from_status", "to_status", "note"]
    readonly_fields = fields


class PlanInline(ReadOnlyInline):
    model = ReturnPlan
    fields = ["version", "is_current", "method", "target_return_on", "school_leader", "class_teacher", "township_cadre"]
    readonly_fields = fields


class ActivityInline(ReadOnlyInline):
    model = CaseActivity
    fields = ["occurred_on", "kind", "outcome", "participants", "next_step_on"]
    readonly_fields = fields


@admin.register(DropoutCase)
class DropoutCaseAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["student", "school", "status", "reason", "detected_on", "verified_on", "next_due_on", "due_kind"]
    list_filter = ["status", "reason", "source", "due_kind"]
    search_fields = ["student__name", "student__student_no", "school__name"]
    date_hierarchy = "detected_on"
    list_select_related = ["student", "school"]
    raw_id_fields = ["student", "school", "classroom", "source_flag", "previous_case", "signed_by", "created_by"]
    inlines = [PlanInline, ActivityInline, EventInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(selectors.case_q(request.user))

    def has_change_permission(self, request, obj=None):
        return False  # transitions go through the services, which write the trail

    def has_add_permission(self, request):
        return False


@admin.register(CountyPolicy)
class CountyPolicyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "county",
        "report_working_days",
        "verify_working_days",
        "plan_working_days",
        "contact_interval_working_days",
        "consolidate_school_days",
    ]

    def scope_queryset(self, request, queryset):
        return queryset.filter(county__in=scoping.managed_counties(request.user))


@admin.register(FollowUp)
class FollowUpAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["case", "kind", "due_on", "assignee", "done_on"]
    list_filter = ["kind"]
    raw_id_fields = ["case", "assignee"]
    actions = ["mark_done"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(case__in=selectors.cases_visible_to(request.user))

    def has_change_permission(self, request, obj=None):
        return False  # completing a follow-up goes through the service (case trail and deadlines)

    def has_add_permission(self, request):
        return False  # follow-ups are scheduled by the return service

    @admin.action(description=_("标记为已完成"), permissions=["view"])
    def mark_done(self, request, queryset):
        done = 0
        for follow_up in queryset.filter(done_on__isnull=True):
            try:
                services.complete_follow_up(user=request.user, follow_up_id=follow_up.pk, note="")
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{follow_up}: {exc.message}", messages.ERROR)
        self.message_user(request, _("已完成 %(n)d 项") % {"n": done}, messages.SUCCESS)


@admin.register(CaseHandover)
class CaseHandoverAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["case", "from_school", "to_school", "at", "by"]
    raw_id_fields = ["case", "by"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(case__in=selectors.cases_visible_to(request.user))

    def has_change_permission(self, request, obj=None):
        return False


# --- screening: read here (with the history of each child's resolution); written by the import and its pages


class ScreeningReadOnly(ScopedAdminMixin, SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScreeningRun)
class ScreeningRunAdmin(ScreeningReadOnly):
    list_display = ["title", "county", "status", "progress", "file_name", "imported_by", "created_at", "finished_at"]
    list_filter = ["status", "county"]
    search_fields = ["title", "file_name", "file_sha256"]
    exclude = ["file"]  # the register is downloaded through its scoped page, never from a media URL

    def scope_queryset(self, request, queryset):
        return queryset.filter(county__in=scoping.managed_counties(request.user))


@admin.register(ScreenedChild)
class ScreenedChildAdmin(ScreeningReadOnly):
    list_display = ["name", "id_number", "village", "outcome", "suggestion", "resolution", "school", "run"]
    list_filter = ["outcome", "resolution", "suggestion", "run"]
    search_fields = ["name", "household_head"]
    list_select_related = ["village__township", "school", "run"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(screening_selectors.children_q(request.user))

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj):
        return idnumber.mask(obj.id_number)

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not scoping.scope_for(request.user).sees_full_id_numbers:
            columns[columns.index("id_number")] = "masked_id_number"
        return columns

    def get_exclude(self, request, obj=None):
        hidden = ["evidence"]  # downloaded through its scoped page, never from a media URL
        if not scoping.scope_for(request.user).sees_full_id_numbers:
            hidden.append("id_number")
        return hidden
