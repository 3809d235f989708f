from django.contrib import admin
from django.db import transaction

from apps.accounts.scoped_admin import ScopedModelAdmin, ScopedTabularInline

from .models import ActivityHours, Course, IndustryPlan, PolicyRequirement, YearPolicy


class RequirementInline(ScopedTabularInline):
    model = PolicyRequirement


class ActivityHoursInline(ScopedTabularInline):
    model = ActivityHours


@admin.register(YearPolicy)
class YearPolicyAdmin(ScopedModelAdmin):
    list_display = ("year", "region", "title", "registration_deadline", "minutes_per_hour", "hours_per_credit")
    list_filter = ("year", "region")
    search_fields = ("title",)
    inlines = [RequirementInline, ActivityHoursInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Publishing a year's policy opens the year for everyone holding a title, in a worker, once committed.
        from apps.ledger.tasks import open_year

        year = obj.year
        transaction.on_commit(lambda: open_year.delay(year))


@admin.register(PolicyRequirement)
class PolicyRequirementAdmin(ScopedModelAdmin):
    list_display = ("policy", "level", "total_hours", "public_hours", "public_required_hours", "professional_hours")
    list_filter = ("policy__year", "level")


@admin.register(Course)
class CourseAdmin(ScopedModelAdmin):
    list_display = ("code", "title", "category", "hours", "credits", "mode", "year", "industry", "is_active")
    list_filter = ("year", "category", "mode", "industry", "is_active")
    search_fields = ("code", "title")


@admin.register(IndustryPlan)
class IndustryPlanAdmin(ScopedModelAdmin):
    list_display = ("title", "department", "year", "starts_on", "ends_on", "status", "reviewed_at")
    list_filter = ("year", "status", "department")
    search_fields = ("title",)
