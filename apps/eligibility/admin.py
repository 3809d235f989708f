from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin

from .models import EligibilityLookup


@admin.register(EligibilityLookup)
class EligibilityLookupAdmin(ReadOnlyScopedAdmin):
    # The log is evidence of who looked at whose record: written by the lookup service only, never edited.
    list_display = ("at", "user", "person", "id_number_masked", "years", "outcome", "channel", "ip")
    list_filter = ("outcome", "channel")
    search_fields = ("user__username", "id_number_masked", "person__name")
    list_select_related = ("user", "person")
    date_hierarchy = "at"
