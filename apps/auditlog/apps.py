from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditlogConfig(AppConfig):
    name = "apps.auditlog"
    verbose_name = _("操作日志")
