"""The yearly audit (A1) at city scale: the 2016 audit of 1,000,000 people, end to end, against its floor.

Figure: seconds for `services.audit_run` (what the Celery task runs) — the consistency point (REPEATABLE READ + the
ledger's SHARE lock), one INSERT … SELECT of every person's evaluation, the county and unit rows per title level,
scores and ranks, the commendation proposal and the flip of the current snapshot. The purge of the replaced
snapshot's person rows, which the task does after publishing, is a row of its own. Floor: the raw SQL aggregate of the year's entries per person that uses the
sums (bench/ledger.py's FLOOR_SQL — what any audit without running totals must at least do). Target: ≤ 2 × floor.
A second row shows what reproducing the snapshot costs (the evaluation from the entries up to `through_entry`).

The dataset is the ledger benchmark's database (ce_ledger_bench: 1 M people, about 11 M entries), reused as it is;
this benchmark never builds it (`python -m bench ledger` does, once). BENCH_AUDIT_DATABASE names another *_bench
database built the same way (e.g. a small one for trying the benchmark out). The audit writes its snapshot tables in
that database (one current snapshot per run; the replaced one's person rows are purged).
"""
from __future__ import annotations

import os
import sys
import time

from django.db import connection

from . import Row, Unavailable, benchmark
from ._postgres import database_exists, database_settings, use_database

YEAR = 2016
RUNS = int(os.environ.get("BENCH_AUDIT_RUNS", "2"))


def _say(text: str) -> None:
    print(f"  [audit] {text}", file=sys.stderr, flush=True)


EXPECTED_INDEXES = {"assessment_auditpersonresult_pkey", "audit_person_scope", "audit_person_person"}


def _audit_schema() -> None:
    """A ledger database built before the audit's schema settled has its tables with other indexes (0001 was
    regenerated during development): recreate the audit's tables — only those — from the current migration."""
    from django.core.management import call_command

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'assessment_auditpersonresult'")
        indexes = {r[0] for r in cursor.fetchall()}
    if indexes != EXPECTED_INDEXES:
        _say(f"recreating the audit tables (indexes {sorted(indexes)} differ from the model's)")
        if indexes:
            call_command("migrate", "assessment", "zero", verbosity=0, interactive=False)
        call_command("migrate", "assessment", verbosity=0, interactive=False)


def _check_dataset(name: str) -> None:
    from apps.ledger.models import HourEntry, PersonYearTotal

    if not PersonYearTotal.objects.filter(year=YEAR).exists() or not HourEntry.objects.filter(year=YEAR).exists():
        raise Unavailable(f"database {name} holds no {YEAR} ledger: run `python -m bench ledger` first "
                          f"(it builds ce_ledger_bench with 1 M people)")


@benchmark("audit", "the yearly audit of 2016 end to end (1 M people) against the raw per-person aggregate")
def run() -> list[Row]:
    database_settings()  # PostgreSQL, *_bench, or a clear Unavailable
    name = os.environ.get("BENCH_AUDIT_DATABASE", "ce_ledger_bench")
    if not database_exists(name):
        raise Unavailable(f"database {name} does not exist: run `python -m bench ledger` first (it builds "
                          f"ce_ledger_bench, 1 M people and their 2016 hours, in about 15 minutes)")
    from apps.assessment import services
    from apps.assessment.models import AuditPersonResult
    from apps.ledger import selectors as ledger
    from apps.orgs.models import Region

    from .ledger import _best, _floor

    with use_database(name):
        _check_dataset(name)
        _audit_schema()
        city = Region.objects.get(code="410200")
        floor = _floor()
        _say(f"floor (raw per-person aggregate of {YEAR}): {floor:.2f} s")
        def audit():
            snapshot = services.audit_start(year=YEAR, region=city, enqueue=False)
            return services.audit_run(snapshot_id=snapshot.pk)

        seconds, snapshot = _best(audit, runs=RUNS)
        began = time.perf_counter()
        services.audit_purge_replaced(snapshot=snapshot)  # the earlier runs' person rows, after publication
        purge_seconds = time.perf_counter() - began
        _say(f"purge of the replaced snapshots' person rows: {purge_seconds:.2f} s")
        rate = snapshot.compliant / snapshot.people if snapshot.people else 0
        _say(f"audit {YEAR}: {snapshot.people:,} people, {snapshot.compliant:,} compliant ({rate:.1%}), "
             f"through entry {snapshot.through_entry:,}; best of {RUNS}: {seconds:.2f} s")
        # Sanity: the stored snapshot equals the evaluation it was made from, and a reproduction from the entries.
        policy = ledger.policy_for(year=YEAR, region=city)
        now = ledger.scope_compliance(year=YEAR, policy=policy).summary()
        if (now["people"], now["compliant"]) != (snapshot.people, snapshot.compliant):
            raise AssertionError(f"audit disagrees with the evaluation: {snapshot.people}/{snapshot.compliant} "
                                 f"!= {now['people']}/{now['compliant']}")
        rebuilt_seconds, rebuilt = _best(lambda: ledger.scope_compliance(
            year=YEAR, policy=policy, through_entry=snapshot.through_entry).summary(), runs=1)
        if (rebuilt["people"], rebuilt["compliant"]) != (snapshot.people, snapshot.compliant):
            raise AssertionError(f"reproduction through entry {snapshot.through_entry} disagrees: {rebuilt}")
        rows = AuditPersonResult.objects.filter(snapshot=snapshot).count()
        if rows != snapshot.people:
            raise AssertionError(f"{rows} person rows stored for {snapshot.people} people")
        with connection.cursor() as cursor:  # keep the bench database's statistics fresh for the next figures
            cursor.execute("ANALYZE assessment_auditpersonresult")
    n = f"{snapshot.people / 1e6:.2f} M people"
    return [
        Row(f"audit {YEAR}: compute and publish the snapshot, {n}", seconds, "s", floor, "≤ 2 × floor"),
        Row("then purge the replaced snapshot's person rows (housekeeping)", purge_seconds, "s", floor, ""),
        Row(f"reproduction through entry #{snapshot.through_entry:,} (summary)", rebuilt_seconds, "s", floor,
            "(no target; from the entries)"),
    ]
