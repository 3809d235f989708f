"""50 trainees at once: log in through the form and browse their pages (locust, gunicorn on the loopback).

Figure: requests/s, errors and p50/p99 latency of 50 simulated trainees (bench/locustfile.py `Trainee`): each logs
in through the login form, then clicks home, 我的学时, the certificate booklet page and the compliance API with a
think time of 1–2 s, for BENCH_LOAD_SECONDS (default 60). Users start at BENCH_LOAD_SPAWN_RATE a second
(default 10: all 50 logins within 5 s, a burst of Argon2 hashing — reported apart as the login's own p99).
Floor: the same locust — 50 users, same think time and duration — against /healthz (a bare view, one trivial
query) on the same gunicorn: what the stack alone (WSGI, middleware, one connection round trip) costs.
Target: 0 errors, p99 < 200 ms.

Data: its own database, ce_load_bench, recreated every run — the Kaifeng fixture, BENCH_LOAD_PEOPLE (default
2,000) people with a year of hours by `seed_demo`, and 50 trainee logins (load-trainee-00 … 49) for 50 of them.
The web: gunicorn, 2 × cores + 1 sync workers (BENCH_LOAD_WORKERS), settings `config.settings.base` with DEBUG off
and persistent connections (CONN_MAX_AGE=60, as production) — not `production`, whose Secure cookies a client on
plain http does not send back. Traffic goes to 127.0.0.1 only.

By hand against a running server:
    LOAD_USERS=users.json LOAD_PASSWORD=… locust -f bench/locustfile.py --headless -u 50 -r 10 --run-time 60s \\
        --host http://127.0.0.1:8000 Trainee
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management import call_command

from . import Row, Unavailable, benchmark
from ._postgres import database_settings, fresh_database, use_database

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2016
USERS = 50
DATABASE = "ce_load_bench"


def _say(text: str) -> None:
    print(f"  [load] {text}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dataset(people: int, password: str) -> list[dict]:
    from django.contrib.auth.hashers import make_password

    from apps.accounts.models import Role, User
    from apps.personnel.models import Person

    fresh_database()
    call_command("seed_demo", "--people", str(people), "--year", str(YEAR), verbosity=0)
    chosen = list(Person.objects.order_by("pk").values_list("pk", flat=True)[:: max(1, people // USERS)][:USERS])
    hashed = make_password(password)  # one hash for all: Argon2 fifty times would only slow the setup down
    User.objects.bulk_create([User(username=f"load-trainee-{n:02d}", password=hashed, role=Role.TRAINEE,
                                   person_id=pk, is_staff=False) for n, pk in enumerate(chosen)])
    return [{"username": f"load-trainee-{n:02d}", "person_id": pk} for n, pk in enumerate(chosen)]


def _warm_up(host: str, workers: int) -> None:
    """Every worker booted (gunicorn accepts on its socket before its workers have imported Django) and each one's
    database connection open: otherwise the first seconds of the floor measure start-up."""
    import urllib.request

    end = time.monotonic() + 120
    ok = 0
    while ok < 20 * workers and time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{host}/healthz", timeout=10) as r:
                ok += r.status == 200
            with urllib.request.urlopen(f"{host}/login/", timeout=10) as r:
                ok += r.status == 200
        except OSError:
            time.sleep(0.2)
    if ok < 20 * workers:
        raise AssertionError(f"gunicorn at {host} did not answer within 120 s")


def _percentile(histogram: dict[float, int], q: float) -> float:
    """The q-quantile (ms) of locust's response-time histogram (its buckets: ms, rounded as locust rounds)."""
    total = sum(histogram.values())
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= q * total:
            return ms
    return 0.0


def _figures(entries: list[dict], seconds: float) -> dict:
    histogram: dict[float, int] = {}
    for e in entries:
        for ms, n in e["response_times"].items():
            histogram[float(ms)] = histogram.get(float(ms), 0) + n
    requests = sum(e["num_requests"] for e in entries)
    return {"rps": requests / seconds, "requests": requests, "errors": sum(e["num_failures"] for e in entries),
            "p50": _percentile(histogram, 0.50), "p99": _percentile(histogram, 0.99)}


def _locust(user_class: str, host: str, seconds: int, env: dict, tmp: Path) -> dict[str, dict]:
    """Run locust headless for `seconds`; returns figures of all requests ("all") and without the logins
    ("pages")."""
    out = tmp / f"{user_class}.json"
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
           "-u", str(USERS), "-r", os.environ.get("BENCH_LOAD_SPAWN_RATE", "10"), "--run-time", f"{seconds}s",
           "--stop-timeout", "5", "--host", host,
           "--json-file", str(out.with_suffix("")), "--only-summary", "--loglevel", "WARNING", user_class]
    began = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    elapsed = time.monotonic() - began
    if not out.exists():
        raise AssertionError(f"locust wrote no statistics (exit {done.returncode}):\n{done.stderr[-3000:]}")
    entries = json.loads(out.read_text())
    for e in sorted(entries, key=lambda e: e["name"]):
        f = _figures([e], elapsed)
        _say(f"  {user_class:8} {e['name']:36} {f['requests']:6} req  p50 {f['p50']:6.0f} ms  p99 {f['p99']:6.0f} ms"
             f"  failures {f['errors']}")
    if any(e["num_failures"] for e in entries):
        _say(f"  locust said:\n{done.stderr[-2000:]}")
    pages = [e for e in entries if not e["name"].startswith("/login/")]
    # Requests/s over the whole run, ramp-up included (locust's own figure counts the same way).
    return {"all": _figures(entries, seconds), "pages": _figures(pages, seconds),
            "login": _figures([e for e in entries if e["name"] == "/login/ (submit)"], seconds)}


@benchmark("load", "50 trainees log in and browse (locust, 60 s) against /healthz under the same load")
def run() -> list[Row]:
    database_settings()  # PostgreSQL, *_bench, or a clear Unavailable
    # Looked up, not imported: importing locust monkey-patches threads (gevent) under Django's connections.
    if importlib.util.find_spec("locust") is None:
        raise Unavailable("locust is not installed in this environment (pip install locust)")
    people = int(os.environ.get("BENCH_LOAD_PEOPLE", "2000"))
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    workers = os.environ.get("BENCH_LOAD_WORKERS") or str(2 * (os.cpu_count() or 1) + 1)
    password = secrets.token_urlsafe(12)
    with use_database(DATABASE):
        _say(f"building {DATABASE}: {people:,} people with hours, {USERS} trainee logins")
        accounts = _dataset(people, password)
        db = database_settings()
        port = _free_port()
        host = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DEBUG": "false",
               "SECRET_KEY": secrets.token_hex(32), "ALLOWED_HOSTS": "127.0.0.1", "CONN_MAX_AGE": "60",
               "LOG_LEVEL": "WARNING", "REDIS_URL": os.environ.get("REDIS_URL", ""),
               "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
                               f"{db.get('PORT') or 5432}/{db['NAME']}"}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                                   f"127.0.0.1:{port}", "--workers", workers, "--log-level", "warning"],
                                  cwd=ROOT, env=env, start_new_session=True)
        try:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if server.poll() is not None:
                        raise AssertionError(f"gunicorn exited with {server.returncode}")
                    time.sleep(0.2)
            _warm_up(host, int(workers))
            with tempfile.TemporaryDirectory() as tmp:
                users = Path(tmp) / "users.json"
                users.write_text(json.dumps(accounts))
                locust_env = {**os.environ, "LOAD_USERS": str(users), "LOAD_PASSWORD": password,
                              "LOAD_YEAR": str(YEAR)}
                _say(f"floor: {USERS} users on /healthz for {seconds} s (gunicorn ×{workers})")
                floor = _locust("Floor", host, seconds, locust_env, Path(tmp))
                _say(f"figure: {USERS} trainees logging in and browsing for {seconds} s")
                figure = _locust("Trainee", host, seconds, locust_env, Path(tmp))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
    label = f"{USERS} trainees, {seconds} s, gunicorn ×{workers}"
    every, pages, login, bare = figure["all"], figure["pages"], figure["login"], floor["all"]
    return [
        Row(f"load: {label} — throughput", every["rps"], "req/s", bare["rps"], "(think time 1–2 s; floor /healthz)"),
        Row("load: errors", every["errors"], "errors", bare["errors"], "0 errors"),
        Row("load: p50 latency, all requests", every["p50"], "ms", bare["p50"], ""),
        Row("load: p99 latency, all requests", every["p99"], "ms", bare["p99"], "< 200 ms"),
        Row("load: p99 latency, pages and API (no logins)", pages["p99"], "ms", bare["p99"], "< 200 ms"),
        # Argon2 by design (~0.1–0.3 s of CPU a login): 50 logins in the 5 s ramp-up queue behind each other.
        Row("load: p99 latency, login form submit", login["p99"], "ms", None, "(Argon2; informational)"),
    ]
