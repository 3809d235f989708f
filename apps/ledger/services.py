"""The only code that writes the hour ledger. Every function runs inside the caller's transaction.

Entries and the running totals beside them change together or not at all; totals are moved by one set-based
upsert per call, rows sorted by (person, year) so concurrent writers lock them in the same order.
"""
import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Category
from apps.core.errors import Conflict, DomainError

from .models import HourEntry, Organiser, PersonYearTotal, Source

TOTAL_COLUMNS = ("public_required", "public_elective", "professional",
                 "organised_county", "organised_city", "organised_province", "entries")


@dataclass(frozen=True)
class EntryInput:
    """What a caller (endorsement, import, self-report) asks the ledger to record."""

    person_id: int
    category: str
    hours: Decimal
    completed_on: datetime.date
    source: str
    source_key: str
    year: int | None = None  # defaults to the completion date's year (R1: the natural year)
    credits: Decimal = Decimal(0)
    course_id: int | None = None
    course_title: str = ""
    base_id: int | None = None
    organiser: str = ""
    source_object: object | None = None
    source_row: int | None = None
    extra: dict = field(default_factory=dict)


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("ledger writes must run inside the caller's transaction.atomic()")


def _validate(e: EntryInput) -> None:
    if e.category not in Category.values:
        raise DomainError(_("类别“%(c)s”不存在") % {"c": e.category}, field="category")
    if e.hours is None or e.hours <= 0:
        raise DomainError(_("学时须大于 0"), field="hours")
    if (e.hours * 2) != (e.hours * 2).to_integral_value():
        raise DomainError(_("学时须以 0.5 为单位"), field="hours")
    if e.organiser and e.organiser not in Organiser.values:
        raise DomainError(_("主办层级“%(o)s”不存在") % {"o": e.organiser}, field="organiser")
    if e.year is not None and e.year != e.completed_on.year:
        raise DomainError(_("年度 %(y)s 与完成日期 %(d)s 不符") % {"y": e.year, "d": e.completed_on}, field="year")
    if e.source == Source.CORRECTION:
        raise DomainError(_("冲正请使用 entry_reverse"), field="source")


def entries_record(*, entries: Sequence[EntryInput], created_by=None) -> list[HourEntry]:
    """Record new official hours. Entries whose source_key is already in the ledger are left out (idempotent):
    the returned list holds only what this call added."""
    _require_transaction()
    for e in entries:
        _validate(e)
    seen: set[str] = set()
    unique = []
    for e in entries:
        if e.source_key not in seen:
            seen.add(e.source_key)
            unique.append(e)
    existing = set()
    keys = [e.source_key for e in unique]
    for i in range(0, len(keys), 5000):
        existing |= set(HourEntry.objects.filter(source_key__in=keys[i:i + 5000])
                        .values_list("source_key", flat=True))
    now = timezone.now()
    types: dict[type, int] = {}
    rows = []
    for e in unique:
        if e.source_key in existing:
            continue
        src = e.source_object
        if src is not None and type(src) not in types:
            types[type(src)] = ContentType.objects.get_for_model(src).pk
        rows.append(HourEntry(
            person_id=e.person_id, year=e.completed_on.year, category=e.category, hours=e.hours,
            credits=e.credits, course_id=e.course_id, course_title=e.course_title, base_id=e.base_id,
            organiser=e.organiser, completed_on=e.completed_on, source=e.source, source_key=e.source_key,
            source_type_id=types.get(type(src)) if src is not None else None,
            source_id=getattr(src, "pk", None), source_row=e.source_row, created_by=created_by, created_at=now,
        ))
    created = HourEntry.objects.bulk_create(rows, batch_size=2000)
    _apply_to_totals(created)
    return created


def entry_reverse(*, entry_id: int, reason: str, by=None) -> HourEntry:
    """Reverse an entry with a negative one, once, with a reason. Locks the original first, so two
    reviewers reversing at the same moment cannot both succeed."""
    _require_transaction()
    if not (reason or "").strip():
        raise DomainError(_("冲正须填写原因"), field="reason")
    try:
        original = HourEntry.objects.select_for_update().get(pk=entry_id)
    except HourEntry.DoesNotExist:
        raise DomainError(_("学时记录 %(id)s 不存在") % {"id": entry_id}, field="entry") from None
    if original.source == Source.CORRECTION:
        raise DomainError(_("冲正记录本身不能再冲正"), field="entry")
    if HourEntry.objects.filter(reverses=original).exists():
        raise Conflict(_("该学时记录已被冲正，不能重复冲正"), field="entry")
    reversal = HourEntry(
        person_id=original.person_id, year=original.year, category=original.category, hours=-original.hours,
        credits=-original.credits, course_id=original.course_id, course_title=original.course_title,
        base_id=original.base_id, organiser=original.organiser, completed_on=original.completed_on,
        source=Source.CORRECTION, source_key=f"reversal:{original.pk}", reverses=original,
        reason=reason.strip(), created_by=by, created_at=timezone.now(),
    )
    reversal.save()
    _apply_to_totals([reversal])
    return reversal


def _deltas(entries: Iterable[HourEntry]) -> dict[tuple[int, int], list[Decimal]]:
    acc: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6 + [0])
    for e in entries:
        row = acc[(e.person_id, e.year)]
        row[TOTAL_COLUMNS.index(e.category)] += e.hours
        if e.organiser:
            row[TOTAL_COLUMNS.index(f"organised_{e.organiser}")] += e.hours
        row[6] += -1 if e.hours < 0 else 1
    return acc


def _apply_to_totals(entries: Iterable[HourEntry]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE per 500 (person, year) pairs: PostgreSQL and SQLite both speak it."""
    deltas = _deltas(entries)
    if not deltas:
        return
    table = PersonYearTotal._meta.db_table
    cols = ", ".join(TOTAL_COLUMNS)
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in TOTAL_COLUMNS)
    items = sorted(deltas.items())
    with connection.cursor() as cursor:
        for i in range(0, len(items), 500):
            chunk = items[i:i + 500]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * (2 + len(TOTAL_COLUMNS))) + ")"] * len(chunk))
            params = [v for (person, year), d in chunk for v in (person, year, *d)]
            cursor.execute(
                f"INSERT INTO {table} (person_id, year, {cols}) VALUES {placeholders} "
                f"ON CONFLICT (person_id, year) DO UPDATE SET {sets}",
                params,
            )
            # A row created just now (no title trigger made it before) learns its level from the title history.
            pairs = " OR ".join(["(person_id = %s AND year = %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET level = ({level_on_year_end(table + '.person_id', table + '.year')})"
                f" WHERE level IS NULL AND ({pairs})",
                [v for (person, year), _d in chunk for v in (person, year)],
            )


def level_on_year_end(person: str, year: str) -> str:
    """SQL for the level in force on 31 December of a row's year: the latest title obtained on or before it.
    SQLite keeps dates as ISO text, PostgreSQL as dates."""
    day = f"make_date({year}, 12, 31)" if connection.vendor == "postgresql" else f"({year} || '-12-31')"
    return (f"SELECT h.level FROM personnel_titleholding h WHERE h.person_id = {person} "
            f"AND h.obtained_on <= {day} ORDER BY h.obtained_on DESC LIMIT 1")


# Everyone's level on a given day, set-based (a window over the title history, one pass).
LEVELS_ON = (
    "SELECT person_id, level FROM (SELECT person_id, level, ROW_NUMBER() OVER "
    "(PARTITION BY person_id ORDER BY obtained_on DESC) AS rn FROM personnel_titleholding "
    "WHERE obtained_on <= %s) ranked WHERE rn = 1"
)


def year_open(*, year: int) -> int:
    """Give everyone who holds a title on 31 December of `year` a person-year row (zero hours until entries come),
    with that level. Set-based and idempotent; the title triggers keep the rows right afterwards.
    Run when a year's policy is published (and by the audit before it evaluates); returns rows created or
    re-levelled."""
    table = PersonYearTotal._meta.db_table
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (person_id, year, level, {', '.join(TOTAL_COLUMNS)}) "
            f"SELECT lv.person_id, %s, lv.level, {', '.join(['0'] * len(TOTAL_COLUMNS))} "
            f"FROM ({LEVELS_ON}) lv WHERE true "
            f"ON CONFLICT (person_id, year) DO UPDATE SET level = excluded.level "
            f"WHERE {table}.level {distinct} excluded.level",
            [year, datetime.date(year, 12, 31)],
        )
        return cursor.rowcount


@transaction.atomic
def totals_rebuild(*, year: int | None = None) -> int:
    """Recompute running totals from the journal (repair after a restore; never needed in normal operation)."""
    table = PersonYearTotal._meta.db_table
    # "WHERE true" also settles SQLite's INSERT … SELECT … ON CONFLICT parsing ambiguity.
    where = "WHERE year = %s" if year else "WHERE true"
    params = [year] if year else []
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(f'{c} = 0' for c in TOTAL_COLUMNS)} {where}", params)
        cursor.execute(
            f"INSERT INTO {table} (person_id, year, {', '.join(TOTAL_COLUMNS)}) "
            f"SELECT person_id, year, {_SUMS} FROM ledger_hourentry {where} GROUP BY person_id, year "
            f"ON CONFLICT (person_id, year) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in TOTAL_COLUMNS),
            params,
        )
        rows = cursor.rowcount
        cursor.execute(f"UPDATE {table} SET level = ({level_on_year_end(table + '.person_id', table + '.year')}) "
                       f"{where} AND level IS NULL", params)
        return rows


# How each running-total column is computed from the journal (totals_rebuild and verify_ledger share it).
SUM_EXPRESSIONS = (
    "SUM(CASE WHEN category = 'public_required' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN category = 'public_elective' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN category = 'professional' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN organiser = 'county' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN organiser = 'city' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN organiser = 'province' THEN hours ELSE 0 END)",
    "SUM(CASE WHEN hours < 0 THEN -1 ELSE 1 END)",
)
_SUMS = ", ".join(SUM_EXPRESSIONS)
