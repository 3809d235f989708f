from django.contrib import admin

from apps.accounts.scoped_admin import ScopedModelAdmin

from .models import HourEntry, HourImport, PersonYearTotal


class ReadOnlyLedgerAdmin(ScopedModelAdmin):
    """The ledger is looked at here, never edited: its services are the only writers."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HourEntry)
class HourEntryAdmin(ReadOnlyLedgerAdmin):
    list_display = ("person", "year", "category", "hours", "course", "course_title", "base", "organiser",
                    "completed_on", "source", "reverses", "created_at")
    list_filter = ("year", "category", "source", "organiser", "base")
    search_fields = ("person__name", "course__code", "course_title", "source_key")
    list_select_related = ("person", "course", "base", "reverses")
    date_hierarchy = "completed_on"


@admin.register(PersonYearTotal)
class PersonYearTotalAdmin(ReadOnlyLedgerAdmin):
    list_display = ("person", "year", "public_required", "public_elective", "professional", "organised_city",
                    "entries")
    list_filter = ("year",)
    search_fields = ("person__name",)
    list_select_related = ("person",)


@admin.register(HourImport)
class HourImportAdmin(ReadOnlyLedgerAdmin):
    list_display = ("file_name", "rows", "created_entries", "created_by", "created_at")
    search_fields = ("file_name", "sha256")
