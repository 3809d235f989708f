"""PostgreSQL refuses every UPDATE and DELETE of a ledger row, whatever code path (ORM, raw SQL, psql) tries.

TRUNCATE is not row-level and stays possible for the table owner (test database teardown uses it); the
production application role should not own the tables.
"""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '学时台账只能追加：% 被拒绝 (the hour ledger is append-only: % refused)', TG_OP, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_hourentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_hourentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS ledger_hourentry_append_only ON ledger_hourentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
