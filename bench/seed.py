"""Seeding demo people: `seed_demo` against raw COPY of the same Person rows.

Figure: people/s of `demo_people_seed` into a fresh database — units, people, their title holdings (≈ 1.64 a
person) and promotion applications (≈ 3 %), foreign-key checks, Python generation and whatever the schema's
triggers do on those tables (since ledger 0003: one ledger_personyeartotal row per person and policy year) included.
Floor: the same Person rows alone, already formatted, COPYed by raw psycopg2 into an empty copy of the table
(same indexes, no foreign keys): what the person table alone costs the server.

BENCH_SEED_PEOPLE (default 200,000) sets the size; BENCH_SEED_ORM_PEOPLE (default 50,000, 0 skips) the size of
the portable bulk_create run, measured against the same floor.
"""
from __future__ import annotations

import io
import os
import sys
import time

from django.db import connection

from apps.personnel.demo_seed import demo_people_seed
from apps.personnel.models import Person

from . import Row, benchmark
from ._postgres import fresh_database, raw_connection

PERSON_COLUMNS = ("id", "id_number", "name", "gender", "birth_date", "unit_id", "title_series", "created_at",
                  "updated_at")


def _say(text: str) -> None:
    print(f"  [seed] {text}", file=sys.stderr, flush=True)


def _copy_floor() -> tuple[float, int]:
    """Rows/s of raw COPY of the stored Person rows into an empty copy of the table."""
    table = Person._meta.db_table
    columns = ", ".join(PERSON_COLUMNS)
    conn = raw_connection()
    try:
        with conn.cursor() as cur:
            data = io.StringIO()
            cur.copy_expert(f"COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT", data)
            rows = data.getvalue().count("\n")
            cur.execute(f"DROP TABLE IF EXISTS bench_person_floor; "
                        f"CREATE TABLE bench_person_floor (LIKE {table} INCLUDING ALL)")
            conn.commit()
            data.seek(0)
            began = time.perf_counter()
            cur.copy_expert(f"COPY bench_person_floor ({columns}) FROM STDIN", data, size=1 << 20)
            conn.commit()
            seconds = time.perf_counter() - began
            cur.execute("DROP TABLE bench_person_floor")
            conn.commit()
    finally:
        conn.close()
    return rows / seconds, rows


@benchmark("seed", "seed_demo (people/s with titles and applications) against raw COPY of the Person rows")
def run() -> list[Row]:
    people = int(os.environ.get("BENCH_SEED_PEOPLE", 200_000))
    orm_people = int(os.environ.get("BENCH_SEED_ORM_PEOPLE", 50_000))
    _say(f"fresh database {fresh_database()} (migrate, loaddata kaifeng_2016)")

    result = demo_people_seed(people=people, year=2016, method="copy")
    _say(f"seed_demo COPY: {result.people_created:,} people, {result.holdings_created:,} title holdings, "
         f"{result.promotions_created:,} applications, {result.units_created:,} units in {result.seconds:.1f} s")
    floor, floor_rows = _copy_floor()
    _say(f"floor: raw COPY of the same {floor_rows:,} Person rows at {floor:,.0f} rows/s")
    rows = [Row(f"seed_demo {people:,} people, COPY", result.rate, "people/s", floor,
                "≥ 10,000 people/s (1 M < 100 s)")]

    if orm_people:
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {Person._meta.db_table} CASCADE")
        orm = demo_people_seed(people=orm_people, year=2016, method="orm")
        _say(f"seed_demo bulk_create: {orm.people_created:,} people in {orm.seconds:.1f} s")
        rows.append(Row(f"seed_demo {orm_people:,} people, bulk_create", orm.rate, "people/s", floor,
                        "≥ 5,000 people/s (portable path)"))
    connection.close()
    return rows
