"""Database triggers shared by the append-only tables (the hour ledger, the audit log)."""
from __future__ import annotations


def append_only_postgres(table: str, *, function: str, zh: str, en: str) -> tuple[str, str]:
    """(create, drop) SQL for a PostgreSQL row trigger on `table` that refuses every UPDATE and DELETE, whatever
    path (ORM, raw SQL, psql) tries, with the error "{zh}：UPDATE 被拒绝 ({en}: UPDATE refused)". TRUNCATE is not
    row-level and stays possible for the table owner (test teardown uses it); the production application role
    should not own the tables."""
    create = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{zh}：% 被拒绝 ({en}: % refused)', TG_OP, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    drop = f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP FUNCTION IF EXISTS {function}();
"""
    return create, drop
