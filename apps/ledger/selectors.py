"""Reads of the ledger: one person's compliance in a fixed number of queries, and a whole scope set-based.

Both answer "as known on date D" (`as_of`): then totals come from the entries recorded up to the end of that
day instead of the running totals, so last January's decision is reproduced with last January's numbers.
"""
import datetime
from decimal import Decimal

from django.db.models import (BooleanField, Case, Count, DecimalField, ExpressionWrapper, F, OuterRef, Q,
                              QuerySet, Subquery, Sum, Value, When)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.catalog.models import YearPolicy
from apps.core.errors import DomainError
from apps.personnel.models import Person, PromotionApplication, TitleHolding

from . import compliance
from .models import HourEntry, PersonYearTotal, end_of_day

DEC = DecimalField(max_digits=8, decimal_places=1)
ZERO = Value(Decimal(0), output_field=DEC)


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
    """The most specific policy for the year: the region's own, else its city's, else its province's."""
    chain = _region_chain(region)
    policies = {p.region_id: p for p in
                YearPolicy.objects.filter(year=year, region_id__in=chain).prefetch_related("requirements")}
    for region_id in chain:
        if region_id in policies:
            return policies[region_id]
    raise DomainError(_("%(year)s 年度没有继续教育政策，无法评估") % {"year": year}, field="year", code="no_policy")


def policy_years(*, person: Person) -> set[int]:
    """Years with a policy for the person's region or a region above it (the chain `policy_for` walks)."""
    return set(YearPolicy.objects.filter(region_id__in=_region_chain(person.unit.region))
               .values_list("year", flat=True))


def entry_years(*, person: Person) -> set[int]:
    return set(HourEntry.objects.filter(person=person).order_by().values_list("year", flat=True).distinct())


def requirement_of(policy: YearPolicy, level: str) -> compliance.Requirement:
    for r in policy.requirements.all():
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
        if row is None:
            return compliance.Totals()
        return compliance.Totals(
            row.public_required, row.public_elective, row.professional,
            (("county", row.organised_county), ("city", row.organised_city), ("province", row.organised_province)),
        )
    agg = (HourEntry.objects.filter(person_id=person_id, year=year).recorded_by(as_of)
           .aggregate(**_entry_sums("")))
    return compliance.Totals(
        agg["pr"] or Decimal(0), agg["pe"] or Decimal(0), agg["prof"] or Decimal(0),
        (("county", agg["county"] or Decimal(0)), ("city", agg["city"] or Decimal(0)),
         ("province", agg["province"] or Decimal(0))),
    )


def promotion_for(*, person_id: int, year: int) -> compliance.Promotion | None:
    app = PromotionApplication.objects.filter(person_id=person_id, year=year).first()
    return compliance.Promotion(app.from_level, app.to_level) if app else None


def person_compliance(*, person: Person, year: int, as_of: datetime.date | None = None) -> compliance.Result:
    """Five queries whatever the number of entries: policy, title, totals, promotion (+ the person's region)."""
    region = person.unit.region
    policy = policy_for(year=year, region=region)
    level = title_level_on(person_id=person.pk, day=year_end(year))
    if level is None:
        raise DomainError(_("%(name)s 在 %(year)s 年 12 月 31 日没有职称记录，无法确定学时要求")
                          % {"name": person.name, "year": year}, field="level", code="no_title")
    return compliance.evaluate(
        year=year, level=level, requirement=requirement_of(policy, level),
        totals=totals_for(person_id=person.pk, year=year, as_of=as_of),
        promotion=promotion_for(person_id=person.pk, year=year),
    )


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


def scope_compliance(people: QuerySet, *, year: int, policy: YearPolicy,
                     as_of: datetime.date | None = None) -> QuerySet:
    """Every person of `people` annotated with level, totals, requirements, gaps and `compliant`, computed by
    one SQL statement. Totals come from the running totals (one row per person), or with `as_of` from the
    entries recorded by then."""
    level = Subquery(TitleHolding.objects.filter(person=OuterRef("pk"), obtained_on__lte=year_end(year))
                     .order_by("-obtained_on").values("level")[:1])
    qs = people.annotate(level=level)
    if as_of is None:
        t = PersonYearTotal.objects.filter(person=OuterRef("pk"), year=year)
        qs = qs.annotate(**{k: Coalesce(Subquery(t.values(col)[:1]), ZERO, output_field=DEC) for k, col in
                            (("pr", "public_required"), ("pe", "public_elective"), ("prof", "professional"),
                             ("city", "organised_city"), ("province", "organised_province"))})
    else:
        cut = end_of_day(as_of)
        qs = qs.annotate(**_entry_sums("hour_entries__", Q(hour_entries__year=year,
                                                           hour_entries__created_at__lt=cut)))
    reqs = {r.level: r for r in policy.requirements.all()}

    def by_level(attr: str, default=None):
        whens = [When(level=lvl, then=Value(getattr(r, attr), output_field=DEC))
                 for lvl, r in reqs.items() if getattr(r, attr) is not None]
        return Case(*whens, default=Value(default, output_field=DEC), output_field=DEC)

    qs = qs.annotate(
        public=ExpressionWrapper(F("pr") + F("pe"), output_field=DEC),
        total=ExpressionWrapper(F("pr") + F("pe") + F("prof"), output_field=DEC),
        req_total=by_level("total_hours"), req_public=by_level("public_hours"),
        req_public_required=by_level("public_required_hours"), req_professional=by_level("professional_hours"),
    )
    condition = (Q(total__gte=F("req_total")) & Q(public__gte=F("req_public"))
                 & Q(pr__gte=F("req_public_required"))
                 & (Q(req_professional__isnull=True) | Q(prof__gte=F("req_professional"))))
    return qs.annotate(compliant=Case(When(condition, then=Value(True)), default=Value(False),
                                      output_field=BooleanField()))


def scope_summary(evaluated: QuerySet) -> dict:
    """Counts per title level and overall from `scope_compliance`'s queryset, in one aggregate query."""
    rows = (evaluated.order_by().values("level")
            .annotate(people=Count("pk"), compliant_people=Count("pk", filter=Q(compliant=True))))
    by_level = {r["level"]: {"people": r["people"], "compliant": r["compliant_people"]} for r in rows}
    people = sum(v["people"] for v in by_level.values())
    ok = sum(v["compliant"] for v in by_level.values())
    return {"people": people, "compliant": ok, "rate": (ok / people) if people else None, "by_level": by_level}


# --- reconciliation ---------------------------------------------------------------------------------------------


def ledger_drift(*, year: int | None = None, limit: int = 100) -> tuple[int, list[dict]]:
    """Compare every running total with the sum of its entries, both aggregated in the database.

    Returns (person-years checked, drifting person-years up to `limit`); a total without entries, or entries
    without a total, is drift too."""
    from django.db import connection

    from .services import SUM_EXPRESSIONS, TOTAL_COLUMNS

    where = "WHERE year = %s" if year else ""
    differs = " OR ".join(f"e.{c} <> t.{c}" for c in TOTAL_COLUMNS)
    e_cols = ", ".join(f"{expr} AS {c}" for expr, c in zip(SUM_EXPRESSIONS, TOTAL_COLUMNS))
    show = ", ".join(f"e.{c} AS journal_{c}, t.{c} AS total_{c}" for c in TOTAL_COLUMNS)
    sql = f"""
        WITH e AS (SELECT person_id, year, {e_cols} FROM ledger_hourentry {where} GROUP BY person_id, year),
             t AS (SELECT * FROM ledger_personyeartotal {where})
        SELECT COALESCE(e.person_id, t.person_id) AS person_id, COALESCE(e.year, t.year) AS year, {show}
        FROM e LEFT JOIN t ON t.person_id = e.person_id AND t.year = e.year
        WHERE t.person_id IS NULL OR {differs}
        UNION ALL
        SELECT t.person_id, t.year, {", ".join(f"NULL, t.{c}" for c in TOTAL_COLUMNS)}
        FROM t WHERE NOT EXISTS (SELECT 1 FROM ledger_hourentry h
                                 WHERE h.person_id = t.person_id AND h.year = t.year)
    """
    params = [year, year] if year else []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT person_id, year FROM ledger_hourentry {where}) x",
                       params[:1])
        (checked,) = cursor.fetchone()
        cursor.execute(f"{sql} LIMIT {int(limit)}", params)
        names = [c[0] for c in cursor.description]
        drift = [dict(zip(names, row)) for row in cursor.fetchall()]
    return checked, drift


def pending_hours(*, person: Person, year: int) -> str:
    """Hours reported by bases but not yet endorsed. Submissions arrive with the enrolment app; until then none."""
    return "0"
