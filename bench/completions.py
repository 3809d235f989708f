"""The online platform's completion calls (W1): `completions_record` against raw COPY of the same rows.

Figure: rows/s of the service for calls of 5,000 rows — every row checked (ID number, person and name, course of
the year, hours, date, B5 scope with the title level on 31 December), known record ids looked up, the accepted
rows written with bulk_create, one transaction a call. A second figure: the same calls retried (every row
"unchanged", nothing written).
Floor: the stored rows, already formatted, COPYed by raw psycopg2 in the same 5,000-row chunks (one commit each)
into an empty copy of the table (same indexes and checks, no foreign keys): what the table alone costs the server.

The people come from `seed_demo --no-hours` into its own database, ce_completions_bench, recreated every run.
BENCH_COMPLETIONS_PEOPLE (default 10,000) sets the number of people; each gets one row per online public course
of 2016 (10 courses: 100,000 rows for 10,000 people), sent in calls of 5,000.
"""
from __future__ import annotations

import io
import os
import sys
import time

from django.core.management import call_command
from django.db import connection

from . import Row, benchmark
from ._postgres import fresh_database, raw_connection, use_database

YEAR = 2016
CALL_ROWS = 5000
COLUMNS = ("base_id", "platform_record_id", "person_id", "course_id", "hours", "completed_on", "passed",
           "request_id", "received_at")


def _say(text: str) -> None:
    print(f"  [completions] {text}", file=sys.stderr, flush=True)


def _payload() -> list[dict]:
    from apps.catalog.models import Course
    from apps.personnel.models import Person

    courses = list(Course.objects.filter(year=YEAR, mode="online", category__in=("public_required",
                                                                                 "public_elective"))
                   .order_by("code").values_list("code", "hours"))
    rows = []
    for n, (pid, id_number, name) in enumerate(Person.objects.order_by("pk").values_list("pk", "id_number",
                                                                                            "name")):
        for k, (code, hours) in enumerate(courses):
            rows.append({"record_id": f"P{pid}-{code}", "id_number": id_number, "name": name, "course_code": code,
                         "hours": str(hours), "completed_on": f"{YEAR}-{1 + (n + k) % 12:02d}-{1 + n % 28:02d}",
                         "passed": True})
    return rows


def _calls(base, rows: list[dict], tag: str) -> tuple[float, dict[str, int]]:
    from apps.enrollment.completions import completions_record

    totals = {"accepted": 0, "unchanged": 0, "rejected": 0}
    began = time.perf_counter()
    for n, start in enumerate(range(0, len(rows), CALL_ROWS)):
        report = completions_record(base=base, rows=rows[start:start + CALL_ROWS], request_id=f"{tag}-{n}")
        totals["accepted"] += report.accepted
        totals["unchanged"] += report.unchanged
        totals["rejected"] += report.rejected
    return time.perf_counter() - began, totals


def _copy_floor(table: str) -> tuple[float, int]:
    """Rows/s of raw COPY of the stored completion rows, in call-sized chunks, into an empty copy of the table."""
    columns = ", ".join(COLUMNS)
    conn = raw_connection()
    try:
        with conn.cursor() as cur:
            data = io.StringIO()
            cur.copy_expert(f"COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT", data)
            lines = data.getvalue().splitlines(keepends=True)
            chunks = ["".join(lines[i:i + CALL_ROWS]) for i in range(0, len(lines), CALL_ROWS)]
            cur.execute(f"DROP TABLE IF EXISTS bench_completion_floor; "
                        f"CREATE TABLE bench_completion_floor (LIKE {table} INCLUDING ALL)")
            conn.commit()
            began = time.perf_counter()
            for chunk in chunks:
                cur.copy_expert(f"COPY bench_completion_floor ({columns}) FROM STDIN", io.StringIO(chunk))
                conn.commit()
            seconds = time.perf_counter() - began
            cur.execute("DROP TABLE bench_completion_floor")
            conn.commit()
    finally:
        conn.close()
    return len(lines) / seconds, len(lines)


@benchmark("completions", "online completions API service (rows/s, 5,000-row calls) against raw COPY of the rows")
def run() -> list[Row]:
    people = int(os.environ.get("BENCH_COMPLETIONS_PEOPLE", 10_000))
    with use_database("ce_completions_bench"):
        _say(f"fresh database {fresh_database()}; seed_demo {people:,} people without hours")
        call_command("seed_demo", "--people", str(people), "--year", str(YEAR), "--no-hours", verbosity=0)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

        from apps.bases.models import TrainingBase
        from apps.enrollment.models import OnlineCompletion

        base = TrainingBase.objects.get(code="kf-online")
        rows = _payload()
        calls = -(-len(rows) // CALL_ROWS)
        seconds, totals = _calls(base, rows, "bench")
        stored = OnlineCompletion.objects.count()
        _say(f"{calls} calls, {len(rows):,} rows in {seconds:.1f} s: {totals}; {stored:,} stored")
        if totals["rejected"] or stored != totals["accepted"]:
            _say(f"note: {totals['rejected']:,} rows rejected (people without a title by the end of {YEAR})")
        retry_seconds, retry = _calls(base, rows, "retry")
        _say(f"retried in {retry_seconds:.1f} s: {retry}")
        if retry["accepted"] or OnlineCompletion.objects.count() != stored:
            raise AssertionError(f"a retried call wrote rows: {retry}")
        floor, floor_rows = _copy_floor(OnlineCompletion._meta.db_table)
        _say(f"floor: raw COPY of the same {floor_rows:,} rows at {floor:,.0f} rows/s")
        connection.close()
    return [
        Row(f"completions_record, {calls} calls × {CALL_ROWS:,} rows ({people:,} people)", len(rows) / seconds,
            "rows/s", floor, "5,000-row call < 1 s"),
        Row(f"same calls retried (all unchanged, nothing written)", len(rows) / retry_seconds, "rows/s", floor, ""),
    ]
