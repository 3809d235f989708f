from django.contrib import admin

from apps.accounts.scoped_admin import ScopedModelAdmin, ScopedTabularInline

from .models import Course, PolicyRequirement, YearPolicy


class RequirementInline(ScopedTabularInline):
    model = PolicyRequirement


@admin.register(YearPolicy)
class YearPolicyAdmin(ScopedModelAdmin):
    list_display = ("year", "region", "title", "registration_deadline", "minutes_per_hour", "hours_per_credit")
    list_filter = ("year", "region")
    search_fields = ("title",)
    inlines = [RequirementInline]


@admin.register(PolicyRequirement)
class PolicyRequirementAdmin(ScopedModelAdmin):
    list_display = ("policy", "level", "total_hours", "public_hours", "public_required_hours", "professional_hours")
    list_filter = ("policy__year", "level")


@admin.register(Course)
class CourseAdmin(ScopedModelAdmin):
    list_display = ("code", "title", "category", "hours", "credits", "mode", "year", "industry", "is_active")
    list_filter = ("year", "category", "mode", "industry", "is_active")
    search_fields = ("code", "title")
