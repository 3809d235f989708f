"""The hour ledger at city scale: 1,000,000 people, about 10,000,000 entries for 2016.

Figures, each beside its floor measured in the same run on the same data:
  (a) city-wide evaluation of 2016 (every person's compliance, summarised per title level) — floor: the raw SQL
      aggregate of the year's entries per person (what any evaluation without running totals must at least do);
      target under 1 s and faster than the floor.
  (b) the same evaluation "as known on" a date (from the entries, not the running totals) — floor as (a); target
      within 1.5× of it.
  (c) the compliance API under 20 concurrent clients (gunicorn on loopback, token auth, random people) — floor: a
      bare Django view doing one trivial query (/healthz) on the same stack; target at least half its throughput
      and p99 under 50 ms.
  (d) verify_ledger for 2016 (totals and levels recomputed and compared) — floor as (a).

The dataset is built once by `seed_demo` (people, titles, promotions and their year of hours, through the ledger
service) into its own database, BENCH_LEDGER_DATABASE (default ce_ledger_bench), and reused while it holds the
requested size; BENCH_LEDGER_REBUILD=1 rebuilds it. BENCH_LEDGER_PEOPLE (default 1,000,000) sets the size,
BENCH_API_SECONDS (default 20) the length of each load run.
"""
from __future__ import annotations

import base64
import datetime
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection

from . import Row, Unavailable, benchmark
from ._postgres import database_exists, database_settings, fresh_database, use_database

YEAR = 2016
ROOT = Path(__file__).resolve().parent.parent


def _say(text: str) -> None:
    print(f"  [ledger] {text}", file=sys.stderr, flush=True)


def _best(fn, runs: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - began)
    return best, out


# The sums must be used: with a bare COUNT(*) over the subquery PostgreSQL drops them and reads a narrow index,
# which is no evaluation at all. This counts who meets the 2016 intermediate-level thresholds.
FLOOR_SQL = """
SELECT COUNT(*) FILTER (WHERE pr + pe + prof >= 90 AND pr + pe >= 26 AND pr >= 18) FROM (
    SELECT person_id,
           SUM(CASE WHEN category = 'public_required' THEN hours ELSE 0 END) AS pr,
           SUM(CASE WHEN category = 'public_elective' THEN hours ELSE 0 END) AS pe,
           SUM(CASE WHEN category = 'professional' THEN hours ELSE 0 END) AS prof
    FROM ledger_hourentry WHERE year = %s GROUP BY person_id) per_person
"""


def _floor() -> float:
    def run():
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [YEAR])
            return cursor.fetchone()[0]

    seconds, _ = _best(run)
    return seconds


def _dataset(people: int) -> None:
    from apps.ledger.models import HourEntry
    from apps.personnel.models import Person

    rebuild = os.environ.get("BENCH_LEDGER_REBUILD") == "1" or not database_exists(connection.settings_dict["NAME"])
    if not rebuild:
        have_people = Person.objects.count()
        have_entries = HourEntry.objects.filter(year=YEAR).count()
        rebuild = have_people != people or have_entries < 8 * people
        if not rebuild:
            _say(f"reusing {have_people:,} people and {have_entries:,} entries "
                 f"(BENCH_LEDGER_REBUILD=1 rebuilds)")
            return
    _say(f"building {people:,} people with a year of hours (seed_demo; about 10 minutes for a million)")
    fresh_database()
    began = time.perf_counter()
    call_command("seed_demo", "--people", str(people), "--year", str(YEAR), verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _say(f"built in {time.perf_counter() - began:.0f} s: {HourEntry.objects.count():,} entries")


def _evaluations() -> list[Row]:
    from apps.catalog.models import YearPolicy
    from apps.ledger import selectors

    policy = YearPolicy.objects.get(year=YEAR, region__code="410200")
    floor = _floor()
    now, summary = _best(lambda: selectors.scope_compliance(year=YEAR, policy=policy).summary())
    _say(f"2016: {summary['people']:,} people, {summary['compliant']:,} compliant ({summary['rate']:.1%})")
    today = datetime.date.today()
    then, summary_then = _best(lambda: selectors.scope_compliance(year=YEAR, policy=policy, as_of=today).summary())
    if summary_then != summary:  # everything was recorded before today: both must agree to the person
        raise AssertionError(f"as_of evaluation disagrees with the running totals: {summary_then} != {summary}")
    verify, (checked, drift) = _best(lambda: selectors.ledger_drift(year=YEAR), runs=1)
    if drift:
        raise AssertionError(f"verify_ledger found drift: {drift[:3]}")
    n = f"{summary['people'] / 1e6:.1f} M people"
    return [
        Row(f"(a) city-wide evaluation {YEAR}, {n}", now * 1000, "ms", floor * 1000,
            "< 1,000 ms and < floor"),
        Row(f"(b) same, as_of {today}", then * 1000, "ms", floor * 1000, "≤ 1.5 × floor"),
        Row(f"(d) verify_ledger --year {YEAR} ({checked:,} person-years)", verify * 1000, "ms", floor * 1000,
            "(no target; floor = raw aggregate)"),
    ]


# --- (c) the compliance API under load --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrk(url: str, script: Path | None, seconds: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-2xx responses) of 20 connections for `seconds`."""
    cmd = ["wrk", "-t2", "-c20", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise AssertionError(f"wrk against {url} printed no throughput (is the server up?): {out[-500:]!r}")
    rps = float(found.group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return rps, p99_ms, failures


def _api_load() -> list[Row]:
    if not shutil.which("wrk"):
        raise Unavailable("wrk is not installed (apt-get install -y wrk)")
    from rest_framework.authtoken.models import Token

    from apps.accounts.models import Role, User
    from apps.orgs.models import Region
    from apps.personnel.models import Person

    user, _ = User.objects.get_or_create(username="bench_city", defaults={
        "role": Role.CITY_BUREAU, "region": Region.objects.get(code="410200")})
    token, _ = Token.objects.get_or_create(user=user)
    ids = list(Person.objects.order_by("?").values_list("pk", flat=True)[:2000])
    seconds = int(os.environ.get("BENCH_API_SECONDS", "20"))
    db = database_settings()
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": secrets.token_hex(32),
           "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING",
           "CERT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
           "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
                           f"{db.get('PORT') or 5432}/{db['NAME']}"}
    # gunicorn's own advice for sync workers: 2 × cores + 1 (a worker waiting on PostgreSQL leaves the core free).
    workers = os.environ.get("BENCH_API_WORKERS") or str(2 * (os.cpu_count() or 1) + 1)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                               f"127.0.0.1:{port}", "--workers", workers, "--log-level", "warning"],
                              cwd=ROOT, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "compliance.lua"
            script.write_text(
                "local ids = {" + ",".join(map(str, ids)) + "}\n"
                "request = function()\n"
                "  local id = ids[math.random(#ids)]\n"
                f"  return wrk.format('GET', '/api/v1/people/' .. id .. '/compliance/?year={YEAR}',\n"
                f"    {{['Authorization'] = 'Token {token.key}', ['Host'] = '127.0.0.1'}})\n"
                "end\n")
            base = f"http://127.0.0.1:{port}"
            _wrk(f"{base}/healthz", None, 3)  # warm up both paths and the workers' connections
            _wrk(f"{base}/", script, 3)
            floor_rps, floor_p99, floor_bad = _wrk(f"{base}/healthz", None, seconds)
            rps, p99, bad = _wrk(f"{base}/", script, seconds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if bad or floor_bad:
        raise AssertionError(f"errors under load: compliance {bad}, healthz {floor_bad}")
    return [
        Row(f"(c) compliance API, 20 clients, gunicorn ×{workers}", rps, "req/s", floor_rps,
            "≥ 0.5 × floor (bare view: /healthz)"),
        Row("(c) compliance API p99 latency", p99, "ms", floor_p99, "< 50 ms"),
    ]


@benchmark("ledger", "city-wide compliance, as_of, verify_ledger and the compliance API on 1 M people / 10 M entries")
def run() -> list[Row]:
    database_settings()  # PostgreSQL, *_bench, or a clear Unavailable
    people = int(os.environ.get("BENCH_LEDGER_PEOPLE", "1000000"))
    with use_database(os.environ.get("BENCH_LEDGER_DATABASE", "ce_ledger_bench")):
        _dataset(people)
        rows = _evaluations()
        rows += _api_load()
    return rows
