"""Reads for the county bureau report and the city bureau dashboard.

Every figure about people is an aggregate of `apps.ledger.selectors.scope_compliance` (one row per person holding a
title on 31 December), wrapped in GROUP BY statements here: nothing loops over people in Python. The county page's
main statement groups by unit and carries the county totals, the per-level counts and the hour histogram as window
sums on every row, so one pass over the county gives the unit table's page, the summary and the charts.

SQL is written for PostgreSQL and SQLite alike (window functions, CASE, no vendor functions).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Min, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Role
from apps.accounts.visibility import assignable
from apps.catalog.models import YearPolicy
from apps.core.identifiers import mask_id_number
from apps.ledger import selectors as ledger
from apps.orgs.models import Region, Unit
from apps.personnel.models import TitleLevel

PAGE_SIZE = 50
YEARS = range(1990, 2101)  # the ledger's CHECK range
LEVELS = [lv for lv in TitleLevel.values]  # highest first
# Histogram of a person's total hours for the year: (label, lower bound inclusive, upper bound exclusive).
BUCKETS = (
    (gettext_lazy("0 学时"), None, None),
    (gettext_lazy("不足 30 学时"), 0, 30),
    (gettext_lazy("30–60 学时"), 30, 60),
    (gettext_lazy("60–90 学时"), 60, 90),
    (gettext_lazy("90 学时及以上"), 90, None),
)
# Conditions of one CASE, tried in order: each bucket's lower bound is implied by the ones before it.
BUCKET_SQL = (
    "ev.total <= 0",
    "ev.total < 30",
    "ev.total < 60",
    "ev.total < 90",
    "1 = 1",
)

# Whitelisted sort keys → SQL (never the query parameter itself).
UNIT_SORTS = {"name": "g.unit_name", "people": "g.people", "compliant": "g.compliant", "rate": "g.rate",
              "gap": "g.noncompliant", "hours": "g.avg_total"}
PEOPLE_SORTS = {"name": "pn.name", "unit": "un.name", "level": "pp.level", "total": "pp.total",
                "gap": "short_total", "public": "pp.public"}
# The same keys on the columns of a cut page of people (to restate its order after a join).
PEOPLE_SORTS_OUTER = {"name": "pr.name", "unit": "c.p_unit_name", "level": "c.p_level", "total": "c.total",
                      "gap": "c.short_total", "public": "c.public"}


def _short(req: str, actual: str) -> str:
    return f"CASE WHEN {req} IS NOT NULL AND {req} > {actual} THEN {req} - {actual} ELSE 0 END"


SHORT_TOTAL = _short("pp.req_total", "pp.total")
SHORT_PUBLIC = _short("pp.req_public", "pp.public")
SHORT_REQUIRED = _short("pp.req_public_required", "pp.public_required")
SHORT_PROFESSIONAL = _short("pp.req_professional", "pp.professional")


# --- who may see which region -------------------------------------------------------------------------------


def may_see_reports(user) -> bool:
    return bool(user.is_authenticated and user.role in (Role.COUNTY_BUREAU, Role.CITY_BUREAU, Role.SYSTEM_ADMIN))


def may_see_dashboard(user) -> bool:
    return bool(user.is_authenticated and user.role in (Role.CITY_BUREAU, Role.SYSTEM_ADMIN))


def report_regions(user) -> list[Region]:
    """The regions whose report the user may open — the bureau's jurisdiction (accounts.visibility): a county bureau
    its own county; the city bureau its counties and the city itself (its city-affiliated units); the system admin
    every county and city."""
    if not may_see_reports(user):
        return []
    return list(assignable(user, Region).filter(kind__in=[Region.Kind.COUNTY, Region.Kind.CITY])
                .select_related("parent").order_by("code"))


def report_region_or_404(user, region_id) -> Region:
    """Outside the user's jurisdiction is the same as absent: 404, whether the region exists or not."""
    try:
        region_id = int(region_id)
    except (TypeError, ValueError):
        raise Http404 from None
    for region in report_regions(user):
        if region.pk == region_id:
            return region
    raise Http404


def dashboard_cities(user) -> list[Region]:
    if user.role == Role.CITY_BUREAU:
        return list(Region.objects.filter(pk=user.region_id))
    if user.role == Role.SYSTEM_ADMIN:
        return list(Region.objects.filter(kind=Region.Kind.CITY).order_by("code"))
    return []


def city_of(region: Region) -> Region:
    return region if region.kind == Region.Kind.CITY else region.parent


def parse_year(value, default: int | None = None) -> int:
    if value in (None, ""):
        return default or timezone.localdate().year
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if year not in YEARS:
        raise Http404
    return year


def policy_years(region: Region) -> list[int]:
    chain, r = [], region
    while r is not None:
        chain.append(r.pk)
        r = r.parent
    return sorted(set(YearPolicy.objects.filter(region_id__in=chain).values_list("year", flat=True)), reverse=True)


# --- the county report ----------------------------------------------------------------------------------------


@dataclass
class Filters:
    level: str = ""
    unit: int | None = None
    q: str = ""
    sort: str = "rate"
    dir: str = "asc"
    psort: str = "gap"
    pdir: str = "desc"
    page: int = 1
    ppage: int = 1

    @classmethod
    def from_query(cls, params) -> Filters:
        def pick(key, allowed, default):
            value = params.get(key, "")
            return value if value in allowed else default

        def number(key, default=None):
            try:
                return max(int(params.get(key, "")), 1)
            except ValueError:
                return default

        return cls(level=pick("level", LEVELS, ""), unit=number("unit"), q=params.get("q", "").strip()[:50],
                   sort=pick("sort", UNIT_SORTS, "rate"), dir=pick("dir", ("asc", "desc"), "asc"),
                   psort=pick("psort", PEOPLE_SORTS, "gap"), pdir=pick("pdir", ("asc", "desc"), "desc"),
                   page=number("page", 1), ppage=number("ppage", 1))


def _fence() -> str:
    # The evaluation's columns (total, requirements, compliant) are expressions; behind this fence PostgreSQL
    # computes each once per person instead of once per reference in the aggregates above it.
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


def _per_person(county: Region, year: int, policy, filters: Filters) -> tuple[str, list]:
    """One row per evaluated person of the county (the CTE `pp` every statement of the page reads)."""
    # The county's people through the person-year rows' own unit column (the (year, unit) index): no join of the
    # city's million people to find a county's 150,000.
    ev = ledger.scope_compliance(year=year, policy=policy, units=Unit.objects.filter(region=county))
    buckets = " ".join(f"WHEN {cond} THEN {k}" for k, cond in enumerate(BUCKET_SQL))
    # Small integers for the level and a float for the hours: the aggregates above compare and add them for every
    # person, which costs a fraction of text comparisons and numeric additions.
    levels = " ".join(f"WHEN '{level}' THEN {k}" for k, level in enumerate(LEVELS))
    # Names and ID numbers stay out: the rows are held in memory for the whole page; the shown rows fetch theirs.
    sql = (f"SELECT ev.person_id, ev.unit_id, ev.level, "
           f"ev.compliant AS ok, ev.total, ev.public, ev.public_required, ev.professional, ev.req_total, "
           f"ev.req_public, ev.req_public_required, ev.req_professional, "
           f"CASE WHEN ev.total >= ev.req_total THEN 1 ELSE 0 END AS mt, "
           f"CASE WHEN ev.public >= ev.req_public AND ev.public_required >= ev.req_public_required "
           f"THEN 1 ELSE 0 END AS mp, CASE {buckets} END AS bucket, CASE ev.level {levels} END AS lv, "
           f"CAST(ev.total AS DOUBLE PRECISION) AS total_f "
           f"FROM (SELECT * FROM ({ev.sql}) e{_fence()}) ev WHERE 1 = 1")
    params = [*ev.params]
    if filters.level:
        sql += " AND ev.level = %s"
        params.append(filters.level)
    return sql, params


def _unit_columns() -> list[tuple[str, str]]:
    """(alias, aggregate over pp) per unit; each is also summed over the county as a window."""
    cols = [("people", "COUNT(*)"), ("compliant", "SUM(ok)"), ("met_total", "SUM(mt)"), ("met_public", "SUM(mp)"),
            ("hours_sum", "SUM(total_f)")]
    for k, level in enumerate(LEVELS):
        cols.append((f"lv_{level}", f"SUM(CASE WHEN lv = {k} THEN 1 ELSE 0 END)"))
        cols.append((f"ok_{level}", f"SUM(CASE WHEN lv = {k} THEN ok ELSE 0 END)"))
    for k in range(len(BUCKET_SQL)):
        cols.append((f"h{k}", f"SUM(CASE WHEN bucket = {k} THEN 1 ELSE 0 END)"))
    return cols


UNIT_COLUMNS = ["unit_id", "unit_name", *(a for a, _e in _unit_columns()), "rate",
                *(f"all_{a}" for a, _e in _unit_columns()), "units", "ord"]
PEOPLE_COLUMNS = ["person_id", "name", "id_number", "p_unit_id", "p_unit_name", "p_level", "total", "public",
                  "public_required", "professional", "req_total", "req_public", "req_public_required",
                  "req_professional", "short_total", "short_public", "short_required", "short_professional",
                  "matches", "p_ord"]


def _limit(limit: int | None, offset: int) -> str:
    return f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""


def _units_select(filters: Filters, limit: int | None, offset: int) -> str:
    """One row per unit (sorted, one page of them) with the county's totals as window sums on each row."""
    cols = _unit_columns()
    windows = ", ".join(f"SUM(g.{alias}) OVER () AS all_{alias}" for alias, _expr in cols)
    direction = "DESC" if filters.dir == "desc" else "ASC"
    order = f"{UNIT_SORTS[filters.sort]} {direction}, g.unit_name, g.unit_id"
    return (f"SELECT g.unit_id, g.unit_name, {', '.join(f'g.{a}' for a, _e in cols)}, g.rate, {windows}, "
            f"COUNT(*) OVER () AS units, ROW_NUMBER() OVER (ORDER BY {order}) AS ord FROM g "
            f"ORDER BY {order}{_limit(limit, offset)}")


def _people_select(filters: Filters, limit: int | None, offset: int) -> tuple[str, list]:
    """The non-compliant people with what they miss, filtered and sorted, one page."""
    where, params = "pp.ok = 0", []
    if filters.unit:
        where += " AND pp.unit_id = %s"
        params.append(filters.unit)
    # Names are joined for the whole county only when the page sorts or searches by name; otherwise the page is cut
    # from the per-person rows alone (ties broken by person id) and only its 50 rows fetch their names.
    by_name = filters.psort == "name" or bool(filters.q)
    names = " JOIN personnel_person pn ON pn.id = pp.person_id" if by_name else ""
    if filters.q:
        q = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where += " AND pn.name LIKE %s ESCAPE '\\'"
        params.append(f"%{q}%")
    direction = "DESC" if filters.pdir == "desc" else "ASC"
    page = (f"SELECT pp.person_id, pp.unit_id AS p_unit_id, un.name AS p_unit_name, "
            f"pp.level AS p_level, pp.total, pp.public, pp.public_required, "
            f"pp.professional, pp.req_total, pp.req_public, pp.req_public_required, pp.req_professional, "
            f"{SHORT_TOTAL} AS short_total, {SHORT_PUBLIC} AS short_public, {SHORT_REQUIRED} AS short_required, "
            f"{SHORT_PROFESSIONAL} AS short_professional, COUNT(*) OVER () AS matches "
            f"FROM pp JOIN orgs_unit un ON un.id = pp.unit_id{names} "
            f"WHERE {where} ORDER BY {PEOPLE_SORTS[filters.psort]} {direction}, pp.person_id"
            f"{_limit(limit, offset)}")
    # Names and ID numbers of the page's rows only, fetched after the page is cut; the order is restated on the
    # page's columns (a join does not keep it).
    order = f"{PEOPLE_SORTS_OUTER[filters.psort]} {direction}, c.person_id"
    picked = {"id_number": "pr.id_number", "name": "pr.name"}
    cols = ", ".join(picked.get(c, f"c.{c}") for c in PEOPLE_COLUMNS if c != "p_ord")
    sql = (f"SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {order}) AS p_ord FROM ({page}) c "
           f"JOIN personnel_person pr ON pr.id = c.person_id ORDER BY {order}")
    return sql, params


def _with(county: Region, year: int, policy, filters: Filters) -> tuple[str, list]:
    pp, params = _per_person(county, year, policy, filters)
    aggregates = ", ".join(f"{expr} AS {alias}" for alias, expr in _unit_columns())
    g = (f"SELECT x.*, un.name AS unit_name FROM (SELECT unit_id, {aggregates}, 1.0 * SUM(ok) / COUNT(*) AS rate, "
         f"COUNT(*) - SUM(ok) AS noncompliant, SUM(total_f) / COUNT(*) AS avg_total FROM pp GROUP BY unit_id) x "
         f"JOIN orgs_unit un ON un.id = x.unit_id")
    return f"WITH pp AS ({pp}), g AS ({g}) ", params


def page_sql(*, county: Region, year: int, policy, filters: Filters | None = None) -> tuple[str, list]:
    """The page's one statement over the county: the page of units with the county totals, per-level counts and
    the hour histogram (window sums), and the page of non-compliant people — both read the per-person rows `pp`,
    which PostgreSQL materialises once, so the county is evaluated once per page."""
    filters = filters or Filters()
    head, params = _with(county, year, policy, filters)
    people, people_params = _people_select(filters, PAGE_SIZE, (filters.ppage - 1) * PAGE_SIZE)
    units = _units_select(filters, PAGE_SIZE, (filters.page - 1) * PAGE_SIZE)
    # Unknown-typed NULLs must stay at the top of each branch, where the UNION types them from the other branch.
    nulls_p = ", ".join(f"NULL AS {c}" for c in PEOPLE_COLUMNS)
    nulls_u = ", ".join("NULL" for _c in UNIT_COLUMNS)
    sql = (f"{head}SELECT 'unit' AS kind, a.*, {nulls_p} FROM ({units}) a "
           f"UNION ALL SELECT 'person', {nulls_u}, b.* FROM ({people}) b ORDER BY kind, ord, p_ord")
    return sql, [*params, *people_params]


def unit_table_sql(*, county: Region, year: int, policy, filters: Filters | None = None,
                   limit: int | None = PAGE_SIZE, offset: int = 0) -> tuple[str, list]:
    filters = filters or Filters()
    head, params = _with(county, year, policy, filters)
    return f"{head}{_units_select(filters, limit, offset)}", params


def people_sql(*, county: Region, year: int, policy, filters: Filters, limit: int | None = PAGE_SIZE,
               offset: int = 0) -> tuple[str, list]:
    head, params = _with(county, year, policy, filters)
    people, people_params = _people_select(filters, limit, offset)
    return f"{head}{people}", [*params, *people_params]


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _fetch_big(sql: str, params) -> list[dict]:
    """A statement holding a whole county's per-person rows: on PostgreSQL, with enough memory for them (about
    25 MB for 150,000 people) so the CTE does not spill to a temporary file; only for this statement."""
    if connection.vendor != "postgresql":
        return _fetch(sql, params)
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
        return _fetch(sql, params)


def _dec(value) -> Decimal:
    # SQLite returns sums of decimals as floats; str() keeps the figure the user would read.
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _rate(ok, n) -> float | None:
    return (int(ok or 0) / n) if n else None


@dataclass
class CountyReport:
    county: Region
    year: int
    filters: Filters
    problem: str = ""
    policy: YearPolicy | None = None
    people: int = 0
    compliant: int = 0
    met_total: int = 0
    met_public: int = 0
    avg_hours: Decimal | None = None
    units: list[dict] = field(default_factory=list)
    unit_count: int = 0
    levels: list[dict] = field(default_factory=list)
    histogram: list[dict] = field(default_factory=list)
    trend: list[dict] = field(default_factory=list)
    progress: dict = field(default_factory=dict)
    noncompliant: list[dict] = field(default_factory=list)
    noncompliant_count: int = 0

    @property
    def rate(self) -> float | None:
        return _rate(self.compliant, self.people)


def _unit_row(r: dict) -> dict:
    return {"unit_id": r["unit_id"], "name": r["unit_name"], "people": r["people"],
            "compliant": int(r["compliant"] or 0), "noncompliant": r["people"] - int(r["compliant"] or 0),
            "rate": _rate(r["compliant"], r["people"]),
            "avg_hours": (_dec(r["hours_sum"]) / r["people"]) if r["people"] else None}


def _person_row(r: dict) -> dict:
    r = {**r, "unit_id": r["p_unit_id"], "unit_name": r["p_unit_name"], "level": r["p_level"]}
    r["level_label"] = TitleLevel(r["level"]).label
    r["shortfall"] = shortfall_text(r)
    r["masked_id"] = mask_id_number(r["id_number"])
    return r


def county_units(*, county: Region, year: int, policy, filters: Filters, limit: int | None = PAGE_SIZE,
                 offset: int = 0) -> tuple[list[dict], dict]:
    """(unit rows, county totals) — the totals come from the window sums of the same statement."""
    rows = _fetch(*unit_table_sql(county=county, year=year, policy=policy, filters=filters, limit=limit,
                                  offset=offset))
    return [_unit_row(r) for r in rows], (rows[0] if rows else {})


def shortfall_text(row: dict) -> str:
    """The plain sentence of apps.ledger.compliance ("还差 8 学时公需科目，其中必修 4 学时") from a row's gaps."""
    from apps.ledger.compliance import fmt

    def d(key):
        return _dec(row[key])

    parts = []
    if d("short_total"):
        parts.append(_("还差 %(h)s 学时") % {"h": fmt(d("short_total"))})
    if d("short_public"):
        text = _("还差 %(h)s 学时公需科目") % {"h": fmt(d("short_public"))}
        if d("short_required"):
            text += _("，其中必修 %(h)s 学时") % {"h": fmt(d("short_required"))}
        parts.append(text)
    elif d("short_required"):
        parts.append(_("还差必修课目 %(h)s 学时") % {"h": fmt(d("short_required"))})
    if d("short_professional"):
        parts.append(_("还差 %(h)s 学时专业科目") % {"h": fmt(d("short_professional"))})
    return "；".join(parts)


def noncompliant_people(*, county: Region, year: int, policy, filters: Filters, limit: int | None = PAGE_SIZE,
                        offset: int = 0) -> tuple[list[dict], int]:
    rows = _fetch(*people_sql(county=county, year=year, policy=policy, filters=filters, limit=limit,
                              offset=offset))
    return [_person_row(r) for r in rows], (rows[0]["matches"] if rows else 0)


def _live_rate(*, county: Region, year: int, policy, level: str) -> tuple[int, int]:
    pp, params = _per_person(county, year, policy, Filters(level=level))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), SUM(ok) FROM ({pp}) pp", params)
        n, ok = cursor.fetchone()
    return n, int(ok or 0)


def county_trend(*, county: Region, year: int, level: str = "", current: tuple[int, int] | None = None,
                 span: int = 5) -> list[dict]:
    """The county's rate over the `span` years up to `year`: the current audit snapshot of each year where there is
    one (the audited figure), else computed live from the running totals; years without a policy are left out."""
    from apps.assessment.models import AuditGroupResult, AuditSnapshot

    first = year - span + 1
    audited = {g["snapshot__year"]: g for g in AuditGroupResult.objects.filter(
        snapshot__region=city_of(county), snapshot__is_current=True, snapshot__status=AuditSnapshot.Status.DONE,
        snapshot__year__gte=first, snapshot__year__lte=year, kind=AuditGroupResult.Kind.COUNTY,
        county=county, level=level, unit__isnull=True).values("snapshot__year", "people", "compliant")}
    with_policy = set(policy_years(county))
    out = []
    for y in range(first, year + 1):
        if y in audited:
            n, ok, source = audited[y]["people"], audited[y]["compliant"], "audit"
        elif y == year and current is not None:
            (n, ok), source = current, "live"
        elif y in with_policy:
            try:
                policy = ledger.policy_for(year=y, region=county)
            except Exception:  # a year whose policy lacks requirements: nothing to compare with
                continue
            (n, ok), source = _live_rate(county=county, year=y, policy=policy, level=level), "live"
        else:
            continue
        out.append({"year": y, "people": n, "compliant": ok, "rate": _rate(ok, n), "source": source})
    return out


def county_report(*, county: Region, year: int, filters: Filters, people_page: bool = True) -> CountyReport:
    from apps.core.errors import DomainError

    report = CountyReport(county=county, year=year, filters=filters)
    try:
        policy = ledger.policy_for(year=year, region=county)
    except DomainError as exc:
        report.problem = str(exc.message)
        report.trend = county_trend(county=county, year=year, level=filters.level)
        return report
    report.policy = policy
    if people_page:  # the page: one statement for both tables
        rows = _fetch_big(*page_sql(county=county, year=year, policy=policy, filters=filters))
        unit_rows = [r for r in rows if r["kind"] == "unit"]
        people_rows = [r for r in rows if r["kind"] == "person"]
        report.noncompliant = [_person_row(r) for r in people_rows]
        report.noncompliant_count = people_rows[0]["matches"] if people_rows else 0
    else:
        unit_rows = _fetch(*unit_table_sql(county=county, year=year, policy=policy, filters=filters,
                                           offset=(filters.page - 1) * PAGE_SIZE))
    if not unit_rows and filters.page > 1:  # past the last page of units: the totals are still wanted
        unit_rows_first = _fetch(*unit_table_sql(county=county, year=year, policy=policy, filters=filters, limit=1))
        totals = unit_rows_first[0] if unit_rows_first else {}
    else:
        totals = unit_rows[0] if unit_rows else {}
    report.units = [_unit_row(r) for r in unit_rows]
    if totals:
        report.unit_count = totals["units"]
        report.people = int(totals["all_people"] or 0)
        report.compliant = int(totals["all_compliant"] or 0)
        report.met_total = int(totals["all_met_total"] or 0)
        report.met_public = int(totals["all_met_public"] or 0)
        report.avg_hours = _dec(totals["all_hours_sum"]) / report.people if report.people else None
        for level in LEVELS:
            n = int(totals[f"all_lv_{level}"] or 0)
            ok = int(totals[f"all_ok_{level}"] or 0)
            if n:
                report.levels.append({"level": level, "label": TitleLevel(level).label, "people": n,
                                      "compliant": ok, "noncompliant": n - ok, "rate": _rate(ok, n)})
        report.histogram = [{"label": str(label), "people": int(totals[f"all_h{k}"] or 0)}
                            for k, (label, _lo, _hi) in enumerate(BUCKETS)]
    report.progress = _progress(report)
    report.trend = county_trend(county=county, year=year, level=filters.level,
                                current=(report.people, report.compliant))
    return report


def _progress(report: CountyReport) -> dict:
    """How far the year has gone against how far the people have: share of the year elapsed and the share of
    people who met each requirement so far."""
    today = timezone.localdate()
    start, end = datetime.date(report.year, 1, 1), datetime.date(report.year, 12, 31)
    if today < start:
        elapsed = 0.0
    elif today > end:
        elapsed = 1.0
    else:
        elapsed = ((today - start).days + 1) / ((end - start).days + 1)
    n = report.people
    return {"elapsed": elapsed, "current": start <= today <= end,
            "met_total": _rate(report.met_total, n), "met_public": _rate(report.met_public, n),
            "compliant": _rate(report.compliant, n)}


# --- the city dashboard ---------------------------------------------------------------------------------------


def counties_side_by_side(*, city: Region, year: int) -> tuple[list[dict], str]:
    """One row per county of the city and one for its city-affiliated units: people, compliant, rate, public
    requirement met, average hours, and the audited rank where a current snapshot exists. Counties sharing a
    policy are evaluated in one grouped statement. Returns (rows, problem)."""
    from apps.assessment.models import AuditGroupResult, AuditSnapshot
    from apps.core.errors import DomainError

    regions = [city, *Region.objects.filter(parent=city, kind=Region.Kind.COUNTY).order_by("code")]
    by_policy: dict[int, tuple] = {}
    problem = ""
    for region in regions:
        try:
            policy = ledger.policy_for(year=year, region=region)
        except DomainError as exc:
            problem = str(exc.message)
            continue
        by_policy.setdefault(policy.pk, (policy, []))[1].append(region.pk)
    figures: dict[int, dict] = {}
    for policy, region_ids in by_policy.values():
        ev = ledger.scope_compliance(year=year, policy=policy)
        marks = ", ".join(["%s"] * len(region_ids))
        figures.update({r["region_id"]: r for r in _fetch(
            f"SELECT u.region_id, COUNT(*) AS people, SUM(ev.compliant) AS compliant, "
            f"SUM(CASE WHEN ev.public >= ev.req_public AND ev.public_required >= ev.req_public_required "
            f"THEN 1 ELSE 0 END) AS met_public, SUM(ev.total) AS hours_sum "
            f"FROM ({ev.sql}) ev JOIN personnel_person p ON p.id = ev.person_id "
            f"JOIN orgs_unit u ON u.id = p.unit_id WHERE u.region_id IN ({marks}) GROUP BY u.region_id",
            [*ev.params, *region_ids])})
    ranks = {g["county_id"]: g for g in AuditGroupResult.objects.filter(
        snapshot__region=city, snapshot__year=year, snapshot__is_current=True,
        snapshot__status=AuditSnapshot.Status.DONE, kind=AuditGroupResult.Kind.COUNTY, level="",
        unit__isnull=True).values("county_id", "rank", "score")}
    rows = []
    for region in regions:
        f = figures.get(region.pk, {})
        n = int(f.get("people") or 0)
        ok = int(f.get("compliant") or 0)
        rows.append({"region": region, "name": region.name if region.pk != city.pk else _("市属单位"),
                     "people": n, "compliant": ok, "rate": _rate(ok, n),
                     "met_public": _rate(f.get("met_public"), n),
                     "avg_hours": (_dec(f.get("hours_sum")) / n) if n else None,
                     "rank": ranks.get(region.pk, {}).get("rank"), "score": ranks.get(region.pk, {}).get("score")})
    return rows, problem


def _city_bases(city: Region):
    from apps.bases.models import TrainingBase

    return TrainingBase.objects.filter(Q(region=city) | Q(region__parent=city)).order_by("level", "name")


def bases_throughput(*, city: Region, year: int, now: datetime.datetime | None = None) -> list[dict]:
    """Per base of the city: face-to-face registrations and exam results of the year's classes, online
    completions of the year, the pass rate over both, and the submitted items still waiting for review with the
    age of the oldest. Five grouped queries whatever the number of bases."""
    from apps.enrollment.models import ExamResult, OnlineCompletion, Registration, SubmissionItem

    now = now or timezone.now()
    bases = list(_city_bases(city).select_related("region"))
    ids = [b.pk for b in bases]
    regs = dict(Registration.objects.filter(training_class__base__in=ids, training_class__year=year)
                .values_list("training_class__base").annotate(n=Count("id")).order_by())
    exams = {r["registration__training_class__base"]: r for r in ExamResult.objects.filter(
        registration__training_class__base__in=ids, registration__training_class__year=year)
        .values("registration__training_class__base").annotate(n=Count("id"), ok=Count("id", filter=Q(passed=True)))
        .order_by()}
    online = {r["base"]: r for r in OnlineCompletion.objects.filter(base__in=ids, completed_on__year=year)
              .values("base").annotate(n=Count("id"), ok=Count("id", filter=Q(passed=True))).order_by()}
    pending = {r["submission__base"]: r for r in SubmissionItem.objects.filter(
        submission__base__in=ids, submission__status="submitted", status="pending")
        .values("submission__base").annotate(items=Count("id"), batches=Count("submission", distinct=True),
                                              oldest=Min("submission__submitted_at")).order_by()}
    rows = []
    for b in bases:
        e, o, p = exams.get(b.pk, {}), online.get(b.pk, {}), pending.get(b.pk, {})
        examined = (e.get("n") or 0) + (o.get("n") or 0)
        passed = (e.get("ok") or 0) + (o.get("ok") or 0)
        oldest = p.get("oldest")
        rows.append({"base": b, "name": b.name, "kind": b.get_kind_display(), "level": b.get_level_display(),
                     "registrations": regs.get(b.pk, 0), "exams": e.get("n") or 0, "exams_passed": e.get("ok") or 0,
                     "online": o.get("n") or 0, "online_passed": o.get("ok") or 0,
                     "trainees": regs.get(b.pk, 0) + (o.get("n") or 0),
                     "examined": examined, "passed": passed, "pass_rate": _rate(passed, examined),
                     "pending_items": p.get("items") or 0, "pending_batches": p.get("batches") or 0,
                     "oldest": oldest, "age_days": (now - oldest).days if oldest else None})
    return rows


def plans_summary(*, city: Region, year: int, now: datetime.datetime | None = None) -> dict:
    """Industry plans of the city's departments for the year: counts by status and the filed ones waiting for
    the bureau (oldest first)."""
    from apps.catalog.models import IndustryPlan

    now = now or timezone.now()
    qs = IndustryPlan.objects.filter(year=year).filter(
        Q(department__region=city) | Q(department__region__parent=city))
    counts = dict(qs.values_list("status").annotate(n=Count("id")).order_by())
    statuses = [{"status": s, "label": label, "count": counts.get(s, 0)} for s, label in IndustryPlan.Status.choices]
    waiting = list(qs.filter(status=IndustryPlan.Status.FILED).select_related("department")
                   .order_by("filed_at", "pk")[:100])
    pending = [{"plan": p, "title": p.title, "department": p.department.name, "filed_at": p.filed_at,
                "age_days": (now - p.filed_at).days if p.filed_at else None} for p in waiting]
    return {"statuses": statuses, "total": sum(counts.values()), "filed": counts.get(IndustryPlan.Status.FILED, 0),
            "acknowledged": counts.get(IndustryPlan.Status.ACKNOWLEDGED, 0), "pending": pending}


def audit_snapshots(*, city: Region) -> tuple[list[dict], list[dict], list[int]]:
    """The current snapshot of each audited year, and the counties' audited rates by year (rows: counties,
    columns: years)."""
    from apps.assessment.models import AuditGroupResult, AuditSnapshot

    snaps = list(AuditSnapshot.objects.filter(region=city, is_current=True).order_by("-year"))
    rows = [{"snapshot": s, "year": s.year, "status": s.get_status_display(), "people": s.people,
             "compliant": s.compliant, "rate": _rate(s.compliant, s.people), "as_of": s.as_of} for s in snaps]
    years = sorted({s.year for s in snaps if s.status == AuditSnapshot.Status.DONE})
    groups = AuditGroupResult.objects.filter(snapshot__in=[s for s in snaps if s.status == "done"],
                                             kind=AuditGroupResult.Kind.COUNTY, level="", unit__isnull=True
                                             ).values("county_id", "snapshot__year", "rate", "rank")
    by_county: dict[int, dict] = {}
    for g in groups:
        by_county.setdefault(g["county_id"], {})[g["snapshot__year"]] = g
    names = dict(Region.objects.filter(pk__in=list(by_county)).values_list("pk", "name"))
    matrix = [{"county": names.get(cid, cid), "cells": [by_county[cid].get(y) for y in years]}
              for cid in sorted(by_county, key=lambda c: str(names.get(c, c)))]
    return rows, matrix, years


@dataclass
class Dashboard:
    city: Region
    year: int
    counties: list[dict]
    problem: str
    bases: list[dict]
    plans: dict
    snapshots: list[dict]
    matrix: list[dict]
    matrix_years: list[int]


def city_dashboard(*, city: Region, year: int) -> Dashboard:
    counties, problem = counties_side_by_side(city=city, year=year)
    snapshots, matrix, years = audit_snapshots(city=city)
    return Dashboard(city=city, year=year, counties=counties, problem=problem,
                     bases=bases_throughput(city=city, year=year), plans=plans_summary(city=city, year=year),
                     snapshots=snapshots, matrix=matrix, matrix_years=years)

