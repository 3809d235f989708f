from django.contrib import admin
from import_export.admin import ImportExportMixin

from apps.accounts.scoped_admin import ScopedModelAdmin
from apps.auditlog.admin import AuditedExportMixin
from apps.core.importing import IMPORT_FORMATS

from .models import Industry, IndustryDepartment, Region, Unit
from .resources import UnitResource


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
class UnitAdmin(AuditedExportMixin, ImportExportMixin, ScopedModelAdmin):
    # The import-export mixin comes first so its views wrap ScopedModelAdmin's, whose get_queryset (the export
    # list) and permissions still decide what this user sees; the resource scopes the rows it imports.
    list_display = ("name", "credit_code", "region", "industry")
    list_filter = ("region", "industry")
    search_fields = ("name", "credit_code")
    list_select_related = ("region", "industry")
    resource_classes = [UnitResource]
    import_formats = IMPORT_FORMATS
    export_formats = IMPORT_FORMATS

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {"user": request.user}

    def has_import_permission(self, request):
        from apps.accounts import visibility

        return visibility.can_add(request.user, self.model)

    def has_export_permission(self, request):
        return self.has_view_permission(request)
