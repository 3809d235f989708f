"""Django's `flush`, able to empty the audit log on SQLite too.

`flush` empties every table on purpose (`manage.py flush`, and the test runner between transactional tests). On
PostgreSQL it is TRUNCATE, which row triggers do not see; on SQLite it is `DELETE FROM`, which the audit log's
trigger refuses. So on SQLite the triggers are dropped and put back in the same transaction as the flush: nothing
else ever runs without them. Django finds this command before its own because apps override core commands.
"""
from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from apps.auditlog import triggers


class Command(flush.Command):
    def handle(self, **options):
        database = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[database]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with transaction.atomic(using=database):
            triggers.uninstall(connection)
            try:
                return super().handle(**options)
            finally:
                triggers.install(connection)
