"""The audit log's database triggers: every UPDATE and DELETE of an event is refused, on PostgreSQL and SQLite,
whatever path (ORM, raw SQL, psql, the sqlite3 shell) tries. Installed by the migrations and again after every
`migrate` (SQLite drops a table's triggers when a migration rebuilds it); installing is idempotent.

TRUNCATE (PostgreSQL) is not row-level and stays possible for the table owner — test teardown uses it, as for the
ledger; the production application role should not own the tables. SQLite has no TRUNCATE: `flush` there is
`DELETE FROM`, which the trigger refuses, so this app's `flush` command lifts the triggers for its own statement
(apps/auditlog/management/commands/flush.py).
"""
from apps.core.triggers import append_only_postgres

MESSAGE = "操作日志不能修改或删除 (the audit log is append-only)"

PG, PG_DROP = append_only_postgres("auditlog_auditevent", function="auditlog_refuse_change",
                                   zh="操作日志不能修改或删除", en="the audit log is append-only")
SQLITE = [
    f"CREATE TRIGGER auditlog_auditevent_no_update BEFORE UPDATE ON auditlog_auditevent "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE'); END;",
    f"CREATE TRIGGER auditlog_auditevent_no_delete BEFORE DELETE ON auditlog_auditevent "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS auditlog_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS auditlog_auditevent_no_delete;",
]


def install(connection) -> None:
    """Create or replace the triggers on this connection's database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_DROP)
            cursor.execute(PG)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP + SQLITE:
                cursor.execute(statement)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_DROP)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)
