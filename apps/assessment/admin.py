"""The audit in the admin: looked at, never edited (only its services write it)."""
from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin

from .models import AuditSnapshot, AuditWeights, Commendation


@admin.register(AuditSnapshot)
class AuditSnapshotAdmin(ReadOnlyScopedAdmin):
    list_display = ("year", "region", "status", "is_current", "people", "compliant", "as_of", "through_entry",
                    "started_at", "finished_at")
    list_filter = ("year", "status", "is_current")
    readonly_fields = ("error",)


@admin.register(AuditWeights)
class AuditWeightsAdmin(ReadOnlyScopedAdmin):
    list_display = ("region", "rate", "public_rate", "shortfall", "commend_counties", "commend_units",
                    "min_unit_people", "updated_by", "updated_at")


@admin.register(Commendation)
class CommendationAdmin(ReadOnlyScopedAdmin):
    list_display = ("snapshot", "kind", "rank", "county", "unit", "score", "status", "decided_by", "decided_at")
    list_filter = ("kind", "status")
