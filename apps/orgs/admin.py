from django.contrib import admin

from apps.accounts.scoped_admin import ScopedModelAdmin

from .models import Industry, IndustryDepartment, Region, Unit


@admin.register(Region)
class RegionAdmin(ScopedModelAdmin):
    list_display = ("code", "name", "kind", "parent")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Industry)
class IndustryAdmin(ScopedModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(IndustryDepartment)
class IndustryDepartmentAdmin(ScopedModelAdmin):
    list_display = ("name", "industry", "region")
    list_filter = ("industry",)
    search_fields = ("name",)


@admin.register(Unit)
class UnitAdmin(ScopedModelAdmin):
    list_display = ("name", "credit_code", "region", "industry")
    list_filter = ("region", "industry")
    search_fields = ("name", "credit_code")
    list_select_related = ("region", "industry")
