from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditlogConfig(AppConfig):
    name = "apps.auditlog"
    verbose_name = _("操作日志")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import receivers

        receivers.connect()
        post_migrate.connect(_reinstall_triggers, sender=self)


def _reinstall_triggers(sender, using="default", **kwargs) -> None:
    """SQLite drops a table's triggers when a migration rebuilds it; put them back after every migrate."""
    from django.db import connections

    from . import triggers

    triggers.install(connections[using])
