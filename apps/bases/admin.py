from django.contrib import admin

from apps.accounts.scoped_admin import ScopedModelAdmin

from .models import CountyDelegation, TrainingBase


@admin.register(TrainingBase)
class TrainingBaseAdmin(ScopedModelAdmin):
    list_display = ("code", "name", "kind", "level", "region", "serves_public", "serves_professional",
                    "serves_senior", "serves_intermediate", "serves_junior", "is_active")
    list_filter = ("kind", "level", "region", "is_active")
    search_fields = ("code", "name")


@admin.register(CountyDelegation)
class CountyDelegationAdmin(ScopedModelAdmin):
    list_display = ("county", "base", "since", "note")
    list_filter = ("county",)
