"""County bureau reports and the city bureau dashboard: thin views over apps.reports.selectors.

Jurisdiction: a county bureau has its own county only; the city bureau and the system admin any county of their
city (and the city's own units). A region outside it answers 404 — the same as a region that does not exist — in
pages and exports alike; roles without reports get 403.
"""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.accounts.visibility import sees_full_id
from apps.auditlog.models import Action
from apps.auditlog.services import record
from apps.personnel.models import TitleLevel

from . import charts, exports, selectors
from .selectors import Filters


def _attachment(filename: str, content_type: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _require_reports(request) -> None:
    if not selectors.may_see_reports(request.user):
        raise PermissionDenied


@login_required
@require_GET
def county(request):
    _require_reports(request)
    regions = selectors.report_regions(request.user)
    year = selectors.parse_year(request.GET.get("year"))
    if request.GET.get("county"):
        region = selectors.report_region_or_404(request.user, request.GET["county"])
    elif len(regions) == 1:
        region = regions[0]
    else:  # the city bureau chooses a county first
        return render(request, "reports/county.html", {"regions": regions, "year": year, "report": None,
                                                        "years": sorted({year, *_years(regions)}, reverse=True)})
    filters = Filters.from_query(request.GET)
    report = selectors.county_report(county=region, year=year, filters=filters)
    return render(request, "reports/county.html", {
        "regions": regions, "region": region, "year": year, "report": report, "filters": filters,
        "unit_sorts": _sort_links(request, "sort", "dir", "page", filters.sort, filters.dir, selectors.UNIT_SORTS),
        "people_sorts": _sort_links(request, "psort", "pdir", "ppage", filters.psort, filters.pdir,
                                    selectors.PEOPLE_SORTS),
        "export_query": _query(request, page=None, ppage=None, county=None, year=None),
        "charts": {
            "units": charts.rate_bars([(u["name"], u["rate"]) for u in report.units], title=_("各单位达标率")),
            "hours": charts.columns([(b["label"], b["people"]) for b in report.histogram], title=_("全年学时分布")),
            "trend": charts.trend([(t["year"], t["rate"]) for t in report.trend], title=_("历年达标率")),
        },
        "page_links": _page_links(request, "page", filters.page, _pages(report.unit_count)),
        "ppage_links": _page_links(request, "ppage", filters.ppage, _pages(report.noncompliant_count)),
        "years": sorted({year, *selectors.policy_years(region)}, reverse=True),
        "levels": TitleLevel.choices, "full_id": sees_full_id(request.user),
        "tables": exports.COUNTY_TABLES,
    })


def _query(request, **override) -> str:
    """The current query string with some parameters replaced (None drops one): links keep the filters."""
    params = request.GET.copy()
    for key, value in override.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else ""


def _sort_links(request, sort_key, dir_key, page_key, current, direction, sorts) -> dict:
    """Per sortable column: the link that sorts by it (a second click reverses) and its aria-sort state."""
    out = {}
    for key in sorts:
        active = key == current
        new_dir = ("desc" if direction == "asc" else "asc") if active else "asc"
        out[key] = {"url": _query(request, **{sort_key: key, dir_key: new_dir, page_key: None}),
                    "aria": ("ascending" if direction == "asc" else "descending") if active else "none"}
    return out


def _page_links(request, key, page, pages) -> dict:
    return {"page": page, "pages": pages,
            "previous": _query(request, **{key: page - 1}) if page > 1 else "",
            "next": _query(request, **{key: page + 1}) if page < pages else ""}


def _years(regions) -> set[int]:
    return set(selectors.policy_years(regions[0])) if regions else set()


def _pages(n: int) -> int:
    return max((n + selectors.PAGE_SIZE - 1) // selectors.PAGE_SIZE, 1)


@login_required
@require_GET
def county_export(request, region_id: int, year: int, table: str, fmt: str):
    _require_reports(request)
    if table not in exports.COUNTY_TABLES or fmt not in ("xlsx", "pdf") or year not in selectors.YEARS:
        raise Http404
    region = selectors.report_region_or_404(request.user, region_id)
    full_id = sees_full_id(request.user)
    data = exports.county_table(key=table, county=region, year=year, filters=Filters.from_query(request.GET),
                                full_id=full_id)
    filename, content_type, content = exports.export(data, f"county-{region.code}-{year}-{table}", fmt)
    record(request, Action.EXPORT, target=region, details={
        "file": filename, "table": table, "year": year, "rows": len(data.rows), "full_id": full_id,
        "query": request.GET.urlencode()[:500]})
    return _attachment(filename, content_type, content)


def _city(request):
    if not selectors.may_see_dashboard(request.user):
        raise PermissionDenied
    cities = selectors.dashboard_cities(request.user)
    if not cities:
        raise Http404
    wanted = request.GET.get("city")
    if wanted:
        for c in cities:
            if str(c.pk) == wanted:
                return c, cities
        raise Http404
    return cities[0], cities


@login_required
@require_GET
def city_dashboard(request):
    city, cities = _city(request)
    year = selectors.parse_year(request.GET.get("year"))
    dashboard = selectors.city_dashboard(city=city, year=year)
    return render(request, "reports/city_dashboard.html", {
        "dashboard": dashboard, "city": city, "cities": cities, "year": year,
        "years": sorted({year, *selectors.policy_years(city)}, reverse=True), "tables": exports.CITY_TABLES,
    })


@login_required
@require_GET
def city_export(request, year: int, table: str, fmt: str):
    city, _cities = _city(request)
    if table not in exports.CITY_TABLES or fmt not in ("xlsx", "pdf") or year not in selectors.YEARS:
        raise Http404
    data = exports.city_table(key=table, city=city, year=year)
    filename, content_type, content = exports.export(data, f"city-{city.code}-{year}-{table}", fmt)
    record(request, Action.EXPORT, target=city,
           details={"file": filename, "table": table, "year": year, "rows": len(data.rows)})
    return _attachment(filename, content_type, content)
