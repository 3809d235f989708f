from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin

from .models import CertificateBatch


@admin.register(CertificateBatch)
class CertificateBatchAdmin(ReadOnlyScopedAdmin):
    list_display = ("title", "total", "chunks", "status", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "year")
    search_fields = ("title",)
