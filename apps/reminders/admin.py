from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin

from .models import Reminder


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyScopedAdmin):
    # Written by the weekly job only; changing one by hand would break the once-a-week record.
    list_display = ("created_at", "year", "kind", "person", "unit", "emailed_to", "read_at")
    list_filter = ("year", "kind")
    search_fields = ("person__name", "unit__name", "emailed_to")
    list_select_related = ("person", "unit")
    date_hierarchy = "created_at"
