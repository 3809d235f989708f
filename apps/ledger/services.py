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


CATEGORIES = frozenset(Category.values)
ORGANISERS = frozenset(Organiser.values)


def _validate(e: EntryInput) -> None:
    if e.category not in CATEGORIES:
        raise DomainError(_("类别“%(c)s”不存在") % {"c": e.category}, field="category")
    if e.hours is None or e.hours <= 0:
        raise DomainError(_("学时须大于 0"), field="hours")
    if (e.hours * 2) != (e.hours * 2).to_integral_value():
        raise DomainError(_("学时须以 0.5 为单位"), field="hours")
    if e.organiser and e.organiser not in ORGANISERS:
        raise DomainError(_("主办层级“%(o)s”不存在") % {"o": e.organiser}, field="organiser")
    if e.year is not None and e.year != e.completed_on.year:
        raise DomainError(_("年度 %(y)s 与完成日期 %(d)s 不符") % {"y": e.year, "d": e.completed_on}, field="year")
    if e.source == Source.CORRECTION:
        raise DomainError(_("冲正请使用 entry_reverse"), field="source")


INSERT_COLUMNS = ("person_id", "year", "category", "hours", "credits", "course_id", "course_title", "base_id",
                  "organiser", "completed_on", "source", "source_key", "source_type_id", "source_id", "source_row",
                  "reason", "created_by_id", "created_at")


def entries_record(*, entries: Sequence[EntryInput], created_by=None, returning: bool = True) -> list | int:
    """Record new official hours. Entries whose source_key is already in the ledger are left out (idempotent).

    Returns the HourEntry objects this call added, or with returning=False only how many (bulk callers: imports
    and seeding of millions of rows, where building model objects costs more than the database does, and
    PostgreSQL can take the rows by COPY)."""
    _require_transaction()
    for e in entries:
        _validate(e)
    unique = list({e.source_key: e for e in reversed(entries)}.values())[::-1]  # first of each key, in order
    existing: set[str] = set()
    keys = [e.source_key for e in unique]
    for i in range(0, len(keys), 5000):
        existing |= set(HourEntry.objects.filter(source_key__in=keys[i:i + 5000])
                        .values_list("source_key", flat=True))
    fresh = [e for e in unique if e.source_key not in existing]
    if not fresh:
        return [] if returning else 0
    ops = connection.ops
    now = timezone.now()
    by = getattr(created_by, "pk", None)
    types: dict[type, int] = {}
    rows = []
    for e in fresh:
        src = e.source_object
        if src is not None and type(src) not in types:
            types[type(src)] = ContentType.objects.get_for_model(src).pk
        rows.append((
            e.person_id, e.completed_on.year, e.category, ops.adapt_decimalfield_value(e.hours, 6, 1),
            ops.adapt_decimalfield_value(e.credits, 6, 1), e.course_id, e.course_title, e.base_id, e.organiser,
            ops.adapt_datefield_value(e.completed_on), e.source, e.source_key,
            types.get(type(src)) if src is not None else None, getattr(src, "pk", None), e.source_row, "",
            by, ops.adapt_datetimefield_value(now),
        ))
    if not returning and connection.vendor == "postgresql" and len(rows) > 1000:
        _copy(rows)
        ids = None
    else:
        ids = _insert(rows)
    _apply_to_totals((e.person_id, e.completed_on.year, e.category, e.organiser, e.hours) for e in fresh)
    if not returning:
        return len(rows)
    made = []
    for pk, e, row in zip(ids, fresh, rows):
        entry = HourEntry(id=pk, **{c: v for c, v in zip(INSERT_COLUMNS, row)})
        entry.hours, entry.credits, entry.completed_on, entry.created_at = e.hours, e.credits, e.completed_on, now
        entry._state.adding = False  # it is in the database: saving it again is an update, which is refused
        made.append(entry)
    return made


def _copy(rows: list[tuple]) -> None:
    """PostgreSQL's COPY for bulk callers that need no ids back: several times faster than INSERT for imports
    and seeding of millions of rows. Same rows, same constraints, same transaction."""
    import io

    special = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

    def cell(v) -> str:
        if v is None:
            return "\\N"
        if isinstance(v, str):
            return v.translate(special)
        return str(v)

    buffer = io.StringIO()
    buffer.writelines("\t".join(map(cell, row)) + "\n" for row in rows)
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {HourEntry._meta.db_table} ({', '.join(INSERT_COLUMNS)}) FROM STDIN", buffer)


def _insert(rows: list[tuple], per_statement: int = 1000) -> list[int]:
    """Multi-row INSERT … RETURNING id (PostgreSQL and SQLite ≥ 3.35), ids in the order of the rows."""
    table = HourEntry._meta.db_table
    one = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for i in range(0, len(rows), per_statement):
            chunk = rows[i:i + per_statement]
            cursor.execute(f"INSERT INTO {table} ({', '.join(INSERT_COLUMNS)}) VALUES {', '.join([one] * len(chunk))} "
                           f"RETURNING id", [v for row in chunk for v in row])
            # Both databases return the ids of a multi-row VALUES insert in the order of the rows.
            ids += [r[0] for r in cursor.fetchall()]
    return ids


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
    _apply_to_totals([(reversal.person_id, reversal.year, reversal.category, reversal.organiser, reversal.hours)])
    return reversal


def _deltas(entries: Iterable[tuple]) -> dict[tuple[int, int], list[Decimal]]:
    """(person, year) -> the change of each running-total column, from (person, year, category, organiser, hours)."""
    acc: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6 + [0])
    for person_id, year, category, organiser, hours in entries:
        row = acc[(person_id, year)]
        row[TOTAL_COLUMNS.index(category)] += hours
        if organiser:
            row[TOTAL_COLUMNS.index(f"organised_{organiser}")] += hours
        row[6] += -1 if hours < 0 else 1
    return acc


def _apply_to_totals(entries: Iterable[tuple]) -> None:
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
