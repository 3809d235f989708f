"""The ledger's database triggers, installed by its migrations and again after every `migrate`.

Why again: SQLite rebuilds a table for many ALTERs (a new table, copy, drop, rename), and the rebuild drops the
triggers on it. Installing is idempotent (CREATE OR REPLACE / DROP IF EXISTS), so after every migrate the
database holds the triggers this module describes.

1. Append-only ledger (PostgreSQL): every UPDATE and DELETE of a ledger row is refused, whatever code path (ORM,
   raw SQL, psql) tries. TRUNCATE is not row-level and stays possible for the table owner (test database teardown
   uses it); the production application role should not own the tables.
2. The title level in the person-year row (PostgreSQL and SQLite): ledger_personyeartotal.level equals the level in
   force on 31 December. Titles change through the admin, imports, seeding and future APIs; a trigger catches every
   path. After any INSERT, UPDATE or DELETE on personnel_titleholding, the affected people's rows are re-derived:
   their existing person-year rows, plus a row for every year that has a policy in which they hold a title (so a
   newly registered person appears in that year's evaluation at once). PostgreSQL does it once per statement
   (transition tables: a bulk insert of 5,000 titles costs one set-based statement); SQLite once per row.
3. The unit in the person-year row (PostgreSQL and SQLite): ledger_personyeartotal.unit_id equals the person's
   unit. Filled when a row is inserted (every path: the ledger service, the title triggers above, COPY), and
   rewritten on all the person's rows when the person moves to another unit. Reports group by it.
"""
from apps.core.triggers import append_only_postgres

APPEND_ONLY, APPEND_ONLY_DROP = append_only_postgres(
    "ledger_hourentry", function="ledger_refuse_change", zh="学时台账只能追加", en="the hour ledger is append-only")

ZEROS = "0, 0, 0, 0, 0, 0, 0"
COLS = ("person_id, year, level, public_required, public_elective, professional, organised_county, "
        "organised_city, organised_province, entries")

PG = f"""
CREATE OR REPLACE FUNCTION ledger_relevel(person_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ledger_personyeartotal ({COLS})
    SELECT ys.person_id, ys.year, lv.level, {ZEROS}
    FROM (SELECT p.pid AS person_id, y.year
          FROM unnest(person_ids) AS p(pid) CROSS JOIN (SELECT DISTINCT year FROM catalog_yearpolicy) y
          UNION
          SELECT t.person_id, t.year FROM ledger_personyeartotal t WHERE t.person_id = ANY(person_ids)) ys
    LEFT JOIN LATERAL (SELECT h.level FROM personnel_titleholding h
                       WHERE h.person_id = ys.person_id AND h.obtained_on <= make_date(ys.year, 12, 31)
                       ORDER BY h.obtained_on DESC LIMIT 1) lv ON true
    WHERE lv.level IS NOT NULL
       OR EXISTS (SELECT 1 FROM ledger_personyeartotal t WHERE t.person_id = ys.person_id AND t.year = ys.year)
    ON CONFLICT (person_id, year) DO UPDATE SET level = EXCLUDED.level
    WHERE ledger_personyeartotal.level IS DISTINCT FROM EXCLUDED.level;
$$;

CREATE OR REPLACE FUNCTION ledger_titles_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_relevel(ARRAY(SELECT DISTINCT person_id FROM new_rows));
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ledger_titles_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_relevel(ARRAY(SELECT person_id FROM new_rows UNION SELECT person_id FROM old_rows));
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ledger_titles_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_relevel(ARRAY(SELECT DISTINCT person_id FROM old_rows));
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_titles_ai AFTER INSERT ON personnel_titleholding
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_titles_inserted();
CREATE TRIGGER ledger_titles_au AFTER UPDATE ON personnel_titleholding
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_titles_updated();
CREATE TRIGGER ledger_titles_ad AFTER DELETE ON personnel_titleholding
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_titles_deleted();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS ledger_titles_ai ON personnel_titleholding;
DROP TRIGGER IF EXISTS ledger_titles_au ON personnel_titleholding;
DROP TRIGGER IF EXISTS ledger_titles_ad ON personnel_titleholding;
DROP FUNCTION IF EXISTS ledger_titles_inserted();
DROP FUNCTION IF EXISTS ledger_titles_updated();
DROP FUNCTION IF EXISTS ledger_titles_deleted();
DROP FUNCTION IF EXISTS ledger_relevel(bigint[]);
"""


PG_UNIT = """
CREATE OR REPLACE FUNCTION ledger_total_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.unit_id IS NULL THEN
        SELECT p.unit_id INTO NEW.unit_id FROM personnel_person p WHERE p.id = NEW.person_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_total_unit_bi BEFORE INSERT ON ledger_personyeartotal
    FOR EACH ROW EXECUTE FUNCTION ledger_total_unit();
CREATE OR REPLACE FUNCTION ledger_person_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_personyeartotal SET unit_id = NEW.unit_id WHERE person_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_person_moved_au AFTER UPDATE OF unit_id ON personnel_person
    FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id) EXECUTE FUNCTION ledger_person_moved();
"""
PG_UNIT_DROP = """
DROP TRIGGER IF EXISTS ledger_total_unit_bi ON ledger_personyeartotal;
DROP TRIGGER IF EXISTS ledger_person_moved_au ON personnel_person;
DROP FUNCTION IF EXISTS ledger_total_unit();
DROP FUNCTION IF EXISTS ledger_person_moved();
"""
SQLITE_UNIT = [
    "CREATE TRIGGER ledger_total_unit_ai AFTER INSERT ON ledger_personyeartotal WHEN NEW.unit_id IS NULL BEGIN "
    "UPDATE ledger_personyeartotal SET unit_id = (SELECT p.unit_id FROM personnel_person p WHERE p.id = NEW.person_id) "
    "WHERE id = NEW.id; END;",
    "CREATE TRIGGER ledger_person_moved_au AFTER UPDATE OF unit_id ON personnel_person "
    "WHEN OLD.unit_id IS NOT NEW.unit_id BEGIN "
    "UPDATE ledger_personyeartotal SET unit_id = NEW.unit_id WHERE person_id = NEW.id; END;",
]
SQLITE_UNIT_DROP = ["DROP TRIGGER IF EXISTS ledger_total_unit_ai;", "DROP TRIGGER IF EXISTS ledger_person_moved_au;"]
# Rows written before the unit column existed (the migration that adds it runs this once).
BACKFILL_UNITS = ("UPDATE ledger_personyeartotal SET unit_id = (SELECT p.unit_id FROM personnel_person p "
                  "WHERE p.id = ledger_personyeartotal.person_id) WHERE unit_id IS NULL")


def _sqlite_relevel(pid: str) -> str:
    return f"""
    INSERT INTO ledger_personyeartotal ({COLS})
    SELECT {pid}, ys.year,
           (SELECT h.level FROM personnel_titleholding h
            WHERE h.person_id = {pid} AND h.obtained_on <= ys.year || '-12-31'
            ORDER BY h.obtained_on DESC LIMIT 1) AS lvl,
           {ZEROS}
    FROM (SELECT year FROM catalog_yearpolicy
          UNION SELECT year FROM ledger_personyeartotal WHERE person_id = {pid}) ys
    WHERE lvl IS NOT NULL
       OR EXISTS (SELECT 1 FROM ledger_personyeartotal t WHERE t.person_id = {pid} AND t.year = ys.year)
    ON CONFLICT (person_id, year) DO UPDATE SET level = excluded.level;"""


SQLITE = [
    f"CREATE TRIGGER ledger_titles_ai AFTER INSERT ON personnel_titleholding BEGIN {_sqlite_relevel('NEW.person_id')} END;",
    f"CREATE TRIGGER ledger_titles_au AFTER UPDATE ON personnel_titleholding BEGIN "
    f"{_sqlite_relevel('OLD.person_id')} {_sqlite_relevel('NEW.person_id')} END;",
    f"CREATE TRIGGER ledger_titles_ad AFTER DELETE ON personnel_titleholding BEGIN {_sqlite_relevel('OLD.person_id')} END;",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS ledger_titles_{x};" for x in ("ai", "au", "ad")]




def _has_unit_column(connection, cursor) -> bool:
    """Migrations before ledger 0004 install the triggers too, when the unit column does not exist yet."""
    columns = connection.introspection.get_table_description(cursor, "ledger_personyeartotal")
    return any(c.name == "unit_id" for c in columns)


def install(connection) -> None:
    """Create or replace every ledger trigger on this connection's database."""
    with connection.cursor() as cursor:
        units = _has_unit_column(connection, cursor)
        if connection.vendor == "postgresql":
            cursor.execute(APPEND_ONLY_DROP + PG_DROP + PG_UNIT_DROP)
            cursor.execute(APPEND_ONLY)
            cursor.execute(PG)
            if units:
                cursor.execute(PG_UNIT)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP + SQLITE_UNIT_DROP + SQLITE + (SQLITE_UNIT if units else []):
                cursor.execute(statement)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(APPEND_ONLY_DROP + PG_DROP + PG_UNIT_DROP)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP + SQLITE_UNIT_DROP:
                cursor.execute(statement)
