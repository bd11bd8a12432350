"""Django admin for the org tree and people.

Superusers see everything. Staff users who are not superusers see only what their posts let
them see, through the same scoping module as every page and API.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import idnumber, scoping
from .attendance import risk
from .errors import DomainError
from .models import (
    Absence,
    Classroom,
    Closure,
    County,
    DailyReport,
    DailyReportRevision,
    Grade,
    Guardian,
    Notification,
    Post,
    RiskFlag,
    RiskRule,
    School,
    SchoolYear,
    Student,
    Term,
    Township,
    User,
    Village,
)


class ScopedAdminMixin:
    """Limit the change list, the change form and foreign-key choices to the user's scope."""

    def scope_queryset(self, request, queryset):
        raise NotImplementedError

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return self.scope_queryset(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            related = {
                School: scoping.schools_visible_to,
                Classroom: scoping.classrooms_visible_to,
                Student: scoping.students_visible_to,
            }.get(db_field.related_model)
            if related is not None:
                kwargs["queryset"] = related(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(County)
class CountyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=scoping.post_county_ids(request.user))


class VillageInline(admin.TabularInline):
    model = Village
    extra = 0


@admin.register(Township)
class TownshipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "county"]
    list_filter = ["county"]
    search_fields = ["name", "code"]
    inlines = [VillageInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(county_id__in=scoping.post_county_ids(request.user))


@admin.register(Village)
class VillageAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "township"]
    list_filter = ["township"]
    search_fields = ["name", "code", "township__name"]
    list_select_related = ["township"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(township__county_id__in=scoping.post_county_ids(request.user))


class GradeInline(admin.TabularInline):
    model = Grade
    extra = 0


@admin.register(School)
class SchoolAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "stage", "township", "dropout_rate_target"]
    list_filter = ["stage", "township"]
    search_fields = ["name", "code"]
    list_select_related = ["township"]
    inlines = [GradeInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=scoping.schools_visible_to(request.user).values("pk"))


@admin.register(Grade)
class GradeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "level", "school"]
    list_filter = ["level"]
    search_fields = ["school__name"]
    list_select_related = ["school"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(school__in=scoping.schools_visible_to(request.user))


@admin.register(Classroom)
class ClassroomAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "school", "grade", "number"]
    list_filter = ["grade__level", "school__stage"]
    search_fields = ["name", "school__name"]
    list_select_related = ["school", "grade"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=scoping.classrooms_visible_to(request.user).values("pk"))


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0


@admin.register(Student)
class StudentAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "student_no", "id_number", "gender", "school", "classroom", "status"]
    list_filter = ["status", "gender", "left_behind", "poverty_registered", "disabled", "school__stage"]
    search_fields = ["name", "name_initials", "name_pinyin", "student_no"]
    list_select_related = ["school", "classroom"]
    autocomplete_fields = ["village"]
    raw_id_fields = ["school", "classroom"]
    inlines = [GuardianInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(scoping.student_q(scoping.scope_for(request.user)))

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj):
        return idnumber.mask(obj.id_number)

    @admin.display(description=_("全国学籍号"))
    def masked_student_no(self, obj):
        return idnumber.mask(obj.student_no)  # usually "G" + the 身份证号: masked like it

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not scoping.scope_for(request.user).sees_full_id_numbers:
            columns[columns.index("id_number")] = "masked_id_number"
            columns[columns.index("student_no")] = "masked_student_no"
        return columns

    def get_search_fields(self, request):
        fields = list(super().get_search_fields(request))
        if not scoping.scope_for(request.user).sees_full_id_numbers:
            fields.remove("student_no")  # an icontains search would give away the masked digits
        return fields

    def get_exclude(self, request, obj=None):
        if not scoping.scope_for(request.user).sees_full_id_numbers:
            return ["id_number", "student_no"]
        return super().get_exclude(request, obj)


@admin.register(Guardian)
class GuardianAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "relation", "phone", "student", "works_away"]
    list_filter = ["relation", "works_away"]
    search_fields = ["name", "phone", "student__name"]
    raw_id_fields = ["student"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(scoping.student_q(scoping.scope_for(request.user), "student__"))


class TermInline(admin.TabularInline):
    model = Term
    extra = 0


@admin.register(SchoolYear)
class SchoolYearAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "county", "start_date", "end_date"]
    list_filter = ["county"]
    search_fields = ["name"]
    inlines = [TermInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(county_id__in=scoping.post_county_ids(request.user))


@admin.register(Term)
class TermAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "school_year", "start_date", "end_date"]
    list_filter = ["school_year"]
    search_fields = ["name"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(school_year__county_id__in=scoping.post_county_ids(request.user))


@admin.register(Closure)
class ClosureAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["start_date", "end_date", "reason", "county"]
    list_filter = ["county"]
    search_fields = ["reason"]
    date_hierarchy = "start_date"

    def scope_queryset(self, request, queryset):
        return queryset.filter(county_id__in=scoping.post_county_ids(request.user))


class PostInline(admin.TabularInline):
    model = Post
    extra = 0
    fk_name = "user"
    raw_id_fields = ["classroom", "school", "village", "township"]


@admin.register(User)
class UserAdmin(ScopedAdminMixin, BaseUserAdmin):
    list_display = ["username", "display_name", "phone", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("联系方式"), {"fields": ("display_name", "phone")}))
    inlines = [PostInline]

    def scope_queryset(self, request, queryset):
        # Colleagues whose posts lie within what this user can see, and the user themself.
        user = request.user
        schools = scoping.schools_visible_to(user).values("pk")
        within = Q(posts__school_id__in=schools) | Q(posts__classroom__school_id__in=schools)
        within |= scoping.county_q(scoping.scope_for(user), "posts__county_id")
        return queryset.filter(within | Q(pk=user.pk)).distinct()


@admin.register(Post)
class PostAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "role", "title", "scope_label", "start_date", "end_date"]
    list_filter = ["role", "county"]
    search_fields = ["user__username", "user__display_name", "title"]
    raw_id_fields = ["user", "classroom", "school", "village", "township"]
    list_select_related = ["user", "classroom", "school", "village", "township", "county"]

    def scope_queryset(self, request, queryset):
        scope = scoping.scope_for(request.user)
        schools = scoping.schools_visible_to(request.user).values("pk")
        within = Q(school_id__in=schools) | Q(user=request.user) | scoping.county_q(scope, "county_id")
        return queryset.filter(within)


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0
    raw_id_fields = ["student"]
    readonly_fields = ["date"]


class RevisionInline(admin.TabularInline):
    model = DailyReportRevision
    extra = 0
    can_delete = False
    readonly_fields = ["version", "submitted_by", "submitted_at", "present_count", "absences"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DailyReport)
class DailyReportAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Reports are written through the attendance service; the admin only reads them."""

    list_display = ["date", "classroom", "school", "version", "enrolled_count", "present_count", "submitted_by"]
    list_filter = ["date", "school"]
    search_fields = ["classroom__name", "school__name"]
    date_hierarchy = "date"
    list_select_related = ["classroom", "school", "submitted_by"]
    inlines = [AbsenceInline, RevisionInline]

    def scope_queryset(self, request, queryset):
        return queryset.filter(classroom__in=scoping.manageable_classrooms(request.user))

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(RiskRule)
class RiskRuleAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "version", "level", "params", "active", "county", "created_at"]
    list_filter = ["code", "active", "county"]
    search_fields = ["code"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(county_id__in=scoping.post_county_ids(request.user))

    def has_change_permission(self, request, obj=None):
        return False  # parameters change through risk.update_rule, which adds a version


@admin.register(RiskFlag)
class RiskFlagAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["student", "level", "rule_code", "rule_version", "status", "evidence_text", "raised_at"]
    list_filter = ["level", "status", "rule_code", "category"]
    search_fields = ["student__name", "student__student_no", "evidence_text"]
    raw_id_fields = ["student", "rule", "raised_by", "handled_by"]
    list_select_related = ["student"]
    date_hierarchy = "raised_at"

    actions = ["acknowledge", "resolve"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(scoping.student_q(scoping.scope_for(request.user), "student__"))

    def has_change_permission(self, request, obj=None):
        return False  # flags change state through risk.handle_flag (and are raised by the rules or a person)

    def has_add_permission(self, request):
        return False

    def _handle(self, request, queryset, action: str) -> None:
        done = 0
        for flag in queryset:
            try:
                risk.handle_flag(user=request.user, flag_id=flag.pk, action=action, note=str(_("在管理后台处理")))
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{flag}: {exc.message}", messages.ERROR)
        self.message_user(request, _("已处理 %(n)d 条预警") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("标记为已知悉"), permissions=["view"])
    def acknowledge(self, request, queryset):
        self._handle(request, queryset, "acknowledge")

    @admin.action(description=_("解除预警"), permissions=["view"])
    def resolve(self, request, queryset):
        self._handle(request, queryset, "resolve")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "text", "created_at", "read_at"]
    list_filter = ["kind", "read_at"]
    search_fields = ["user__username", "text"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)


admin.site.site_header = _("控辍保学管理后台")
admin.site.site_title = _("控辍保学")
admin.site.index_title = _("系统管理")
