"""Qualification certificates (合格证书): batch rendering against the naive way, and a batch end to end on workers.

Figures:
1. Certificates/s of one worker process rendering a chunk — CERT_BATCH_CHUNK certificates as the pages of one
   WeasyPrint document, exactly what the `certificates.render_chunk` task does — against the naive way measured in
   the same run: every certificate its own WeasyPrint document with the same HTML and fonts (the single download).
   Both include what a certificate needs besides layout (signed token, QR code, the database reads). Target: ≥ 10×.
2. 1,000 certificates end to end with 2 Celery workers (separate processes, Redis broker): from the city bureau's
   click (POST /certificates/bulk/new/) to the zip downloaded. Target: within 60 s. Floor: the in-process chunk
   throughput of figure 1 spread over two workers (what rendering alone costs).

The data: its own database, ce_certificates_bench (recreated each run): Kaifeng 2016, seed_demo people, one online
completion each recorded through the platform API's service, submitted by the online base and endorsed by the city
bureau through the review service — 1,000 endorsed items. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.db import connection

from . import Row, Unavailable, benchmark
from ._postgres import fresh_database, use_database

CERTIFICATES = 1000
ROOT = Path(__file__).resolve().parent.parent


def _say(text: str) -> None:
    print(f"  [certificates] {text}", file=sys.stderr, flush=True)


def _dataset() -> tuple:
    """1,000 endorsed items of one submission, through the services the portal uses."""
    from django.core.management import call_command

    from apps.accounts.models import Role, User
    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course
    from apps.enrollment import review, submissions
    from apps.enrollment.completions import completions_record
    from apps.orgs.models import Region
    from apps.personnel.models import Person

    call_command("seed_demo", "--people", str(int(CERTIFICATES * 1.3)), "--year", "2016", "--no-hours", verbosity=0)
    base = TrainingBase.objects.get(code="kf-online")
    course = Course.objects.filter(year=2016, mode="online", category="public_elective").order_by("code").first()
    people = Person.objects.order_by("pk").values_list("pk", "id_number", "name")
    rows = [{"record_id": f"C{pk}", "id_number": id_number, "name": name, "course_code": course.code,
             "hours": str(course.hours), "completed_on": "2016-09-01", "passed": True}
            for pk, id_number, name in people]
    report = completions_record(base=base, rows=rows, request_id="bench-certificates")
    bureau = User.objects.create_user("bench_city", password=uuid.uuid4().hex, role=Role.CITY_BUREAU,
                                      region=Region.objects.get(code="410200"))
    sub = submissions.submission_create(base=base)
    submissions.submission_add_ready(submission_id=sub.pk, limit=CERTIFICATES)
    submissions.submission_submit(submission_id=sub.pk)
    review.submission_endorse_all(submission_id=sub.pk, by=bureau)
    _say(f"{report.accepted:,} completions accepted; submission {sub.number} with {sub.items.count():,} endorsed items")
    return sub, bureau


def _throughput(sub) -> tuple[float, float, int]:
    """(chunk certificates/s, naive certificates/s, chunk size), measured in a fresh process as a worker is — not in
    this one, whose heap the dataset build has filled (the garbage collector then slows WeasyPrint by a third)."""
    import json

    out = subprocess.run([sys.executable, "-m", "bench._certificate_rates", str(sub.pk)], cwd=ROOT, check=True,
                         env={**os.environ, "DATABASE_URL": _database_url(),
                              "DJANGO_SETTINGS_MODULE": "config.settings.base"},
                         capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    naive, batch, size = result["naive"], result["batch"], result["size"]
    _say(f"naive {naive:.2f} certificates/s ({1000 / naive:.0f} ms each; rounds {_rates(result['naive_rounds'])}); "
         f"chunks of {size}: {batch:.2f}/s ({1000 / batch:.0f} ms each; rounds {_rates(result['batch_rounds'])}) "
         f"→ {batch / naive:.1f}×")
    return batch, naive, size


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{r:.1f}" for r in rates)


def _workers(n: int, queue: str, media: str, redis_url: str) -> list[subprocess.Popen]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "MEDIA_ROOT": media,
           "REDIS_URL": redis_url, "DATABASE_URL": _database_url()}
    return [subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
                              "--loglevel=warning", "-Q", queue, "-n", f"bench{k}-{queue}@%h", "--without-gossip",
                              "--without-mingle"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for k in range(n)]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _end_to_end(sub, bureau, media: str) -> tuple[float, int]:
    """Seconds from the click to the zip downloaded, with 2 workers already running; and the zip's size."""
    from django.test import Client

    from apps.certificates.models import CertificateBatch

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(bureau)
    began = time.perf_counter()
    response = client.post("/certificates/bulk/new/", {"submission": sub.pk})
    if response.status_code != 302:
        raise AssertionError(f"starting the batch answered {response.status_code}: {response.content[:300]!r}")
    batch = CertificateBatch.objects.latest("pk")
    while True:
        batch.refresh_from_db()
        if batch.status == CertificateBatch.Status.DONE:
            break
        if batch.status == CertificateBatch.Status.FAILED or time.perf_counter() - began > 600:
            raise AssertionError(f"batch {batch.pk} {batch.status}: {batch.error}")
        time.sleep(0.1)
    response = client.get(f"/certificates/bulk/{batch.pk}/certificates.zip")
    size = len(b"".join(response.streaming_content))
    seconds = time.perf_counter() - began
    pages = sum(batch.rendered.values_list("pages", flat=True))
    if response.status_code != 200 or pages != CERTIFICATES:
        raise AssertionError(f"zip {response.status_code}, {pages} certificates rendered of {CERTIFICATES}")
    return seconds, size


@benchmark("certificates", "合格证书: chunked rendering vs one document each; 1,000 end to end on 2 workers")
def run() -> list[Row]:
    from django.test import override_settings

    from config.celery_app import app

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 — any failure means: no broker here
        raise Unavailable(f"needs Redis at {redis_url} (set REDIS_URL): {exc}") from exc

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    with use_database("ce_certificates_bench"), tempfile.TemporaryDirectory() as media, \
            override_settings(MEDIA_ROOT=media, CERT_BATCH_QUEUE=queue):
        _say(f"fresh database {fresh_database()}")
        sub, bureau = _dataset()
        batch_rate, naive_rate, size = _throughput(sub)

        saved = (app.conf.task_always_eager, app.conf.broker_url)
        app.conf.task_always_eager, app.conf.broker_url = False, redis_url
        workers = _workers(2, queue, media, redis_url)
        try:
            time.sleep(8)  # both workers up (Django set up, connected to the broker) before the click
            seconds, zip_size = _end_to_end(sub, bureau, media)
        finally:
            app.conf.task_always_eager, app.conf.broker_url = saved
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=30)
        _say(f"1,000 certificates, 2 workers: {seconds:.1f} s from the click to the zip ({zip_size / 1e6:.1f} MB)")
        connection.close()
    floor = CERTIFICATES / (2 * batch_rate)
    return [
        Row(f"certificates/s, one worker, chunks of {size} (floor column: one document each)", batch_rate,
            "certificates/s", naive_rate, "≥ 10 × one document each"),
        Row("1,000 certificates, 2 workers, click → zip (floor: rendering alone)", seconds, "s", floor, "≤ 60 s"),
    ]
