from django.contrib import admin
from import_export.admin import ImportExportMixin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin
from apps.auditlog.admin import AuditedExportMixin
from apps.core.importing import IMPORT_FORMATS

from .models import HourEntry, HourImport, PersonYearTotal
from .resources import HourEntryResource


@admin.register(HourEntry)
class HourEntryAdmin(AuditedExportMixin, ImportExportMixin, ReadOnlyScopedAdmin):
    # Importing history goes through the resource, which writes through the ledger service: still no form edits.
    resource_classes = [HourEntryResource]
    import_formats = IMPORT_FORMATS
    export_formats = IMPORT_FORMATS

    list_display = ("person", "year", "category", "hours", "course", "course_title", "base", "organiser",
                    "completed_on", "source", "reverses", "created_at")
    list_filter = ("year", "category", "source", "organiser", "base")
    search_fields = ("person__name", "course__code", "course_title", "source_key")
    list_select_related = ("person", "course", "base", "reverses")
    date_hierarchy = "completed_on"

    def get_resource_kwargs(self, request, *args, **kwargs):
        upload = request.FILES.get("import_file")
        return {**super().get_resource_kwargs(request, *args, **kwargs), "user": request.user,
                "file_name": upload.name if upload else request.POST.get("original_file_name", "")}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def has_import_permission(self, request):
        return request.user.is_active and request.user.role in ("system_admin", "city_bureau")

    def has_export_permission(self, request):
        return request.user.is_active and request.user.is_staff


@admin.register(PersonYearTotal)
class PersonYearTotalAdmin(ReadOnlyScopedAdmin):
    list_display = ("person", "year", "public_required", "public_elective", "professional", "organised_city",
                    "entries")
    list_filter = ("year",)
    search_fields = ("person__name",)
    list_select_related = ("person",)


@admin.register(HourImport)
class HourImportAdmin(ReadOnlyScopedAdmin):
    list_display = ("file_name", "rows", "created_entries", "created_by", "created_at")
    search_fields = ("file_name", "sha256")
