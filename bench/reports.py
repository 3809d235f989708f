"""The county bureau report page (/reports/county/) for a county of 150,000 people.

Figure: server time of GET /reports/county/?county=<id>&year=2016 through django.test.Client, logged in as that
county's bureau — the median of 10 requests after a warm-up (template rendering included, network excluded).
Floor: the page's main statement alone, run raw on a cursor — the per-unit aggregation (with the county totals,
per-level counts and the hour histogram riding on it as window sums) and the first page of non-compliant people,
both over the per-person rows evaluated once (apps.reports.selectors.page_sql). Target: < 300 ms.

The data: its own database, ce_reports_bench, reused when it already holds 150,000 people (BENCH_REPORTS_REBUILD=1
rebuilds): Kaifeng 2016, seed_demo 150,000 people with a year of hours, then every unit moved into one county with
one UPDATE (seed_demo spreads units over all counties; the worst case for a county report is the whole city in
one county), then ANALYZE.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

from django.db import connection

from . import Row, benchmark
from ._postgres import database_exists, fresh_database, use_database

PEOPLE = 150_000
YEAR = 2016
COUNTY = "410202"
DATABASE = "ce_reports_bench"


def _say(text: str) -> None:
    print(f"  [reports] {text}", file=sys.stderr, flush=True)


def _dataset() -> None:
    from django.core.management import call_command

    from apps.personnel.models import Person

    rebuild = os.environ.get("BENCH_REPORTS_REBUILD") == "1" or not database_exists(DATABASE)
    if not rebuild:
        try:
            have = Person.objects.count()
        except Exception:  # a half-built database (interrupted run): build it again
            have = -1
        rebuild = have != PEOPLE
        if not rebuild:
            _say(f"reusing {have:,} people in {DATABASE} (BENCH_REPORTS_REBUILD=1 rebuilds)")
            return
    _say(f"fresh database {fresh_database()}; seed_demo {PEOPLE:,} people with hours (about 3 minutes)")
    began = time.perf_counter()
    call_command("seed_demo", "--people", str(PEOPLE), "--year", str(YEAR), verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_unit SET region_id = (SELECT id FROM orgs_region WHERE code = %s)", [COUNTY])
        cursor.execute("ANALYZE")
    _say(f"built in {time.perf_counter() - began:.0f} s")


def _median_ms(fn, runs: int = 10) -> float:
    fn()  # warm-up: templates, translations, the plan cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


@benchmark("reports", "county report page for a county of 150,000 people vs its main SQL")
def run() -> list[Row]:
    from django.test import Client

    from apps.accounts.models import Role, User
    from apps.catalog.models import YearPolicy
    from apps.orgs.models import Region
    from apps.reports import selectors

    with use_database(DATABASE):
        _dataset()
        county = Region.objects.get(code=COUNTY)
        user = User.objects.filter(role=Role.COUNTY_BUREAU, region=county).first() or User.objects.create_user(
            f"bench_county_{uuid.uuid4().hex[:6]}", password=uuid.uuid4().hex, role=Role.COUNTY_BUREAU,
            region=county)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        url = f"/reports/county/?county={county.pk}&year={YEAR}"

        def page():
            response = client.get(url)
            if response.status_code != 200:
                raise AssertionError(f"{url} answered {response.status_code}: {response.content[:300]!r}")
            return response

        body = page().content.decode()
        if "data-unit-row" not in body:
            raise AssertionError("the report page shows no unit rows")
        policy = YearPolicy.objects.get(year=YEAR, region__code="410200")
        sql, params = selectors.page_sql(county=county, year=YEAR, policy=policy)

        def floor():
            # The statement as the page runs it (selectors._fetch_big: its own work_mem), minus everything else.
            return selectors._fetch_big(sql, params)

        page_ms = _median_ms(page)
        floor_ms = _median_ms(floor)
        _say(f"{len(floor())} rows from the main SQL; page {page_ms:.0f} ms, main SQL {floor_ms:.0f} ms")
        return [Row(f"county report page, {PEOPLE:,} people in one county ({YEAR})", page_ms, "ms", floor_ms,
                    "< 300 ms")]
