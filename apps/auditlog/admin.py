from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin

from .models import Action, AuditEvent
from .services import record


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyScopedAdmin):
    # Evidence of who did what: written by apps.auditlog.services.record only. No add, change or delete, for
    # superusers too (ReadOnlyScopedAdmin answers False whoever asks; the database refuses changes anyway).
    list_display = ("at", "username", "role", "action", "target", "ip")
    list_filter = ("action",)
    search_fields = ("username", "target", "target_id")
    date_hierarchy = "at"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class AuditedExportMixin:
    """Put before django-import-export's mixin on an admin: every admin export is recorded in the audit log
    (who took which rows of what, in which format)."""

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        rows = len(queryset) if isinstance(queryset, list) else queryset.count()
        record(request, Action.EXPORT, target=str(self.model._meta.verbose_name_plural),
               target_type=self.model._meta.label,
               details={"format": file_format.get_title(), "rows": rows, "query": request.GET.urlencode()[:500]})
        return data
