"""The yearly audit (年度考核, A1): writes. Everything set-based in the database, one transaction per run.

`audit_start` checks the input and records a RUNNING snapshot (its own transaction, so the page can show it and a
failure can be written on it), then the Celery task calls `audit_run`. `audit_run` computes everything — person
rows, county and unit rows, scores and ranks, the commendation proposal — and makes the new snapshot current in
the transaction that writes its last figures: a failure anywhere leaves the previous current snapshot current with
its rows, and the RUNNING row is marked FAILED with the error. On PostgreSQL the million person rows are written
by AUDIT_WRITERS connections at once, all reading the one locked snapshot of the ledger (`_compute_parallel`).
"""
from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import YearPolicy
from apps.core.errors import Conflict, DomainError
from apps.ledger import selectors as ledger
from apps.orgs.models import Region
from apps.personnel.models import TitleLevel

from . import selectors
from .models import AuditGroupResult, AuditPersonResult, AuditSnapshot, AuditWeights, Commendation

log = logging.getLogger(__name__)

# A RUNNING snapshot older than this is taken as lost (worker killed) and does not block a new run.
STALE_AFTER = datetime.timedelta(hours=2)
WEIGHT_FIELDS = ("rate", "public_rate", "shortfall", "commend_counties", "commend_units", "min_unit_people")


# --- weights ----------------------------------------------------------------------------------------------------


def weights_update(*, region: Region, by, rate: Decimal, public_rate: Decimal, shortfall: Decimal,
                   commend_counties: int, commend_units: int, min_unit_people: int) -> AuditWeights:
    """The city bureau sets how counties and units are scored; the next audit run uses them (each snapshot keeps
    a copy of the weights it was scored with, so changing them never alters a finished snapshot)."""
    with transaction.atomic():
        weights, _created = AuditWeights.objects.select_for_update().get_or_create(region=region)
        weights.rate, weights.public_rate, weights.shortfall = rate, public_rate, shortfall
        weights.commend_counties, weights.commend_units = commend_counties, commend_units
        weights.min_unit_people = min_unit_people
        weights.updated_by, weights.updated_at = by, timezone.now()
        weights.save()
    return weights


def _weights_dict(weights: AuditWeights) -> dict:
    return {f: str(getattr(weights, f)) if isinstance(getattr(weights, f), Decimal) else getattr(weights, f)
            for f in WEIGHT_FIELDS}


# --- starting a run ---------------------------------------------------------------------------------------------


def _policy(*, year: int, region: Region) -> YearPolicy:
    """The year's policy, complete for every title level; a DomainError (nothing written) otherwise."""
    policy = ledger.policy_for(year=year, region=region)
    levels = {r.level for r in policy.requirements.all()}
    missing = [TitleLevel(lv).label for lv in TitleLevel.values if lv not in levels]
    if missing:
        raise DomainError(_("%(year)s 年度政策未规定以下职称级别的学时要求：%(levels)s")
                          % {"year": year, "levels": "、".join(str(m) for m in missing)}, field="year",
                          code="no_requirements")
    return policy


def audit_start(*, year: int, region: Region, by=None, enqueue: bool = True) -> AuditSnapshot:
    """Check the input, record a RUNNING snapshot and (after commit) hand it to a worker.

    Raises DomainError, writing nothing, for a year without a (complete) policy or while a run is in progress."""
    _policy(year=year, region=region)
    with transaction.atomic():
        # Serialise starts per city: two clicks must not start two runs of the same year.
        Region.objects.select_for_update().filter(pk=region.pk).first()
        running = AuditSnapshot.objects.filter(region=region, year=year, status=AuditSnapshot.Status.RUNNING,
                                               started_at__gt=timezone.now() - STALE_AFTER)
        if running.exists():
            raise Conflict(_("%(year)s 年度考核正在计算中，请稍候") % {"year": year}, field="year")
        snapshot = AuditSnapshot.objects.create(region=region, year=year, requested_by=by,
                                                status=AuditSnapshot.Status.RUNNING)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(snapshot.pk))
    return snapshot


def _enqueue(snapshot_id: int) -> None:
    from .tasks import run_audit

    if run_audit.app.conf.task_always_eager:
        # Embedded mode (no broker): the audit runs here; its failure is recorded on the snapshot (audit_run does
        # that) instead of breaking the request that started it.
        try:
            snapshot = audit_run(snapshot_id=snapshot_id)
        except Exception:  # noqa: BLE001 — recorded on the snapshot, shown on its page
            log.exception("audit %s failed", snapshot_id)
        else:
            audit_purge_replaced(snapshot=snapshot)
        return
    from apps.core import jobs

    if not jobs.send(run_audit, kwargs={"snapshot_id": snapshot_id}):
        # Not re-sent later like other jobs: two runs of one snapshot would collide. Failed, so it can be re-run.
        AuditSnapshot.objects.filter(pk=snapshot_id, status=AuditSnapshot.Status.RUNNING).update(
            status=AuditSnapshot.Status.FAILED, error=_("任务队列暂时不可用，考核未能开始：请稍后重新计算"),
            finished_at=timezone.now())


# --- the run ----------------------------------------------------------------------------------------------------


def _step(snapshot_id: int, name: str) -> None:
    cache.set(selectors.progress_key(snapshot_id), selectors.STEPS.index(name) + 1, timeout=24 * 3600)


def audit_run(*, snapshot_id: int) -> AuditSnapshot:
    """Compute a RUNNING snapshot (the worker's side). Idempotent: a finished or failed snapshot is left alone, so
    a redelivered task does nothing; a snapshot still RUNNING (its worker died) is computed again."""
    snapshot = AuditSnapshot.objects.select_related("region").get(pk=snapshot_id)
    if snapshot.status != AuditSnapshot.Status.RUNNING:
        return snapshot
    try:
        _compute(snapshot)
    except Exception as exc:
        error = str(exc.message) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        # The heavy transaction is rolled back by now; this is a transaction of its own.
        AuditSnapshot.objects.filter(pk=snapshot_id, status=AuditSnapshot.Status.RUNNING).update(
            status=AuditSnapshot.Status.FAILED, error=error[:2000], finished_at=timezone.now())
        raise
    finally:
        cache.delete(selectors.progress_key(snapshot_id))
    snapshot.refresh_from_db()
    return snapshot


def audit_run_now(*, year: int, region: Region, by=None) -> AuditSnapshot:
    """Start and compute synchronously (manage.py run_audit, the yearly beat task), then purge the replaced one."""
    snapshot = audit_start(year=year, region=region, by=by, enqueue=False)
    snapshot = audit_run(snapshot_id=snapshot.pk)
    audit_purge_replaced(snapshot=snapshot)
    return snapshot


def _consistency_point(cursor, *, outermost: bool) -> tuple[int, datetime.datetime]:
    """Settle the ledger for the rest of the transaction and say where it stands: (last entry id, the moment).

    PostgreSQL: REPEATABLE READ gives every statement of the audit the same snapshot, and LOCK … IN SHARE MODE
    (taken before the snapshot, i.e. before any query) waits for ledger writers in flight and keeps new ones out
    until the audit commits. So every entry with an id up to MAX(id) is committed and visible, none above it is,
    and the running totals (moved in the writers' own transactions) agree with exactly those entries: recomputing
    from the entries with id <= through_entry reproduces the snapshot. Writers queue for the audit's duration
    (seconds); readers are not blocked. SQLite serialises writers itself, and its transaction reads one snapshot.
    """
    if connection.vendor == "postgresql":
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # else: inside a caller's transaction (tests) the isolation level is the caller's; the lock still holds.
        cursor.execute("LOCK TABLE ledger_hourentry IN SHARE MODE")
        # clock_timestamp, not now(): now() is when the transaction began, before the lock was granted.
        cursor.execute("SELECT COALESCE(MAX(id), 0), clock_timestamp() FROM ledger_hourentry")
        through, moment = cursor.fetchone()
        return int(through), moment
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_hourentry")
    return int(cursor.fetchone()[0]), timezone.now()


def _writers(outermost: bool) -> int:
    """How many connections write the person rows. Several only on PostgreSQL and only when the audit owns its
    transaction: the writers share the audit's snapshot of the ledger through pg_export_snapshot, which cannot
    show them rows a caller's open transaction has not committed (tests inside a transaction run serially)."""
    if connection.vendor != "postgresql" or not outermost:
        return 1
    return max(1, int(getattr(settings, "AUDIT_WRITERS", 1)))


def _compute(snapshot: AuditSnapshot) -> None:
    region = snapshot.region
    year = snapshot.year
    weights = selectors.weights_for(region=region)
    regions = selectors.region_tree_ids(region)
    sid = snapshot.pk
    _step(sid, "policy")
    outermost = not connection.in_atomic_block
    writers = _writers(outermost)
    if writers > 1:
        _compute_parallel(snapshot, weights, regions, writers)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The first statements of the transaction: nothing may read before the isolation level and the lock.
            through_entry, as_of = _consistency_point(cursor, outermost=outermost)
            _step(sid, "lock")
            policy = _policy(year=year, region=region)
            evaluation = ledger.scope_compliance(year=year, policy=policy)
            people, compliant, distribution = _people_and_unit_levels(cursor, sid, evaluation, regions)
            _step(sid, "people")
            _publish(cursor, snapshot, weights, through_entry=through_entry, as_of=as_of, people=people,
                     compliant=compliant, distribution=distribution)


def _compute_parallel(snapshot: AuditSnapshot, weights: AuditWeights, regions: list[int], writers: int) -> None:
    """The same audit with the person rows written by `writers` connections at once, one share of the units each.

    The audit's transaction settles the ledger (lock, last entry id) and exports its snapshot; every writer imports
    it (SET TRANSACTION SNAPSHOT), so all of them read exactly the ledger the audit locked, and commits its share of
    person rows and unit × level rows. The lock is held until the last writer is done. Then one transaction adds
    the county and unit totals, ranks and proposes commendations, and flips the snapshot to current: until that
    commit no reader sees any of its rows (pages read current snapshots only), so a failure at any step still
    leaves the previous snapshot current; the failed run's rows are removed here, or by the next run's purge."""
    sid = snapshot.pk
    _clear_rows(sid)  # a redelivered task whose worker died after its writers committed
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                through_entry, as_of = _consistency_point(cursor, outermost=True)
                _step(sid, "lock")
                policy = _policy(year=snapshot.year, region=snapshot.region)
                evaluation = ledger.scope_compliance(year=snapshot.year, policy=policy)
                cursor.execute("SELECT pg_export_snapshot()")
                token = cursor.fetchone()[0]
                shares = _write_shares(token, sid, evaluation, regions, writers)
        people = sum(p for p, _c, _d in shares)
        compliant = sum(c for _p, c, _d in shares)
        distribution = {k: sum(d[k] for _p, _c, d in shares) for k in shares[0][2]}
        _step(sid, "people")
        with transaction.atomic():
            with connection.cursor() as cursor:
                _publish(cursor, snapshot, weights, through_entry=through_entry, as_of=as_of, people=people,
                         compliant=compliant, distribution=distribution)
    except BaseException:
        _clear_rows(sid)
        raise


def _write_shares(token: str, sid: int, evaluation, regions: list[int], writers: int) -> list[tuple[int, int, dict]]:
    """Run the one-pass person statement for each share of units (a hash of the unit id), each on a connection
    of its own inside the exported snapshot; the shares' totals and distributions, or the first writer's error."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def share(k: int) -> tuple[int, int, dict]:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:  # this thread's own connection
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [token])
                    return _people_and_unit_levels(cursor, sid, evaluation, regions, share=(k, writers))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="audit-writer") as pool:
        return list(pool.map(share, range(writers)))


def _clear_rows(sid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditPersonResult._meta.db_table} WHERE snapshot_id = %s", [sid])
        cursor.execute(f"DELETE FROM {AuditGroupResult._meta.db_table} WHERE snapshot_id = %s", [sid])
        cursor.execute(f"DELETE FROM {Commendation._meta.db_table} WHERE snapshot_id = %s", [sid])


def _publish(cursor, snapshot: AuditSnapshot, weights: AuditWeights, *, through_entry: int, as_of, people: int,
             compliant: int, distribution: dict) -> None:
    """County and unit totals, ranks, the commendation proposal, and the flip to current."""
    sid, region = snapshot.pk, snapshot.region
    _insert_groups(cursor, sid)
    _step(sid, "groups")
    _rank(cursor, sid, weights, city_id=region.pk)
    _step(sid, "ranking")
    _propose_commendations(sid, weights)
    _step(sid, "commendations")
    # The flip: the old current snapshot stops being current and this one becomes it, in this transaction.
    AuditSnapshot.objects.filter(region=region, year=snapshot.year, is_current=True).update(is_current=False)
    updated = AuditSnapshot.objects.filter(pk=sid, status=AuditSnapshot.Status.RUNNING).update(
        status=AuditSnapshot.Status.DONE, is_current=True, as_of=as_of, through_entry=through_entry,
        weights=_weights_dict(weights), people=people, compliant=compliant, distribution=distribution,
        finished_at=timezone.now(), error="")
    if not updated:
        raise Conflict(_("该次考核已被标记为失败或已完成"))
    _step(sid, "publish")


PERSON_COLUMNS = ("snapshot_id, person_id, unit_id, county_id, level, total, public, public_required, professional, "
                  "compliant, public_met, shortfall, shortfall_public, shortfall_required")


def _people_statement(sid: int, evaluation, regions: list[int],
                      share: tuple[int, int] | None = None) -> tuple[str, list]:
    """Everyone of the city with a title on 31 December, one INSERT … SELECT over the ledger's evaluation; with
    `share` (k, n), only the people of the units in the k-th of n shares (a unit's people stay in one share).

    A person's county is their unit's region (a city-affiliated unit's region is the city itself)."""
    def gap(req: str, actual: str) -> str:
        return f"CASE WHEN ev.{req} > ev.{actual} THEN ev.{req} - ev.{actual} ELSE 0 END"

    in_regions = ", ".join(["%s"] * len(regions))
    sql = (
        f"INSERT INTO {AuditPersonResult._meta.db_table} ({PERSON_COLUMNS}) "
        f"SELECT %s, ev.person_id, ev.unit_id, u.region_id, ev.level, ev.total, ev.public, ev.public_required, "
        f"ev.professional, ev.compliant = 1, "
        f"CASE WHEN ev.public >= ev.req_public AND ev.public_required >= ev.req_public_required THEN 1=1 "
        f"ELSE 1=0 END, {gap('req_total', 'total')}, {gap('req_public', 'public')}, "
        f"{gap('req_public_required', 'public_required')} "
        # The unit comes with the person-year row (kept by the ledger's triggers): no join of a million people.
        # Written in the index's order (county, unit): the index then grows at its right edge instead of touching
        # random pages for a million rows — a third less time and write-ahead log.
        f"FROM ({evaluation.sql}) ev JOIN orgs_unit u ON u.id = ev.unit_id WHERE u.region_id IN ({in_regions}) "
        # A share is a hash of the unit id (PostgreSQL's own hashint8, shifted to be non-negative): unit sizes
        # spread evenly over the shares whatever pattern the ids follow (plain parity split one city 39/61).
        f"{'AND MOD(hashint8(ev.unit_id) + 2147483648, %s) = %s ' if share else ''}ORDER BY u.region_id, ev.unit_id")
    return sql, [sid, *evaluation.params, *regions, *((share[1], share[0]) if share else ())]


UNIT_LEVEL_AGGREGATES = ("COUNT(*), SUM(CASE WHEN compliant THEN 1 ELSE 0 END), "
                         "SUM(CASE WHEN public_met THEN 1 ELSE 0 END), SUM(shortfall), "
                         "ROUND(SUM(CASE WHEN compliant THEN 1 ELSE 0 END) * 1.0 / COUNT(*), 4)")
GROUP_COLUMNS = "snapshot_id, kind, county_id, unit_id, level, people, compliant, public_met, shortfall_sum, rate"


def _totals_select(source: str) -> str:
    return (f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN compliant THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN shortfall = 0 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN shortfall > 0 AND shortfall <= 10 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN shortfall > 10 AND shortfall <= 30 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN shortfall > 30 AND shortfall <= 60 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN shortfall > 60 THEN 1 ELSE 0 END), 0) FROM {source}")


def _distribution(row) -> tuple[int, int, dict]:
    people, compliant, *buckets = row
    keys = [k for k, _label in selectors.SHORTFALL_BUCKETS]
    return int(people), int(compliant), {k: int(n) for k, n in zip(keys, buckets)}


def _people_and_unit_levels(cursor, sid: int, evaluation, regions: list[int],
                            share: tuple[int, int] | None = None) -> tuple[int, int, dict]:
    """Person rows, unit × level rows and the totals with the shortfall distribution.

    PostgreSQL does it in ONE pass: the person rows the INSERT returns feed the unit × level aggregate (a second
    data-modifying CTE) and the totals — instead of reading a million freshly written rows back twice. SQLite runs
    the same three steps as separate statements."""
    people_sql, params = _people_statement(sid, evaluation, regions, share)
    if connection.vendor != "postgresql":
        cursor.execute(people_sql, params)
        _insert_unit_levels(cursor, sid, source=AuditPersonResult._meta.db_table, where="WHERE snapshot_id = %s",
                            params=[sid])
        cursor.execute(_totals_select(f"{AuditPersonResult._meta.db_table} WHERE snapshot_id = %s"), [sid])
        return _distribution(cursor.fetchone())
    cursor.execute(
        f"WITH ins AS ({people_sql} RETURNING county_id, unit_id, level, compliant, public_met, shortfall), "
        f"g AS (INSERT INTO {AuditGroupResult._meta.db_table} ({GROUP_COLUMNS}) "
        f"SELECT %s, 'unit', county_id, unit_id, level, {UNIT_LEVEL_AGGREGATES} FROM ins "
        f"GROUP BY county_id, unit_id, level) {_totals_select('ins')}",
        [*params, sid])
    return _distribution(cursor.fetchone())


def _insert_unit_levels(cursor, sid: int, *, source: str, where: str, params: list) -> None:
    cursor.execute(
        f"INSERT INTO {AuditGroupResult._meta.db_table} ({GROUP_COLUMNS}) SELECT %s, 'unit', county_id, unit_id, "
        f"level, {UNIT_LEVEL_AGGREGATES} FROM {source} {where} GROUP BY county_id, unit_id, level", [sid, *params])


def _insert_groups(cursor, sid: int) -> None:
    """Units overall, counties per level and overall — summed from the unit × level rows (additive)."""
    t = AuditGroupResult._meta.db_table
    cols = GROUP_COLUMNS
    rate = "ROUND(SUM(compliant) * 1.0 / SUM(people), 4)"
    sums = f"SUM(people), SUM(compliant), SUM(public_met), SUM(shortfall_sum), {rate}"
    # Units overall, counties per level, counties overall — from the unit × level rows just written.
    cursor.execute(f"INSERT INTO {t} ({cols}) SELECT snapshot_id, 'unit', county_id, unit_id, '', {sums} FROM {t} "
                   f"WHERE snapshot_id = %s AND kind = 'unit' AND level <> '' GROUP BY snapshot_id, county_id, unit_id",
                   [sid])
    cursor.execute(f"INSERT INTO {t} ({cols}) SELECT snapshot_id, 'county', county_id, NULL, level, {sums} FROM {t} "
                   f"WHERE snapshot_id = %s AND kind = 'unit' AND level <> '' GROUP BY snapshot_id, county_id, level",
                   [sid])
    cursor.execute(f"INSERT INTO {t} ({cols}) SELECT snapshot_id, 'county', county_id, NULL, '', {sums} FROM {t} "
                   f"WHERE snapshot_id = %s AND kind = 'county' AND level <> '' GROUP BY snapshot_id, county_id",
                   [sid])


def _rank(cursor, sid: int, weights: AuditWeights, *, city_id: int) -> None:
    """Score the overall rows and rank counties and (large enough) units, best first.

    score = rate_w × 100 × 达标率 + public_w × 100 × 公需达标率 − shortfall_w × 人均缺口学时. Ties are broken by the
    compliance rate, then size, then id, so a rank is never shared and the proposal is deterministic. The row of
    the city's own (市属) units is scored but not ranked among the counties: it is no county (its units are ranked
    with all the others)."""
    t = AuditGroupResult._meta.db_table
    cursor.execute(
        f"UPDATE {t} SET score = ROUND(%s * 100.0 * compliant / people + %s * 100.0 * public_met / people "
        f"- %s * shortfall_sum / people, 2) WHERE snapshot_id = %s AND level = ''",
        [weights.rate, weights.public_rate, weights.shortfall, sid])
    for kind, extra, params in (("county", "AND county_id <> %s", [city_id]),
                                ("unit", "AND people >= %s", [weights.min_unit_people])):
        cursor.execute(
            f"UPDATE {t} SET rank = r.rn FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY score DESC, rate DESC, "
            f"people DESC, id) AS rn FROM {t} WHERE snapshot_id = %s AND kind = %s AND level = '' {extra}) r "
            f"WHERE {t}.id = r.id", [sid, kind, *params])


def _propose_commendations(sid: int, weights: AuditWeights) -> None:
    """The top counties and units by rank, proposed; the city bureau confirms or drops each."""
    rows = []
    for kind, n in ((AuditGroupResult.Kind.COUNTY, weights.commend_counties),
                    (AuditGroupResult.Kind.UNIT, weights.commend_units)):
        top = (AuditGroupResult.objects.filter(snapshot_id=sid, kind=kind, level="", rank__isnull=False)
               .order_by("rank")[:n])
        rows += [Commendation(snapshot_id=sid, kind=kind, county_id=g.county_id, unit_id=g.unit_id, rank=g.rank,
                              score=g.score) for g in top]
    Commendation.objects.bulk_create(rows)


def audit_purge_replaced(*, snapshot: AuditSnapshot) -> None:
    """Person rows of snapshots no longer current (a million per run) are dropped once the new one is in; their
    county and unit figures and commendations stay as history. Outside the run's transaction: if this fails, the
    leftover rows are harmless and the next run removes them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditPersonResult._meta.db_table} WHERE snapshot_id IN (SELECT id FROM "
            f"{AuditSnapshot._meta.db_table} WHERE region_id = %s AND year = %s AND is_current = %s AND id <> %s)",
            [snapshot.region_id, snapshot.year, False, snapshot.pk])


# --- commendations ----------------------------------------------------------------------------------------------


def commendation_decide(*, commendation_id: int, by, confirm: bool) -> Commendation:
    """The city bureau confirms or drops a proposed commendation (a decision can be changed while the snapshot is
    current)."""
    with transaction.atomic():
        c = Commendation.objects.select_for_update().select_related("snapshot").get(pk=commendation_id)
        if not c.snapshot.is_current:
            raise Conflict(_("该考核快照已被新的考核结果替代，不能再修改表彰建议"))
        c.status = Commendation.Status.CONFIRMED if confirm else Commendation.Status.DROPPED
        c.decided_by, c.decided_at = by, timezone.now()
        c.save(update_fields=["status", "decided_by", "decided_at"])
    return c
