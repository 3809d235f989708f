"""Reads of the ledger: one person's compliance in a fixed number of queries, and a whole scope set-based.

Both answer "as known on date D" (`as_of`): then totals come from the entries recorded up to the end of that
day instead of the running totals, so last January's decision is reproduced with last January's numbers.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from apps.catalog.models import PolicyRequirement, YearPolicy
from apps.core.errors import DomainError
from apps.personnel.models import Person, PromotionApplication, TitleHolding, TitleLevel

from . import compliance
from .models import HourEntry, PersonYearTotal, end_of_day

def year_end(year: int) -> datetime.date:
    return datetime.date(year, 12, 31)


# --- policy -----------------------------------------------------------------------------------------------------


def _region_chain(region) -> list[int]:
    chain, r = [], region
    while r is not None:
        chain.append(r.pk)
        r = r.parent
    return chain


def policy_for(*, year: int, region) -> YearPolicy:
    """The most specific policy for the year: the region's own, else its city's, else its province's.
    One query: the policies of the region chain with their requirements."""
    return _load_policy(year=year, chain=_region_chain(region))


def _load_policy(*, year: int, chain: list[int]) -> YearPolicy:
    rows = list(PolicyRequirement.objects.filter(policy__year=year, policy__region_id__in=chain)
                .select_related("policy"))
    by_region: dict[int, YearPolicy] = {}
    for r in rows:
        policy = by_region.setdefault(r.policy.region_id, r.policy)
        policy.__dict__.setdefault("_requirements", []).append(r)
    for region_id in chain:
        if region_id in by_region:
            return by_region[region_id]
    if YearPolicy.objects.filter(year=year, region_id__in=chain).exists():
        raise DomainError(_("%(year)s 年度政策尚未规定各职称级别的学时要求") % {"year": year}, field="year",
                          code="no_requirements")
    raise DomainError(_("%(year)s 年度没有继续教育政策，无法评估") % {"year": year}, field="year", code="no_policy")


def policy_years(*, person: Person) -> set[int]:
    """Years with a policy for the person's region or a region above it (the chain `policy_for` walks)."""
    return set(YearPolicy.objects.filter(region_id__in=_region_chain(person.unit.region))
               .values_list("year", flat=True))


def entry_years(*, person: Person) -> set[int]:
    return set(HourEntry.objects.filter(person=person).order_by().values_list("year", flat=True).distinct())


def requirement_of(policy: YearPolicy, level: str) -> compliance.Requirement:
    requirements = policy.__dict__.get("_requirements")
    for r in requirements if requirements is not None else policy.requirements.all():
        if r.level == level:
            return compliance.Requirement(r.total_hours, r.public_hours, r.public_required_hours,
                                          r.professional_hours, policy.promotion_min_level)
    raise DomainError(_("%(year)s 年度政策未规定该职称级别的学时要求") % {"year": policy.year}, field="level")


# --- one person -------------------------------------------------------------------------------------------------


def title_level_on(*, person_id: int, day: datetime.date) -> str | None:
    return (TitleHolding.objects.filter(person_id=person_id, obtained_on__lte=day)
            .order_by("-obtained_on").values_list("level", flat=True).first())


def totals_for(*, person_id: int, year: int, as_of: datetime.date | None = None) -> compliance.Totals:
    if as_of is None:
        row = PersonYearTotal.objects.filter(person_id=person_id, year=year).first()
        return _totals_of(row) if row is not None else compliance.Totals()
    agg = (HourEntry.objects.filter(person_id=person_id, year=year).recorded_by(as_of)
           .aggregate(**_entry_sums("")))
    return compliance.Totals(
        agg["pr"] or Decimal(0), agg["pe"] or Decimal(0), agg["prof"] or Decimal(0),
        (("county", agg["county"] or Decimal(0)), ("city", agg["city"] or Decimal(0)),
         ("province", agg["province"] or Decimal(0))),
    )


def _totals_of(row: PersonYearTotal) -> compliance.Totals:
    return compliance.Totals(
        row.public_required, row.public_elective, row.professional,
        (("county", row.organised_county), ("city", row.organised_city), ("province", row.organised_province)),
    )


def promotion_for(*, person_id: int, year: int) -> compliance.Promotion | None:
    app = PromotionApplication.objects.filter(person_id=person_id, year=year).first()
    return compliance.Promotion(app.from_level, app.to_level) if app else None


def person_compliance(*, person: Person, year: int, as_of: datetime.date | None = None) -> compliance.Result:
    """A fixed number of queries whatever the number of entries: the policy, the person-year row (running
    totals and the level on 31 December), the promotion application; with `as_of`, the entries' sums instead."""
    policy = policy_for(year=year, region=person.unit.region)
    row = PersonYearTotal.objects.filter(person_id=person.pk, year=year).first()
    level = row.level if row is not None else title_level_on(person_id=person.pk, day=year_end(year))
    if level is None:
        raise DomainError(_("%(name)s 在 %(year)s 年 12 月 31 日没有职称记录，无法确定学时要求")
                          % {"name": person.name, "year": year}, field="level", code="no_title")
    if as_of is None:
        totals = _totals_of(row) if row is not None else compliance.Totals()
    else:
        totals = totals_for(person_id=person.pk, year=year, as_of=as_of)
    return compliance.evaluate(year=year, level=level, requirement=requirement_of(policy, level), totals=totals,
                               promotion=promotion_for(person_id=person.pk, year=year))


def person_entries(*, person: Person, year: int | None = None, as_of: datetime.date | None = None) -> QuerySet:
    qs = (HourEntry.objects.filter(person=person).recorded_by(as_of)
          .select_related("course", "base", "source_type", "reverses", "created_by", "reversed_by")
          .order_by("-year", "completed_on", "id"))
    return qs.filter(year=year) if year else qs


# --- a whole scope, in the database -----------------------------------------------------------------------------


def _entry_sums(prefix: str, extra: Q = Q()) -> dict:
    h = f"{prefix}hours"

    def s(q: Q):
        return Sum(h, filter=q & extra, default=Decimal(0))

    return {
        "pr": s(Q(**{f"{prefix}category": "public_required"})),
        "pe": s(Q(**{f"{prefix}category": "public_elective"})),
        "prof": s(Q(**{f"{prefix}category": "professional"})),
        "county": s(Q(**{f"{prefix}organiser": "county"})),
        "city": s(Q(**{f"{prefix}organiser": "city"})),
        "province": s(Q(**{f"{prefix}organiser": "province"})),
    }


EVALUATION_COLUMNS = ("person_id", "unit_id", "level", "public_required", "public_elective", "professional", "public", "total",
                      "req_total", "req_public", "req_public_required", "req_professional", "compliant")


@dataclass(frozen=True)
class Evaluation:
    """A scope's compliance for a year as one SQL statement (one row per person), not yet run.

    `rows()` lists it, `summary()` aggregates it in the database, and the yearly audit can INSERT … SELECT it
    into a snapshot; all three read the same statement, so they cannot disagree."""

    sql: str
    params: tuple

    def rows(self, *, where: str = "", order_by: str = "person_id", limit: int | None = None,
             offset: int = 0) -> list[dict]:
        from django.db import connection

        sql = f"SELECT * FROM ({self.sql}) ev {('WHERE ' + where) if where else ''} ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            names = [c[0] for c in cursor.description]
            out = [dict(zip(names, row)) for row in cursor.fetchall()]
        for row in out:
            row["compliant"] = bool(row["compliant"])
        return out

    def summary(self) -> dict:
        """People and compliant people per title level and overall."""
        from django.db import connection

        sql = (f"SELECT level, COUNT(*), SUM(compliant) "
               f"FROM ({self.sql}) ev GROUP BY level")
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            by_level = {lvl: {"people": n, "compliant": int(ok or 0)} for lvl, n, ok in cursor.fetchall()}
        people = sum(v["people"] for v in by_level.values())
        ok = sum(v["compliant"] for v in by_level.values())
        return {"people": people, "compliant": ok, "rate": (ok / people) if people else None,
                "by_level": by_level}


def scope_compliance(*, year: int, policy: YearPolicy, people: QuerySet | None = None,
                     units: QuerySet | None = None, as_of: datetime.date | None = None,
                     through_entry: int | None = None) -> Evaluation:
    """Everyone in `people` (None: everyone) who holds a title on 31 December of `year`, evaluated against the
    policy. Reads one person-year row per person; with `as_of`, the hours come from the entries recorded by the
    end of that day instead (one grouped pass over the year's entries); with `through_entry`, from the entries
    up to that id (the yearly audit records the last entry it saw, so this reproduces a snapshot exactly: ids,
    unlike clocks, are allocated after the audit's table lock settled the ledger). Both may be combined.
    `units` (a queryset of units) restricts to their people through the person-year row's own unit column, which
    the (year, unit) index serves: a county's report reads its county's rows only."""
    from django.db import connection

    from .services import SUM_EXPRESSIONS

    params: list = []
    if as_of is None and through_entry is None:
        base = ("SELECT t.person_id, t.unit_id, t.level, t.public_required AS pr, t.public_elective AS pe, "
                "t.professional AS prof FROM ledger_personyeartotal t WHERE t.year = %s AND t.level IS NOT NULL")
        params.append(year)
    else:
        known, known_params = [], []
        if as_of is not None:
            known.append("created_at < %s")
            known_params.append(end_of_day(as_of))
        if through_entry is not None:
            known.append("id <= %s")
            known_params.append(int(through_entry))
        base = (f"SELECT t.person_id, t.unit_id, t.level, COALESCE(e.pr, 0) AS pr, COALESCE(e.pe, 0) AS pe, "
                f"COALESCE(e.prof, 0) AS prof FROM ledger_personyeartotal t LEFT JOIN "
                f"(SELECT person_id, {SUM_EXPRESSIONS[0]} AS pr, {SUM_EXPRESSIONS[1]} AS pe, "
                f"{SUM_EXPRESSIONS[2]} AS prof FROM ledger_hourentry WHERE year = %s AND {' AND '.join(known)} "
                f"GROUP BY person_id) e ON e.person_id = t.person_id WHERE t.year = %s AND t.level IS NOT NULL")
        params += [year, *known_params, year]
    if people is not None:
        inner, inner_params = people.order_by().values("pk").query.sql_with_params()
        base += f" AND t.person_id IN ({inner})"
        params += list(inner_params)
    if units is not None:
        inner, inner_params = units.order_by().values("pk").query.sql_with_params()
        base += f" AND t.unit_id IN ({inner})"
        params += list(inner_params)

    # The requirements per title level come from the policy as a small table of literals (levels are choice values
    # and figures Decimals, so the statement stays one string that rows(), summary() and the audit can wrap),
    # joined on the level: one hash probe per person instead of a CASE over the levels for each requirement.
    attrs = ("total_hours", "public_hours", "public_required_hours", "professional_hours")

    def literal(value) -> str:
        return "CAST(NULL AS NUMERIC)" if value is None else str(Decimal(value))

    reqs = [r for r in policy.requirements.all() if r.level in TitleLevel.values]
    if reqs:
        table = " UNION ALL ".join(
            f"SELECT '{r.level}' AS level, " + ", ".join(f"{literal(getattr(r, a))} AS {a}" for a in attrs)
            for r in reqs)
    else:
        table = "SELECT CAST(NULL AS VARCHAR(20)) AS level, " + ", ".join(f"CAST(NULL AS NUMERIC) AS {a}"
                                                                         for a in attrs)
    with_requirements = (
        f"SELECT b.person_id, b.unit_id, b.level, b.pr AS public_required, b.pe AS public_elective, b.prof AS professional, "
        f"b.pr + b.pe AS public, b.pr + b.pe + b.prof AS total, rq.total_hours AS req_total, "
        f"rq.public_hours AS req_public, rq.public_required_hours AS req_public_required, "
        f"rq.professional_hours AS req_professional FROM ({base}) b LEFT JOIN ({table}) rq ON rq.level = b.level"
    )
    sql = (f"SELECT x.*, CASE WHEN x.total >= x.req_total AND x.public >= x.req_public "
           f"AND x.public_required >= x.req_public_required "
           f"AND (x.req_professional IS NULL OR x.professional >= x.req_professional) THEN 1 ELSE 0 END "
           f"AS compliant FROM ({with_requirements}) x")
    return Evaluation(sql, tuple(params))


# --- reconciliation ---------------------------------------------------------------------------------------------


def ledger_drift(*, year: int | None = None, limit: int = 100) -> tuple[int, list[dict]]:
    """Compare every running total with the sum of its entries, both aggregated in the database, and every
    person-year level with the title history.

    Returns (person-years with entries checked, drifting person-years up to `limit`); a non-zero total without
    entries, or entries without a total, is drift too (a zero row is an opened year with no hours yet)."""
    from django.db import connection

    from .services import SUM_EXPRESSIONS, TOTAL_COLUMNS

    where = "WHERE year = %s" if year else ""
    differs = " OR ".join(f"e.{c} <> t.{c}" for c in TOTAL_COLUMNS)
    e_cols = ", ".join(f"{expr} AS {c}" for expr, c in zip(SUM_EXPRESSIONS, TOTAL_COLUMNS))
    show = ", ".join(f"e.{c} AS journal_{c}, t.{c} AS total_{c}" for c in TOTAL_COLUMNS)
    ctes = (f"WITH e AS (SELECT person_id, year, {e_cols} FROM ledger_hourentry {where} GROUP BY person_id, year), "
            f"t AS (SELECT * FROM ledger_personyeartotal {where})")
    differences = f"""
        SELECT COALESCE(e.person_id, t.person_id) AS person_id, COALESCE(e.year, t.year) AS year, {show}
        FROM e LEFT JOIN t ON t.person_id = e.person_id AND t.year = e.year
        WHERE t.person_id IS NULL OR {differs}
        UNION ALL
        SELECT t.person_id, t.year, {", ".join(f"NULL, t.{c}" for c in TOTAL_COLUMNS)}
        FROM t WHERE ({" OR ".join(f"t.{c} <> 0" for c in TOTAL_COLUMNS)})
                 AND NOT EXISTS (SELECT 1 FROM ledger_hourentry h WHERE h.person_id = t.person_id AND h.year = t.year)
    """
    params = [year, year] if year else []
    with connection.cursor() as cursor:
        # One pass over the journal: the aggregate feeds both the count and the comparison.
        cursor.execute(f"{ctes} SELECT (SELECT COUNT(*) FROM e), COUNT(*) FROM ({differences}) d", params)
        checked, bad = cursor.fetchone()
        drift = []
        if bad:
            cursor.execute(f"{ctes} {differences} LIMIT {int(limit)}", params)
            names = [c[0] for c in cursor.description]
            drift = [dict(zip(names, row)) for row in cursor.fetchall()]
        # The level of each row must be the one the title history gives for 31 December.
        if len(drift) < limit:
            cursor.execute(_level_drift_sql(year, connection.vendor) + f" LIMIT {int(limit) - len(drift)}",
                           [datetime.date(year, 12, 31), year] if year else [])
            names = [c[0] for c in cursor.description]
            drift += [dict(zip(names, row)) for row in cursor.fetchall()]
    return checked, drift


def _level_drift_sql(year: int | None, vendor: str) -> str:
    from .services import LEVELS_ON, level_on_year_end

    differs = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    if year:  # one pass over the title history for that day
        return (f"SELECT t.person_id, t.year, t.level AS total_level, lv.level AS title_level "
                f"FROM ledger_personyeartotal t LEFT JOIN ({LEVELS_ON}) lv ON lv.person_id = t.person_id "
                f"WHERE t.year = %s AND t.level {differs} lv.level")
    return (f"SELECT t.person_id, t.year, t.level AS total_level, "
            f"({level_on_year_end('t.person_id', 't.year')}) AS title_level FROM ledger_personyeartotal t "
            f"WHERE t.level {differs} ({level_on_year_end('t.person_id', 't.year')})")
