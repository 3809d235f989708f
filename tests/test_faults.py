"""Faults: a service stops, a worker dies, the database restarts — and the portal stays honest.

- Redis stopped under a serving gunicorn: login, home, 我的学时 and the public /verify/ page still answer (sessions
  in the database, a cache that degrades, rate limiting that fails open); a certificate batch started meanwhile
  stays QUEUED in the database and runs, exactly once, when Redis is back — sent again by a worker's start and by
  celery beat (apps/portal/tasks.py).
- A Celery worker SIGKILLed in the middle of a large results import: the message comes back, a new worker imports
  the file again and every result exists exactly once (the certificate-batch variant is
  tests/test_certificate_batch_worker.py).
- PostgreSQL stopped under a serving gunicorn: a friendly 503 in Chinese (JSON for the API), no traceback; started
  again: the same web processes serve again, logged-in sessions intact (CONN_HEALTH_CHECKS).

Never the shared services: Redis and PostgreSQL here are private ones on free ports, started and stopped by the
test. Every process started is stopped in a `finally`, and every wait is bounded.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import OperationalError, close_old_connections, connection

from apps.accounts.models import Role

from . import factories as f
from .conftest import missing_service
from .test_review import reviewer  # noqa: F401 (fixture)
from .test_submissions import world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.faults]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Kaifeng-2016"  # tests.factories.UserFactory
BOOT = 120  # seconds for a Django process (gunicorn, a worker) to come up on a loaded 2-core machine


# --- helpers: ports, processes, waiting --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        close_old_connections()
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> str:
    """Stop a process we started (politely, then not) and return what it printed."""
    if proc is None:
        return ""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=timeout)
    return (out or b"").decode(errors="replace")


class PrivateRedis:
    """A redis-server of the test's own (no persistence), stopped and started again on the same port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers():
            try:
                return client.ping()
            except redis.exceptions.RedisError:
                return False
        wait_for(answers, 20, f"redis-server on port {self.port}")

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


def start_gunicorn(port: int, env: dict[str, str], log: Path, workers: int = 2) -> subprocess.Popen:
    """The portal as it is served (gunicorn, WSGI), on the loopback only."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_http(base: str, proc: subprocess.Popen, log: Path) -> None:
    import requests

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            return requests.get(f"{base}/login/", timeout=5).status_code == 200
        except requests.RequestException:
            return False
    wait_for(up, BOOT, f"gunicorn at {base}", every=0.3)


def log_in(base: str, username: str):
    """A browser's login: the form's CSRF cookie and token, then the POST; returns the logged-in session."""
    import requests

    s = requests.Session()
    s.get(f"{base}/login/", timeout=20).raise_for_status()
    r = s.post(f"{base}/login/", data={"username": username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": f"{base}/login/"}, timeout=20, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:2000])
    return s


def post(s, base: str, path: str, data: dict):
    return s.post(f"{base}{path}", data={**data, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
                  headers={"Referer": f"{base}{path}"}, timeout=60, allow_redirects=False)


def shared_db_env(**extra: str) -> dict[str, str]:
    """Environment of a web or worker process sharing this test's database (config.settings.worker_test)."""
    return {"DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
            "TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]), **extra}


# --- 1. Redis stopped while the web serves -----------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pages_work_without_redis_and_a_batch_started_meanwhile_runs_once_when_it_returns(world, reviewer,
                                                                                         tmp_path):
    from apps.certificates.models import CertificateBatch, CertificateChunk
    from apps.enrollment import review
    from apps.enrollment.models import SubmissionItem

    from .live_worker import start_worker, stop_worker
    from .test_review import submitted

    sub = submitted(world["kfdx"])
    review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    person = world["people"][0]
    trainee = f.UserFactory(username="fault-trainee", role=Role.TRAINEE, person=person, is_staff=False)
    serial = SubmissionItem.objects.get(submission=sub, person=person).certificate_no
    certificates = sub.items.count()
    assert certificates >= 2

    media = tmp_path / "media"
    redis_server = PrivateRedis(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # One certificate a chunk: a batch is several tasks. Every process here talks to the private Redis only, on
    # Celery's default queue (nobody else's worker listens there).
    env = shared_db_env(REDIS_URL=redis_server.url, MEDIA_ROOT=str(media), CERT_BATCH_CHUNK="1", CERT_BATCH_QUEUE="")
    web_log = tmp_path / "gunicorn.log"
    web = worker = beat = None
    redis_server.start()
    try:
        web = start_gunicorn(port, env, web_log)
        wait_http(base, web, web_log)

        # Redis goes away.
        redis_server.stop()
        began = time.monotonic()
        s = log_in(base, trainee.username)
        compliance = f"/api/v1/people/{person.pk}/compliance/?year=2016"
        for path in ("/", "/my/hours/2016/", "/certificates/my/2016/", compliance):
            r = s.get(f"{base}{path}", timeout=30)
            assert r.status_code == 200, (path, r.status_code, r.text[:1000])
        for _ in range(3):  # the public page is rate-limited in the cache: without it, served, not refused
            r = s.get(f"{base}/verify/{serial}/", timeout=30)
            assert r.status_code == 200 and serial in r.text, r.status_code
        # Work started meanwhile: accepted, recorded, pending.
        clerk = log_in(base, reviewer.username)
        r = post(clerk, base, "/certificates/bulk/new/", {"submission": sub.pk})
        assert r.status_code == 302, (r.status_code, r.text[:2000])
        first = CertificateBatch.objects.latest("pk")
        assert clerk.get(f"{base}{r.headers['Location']}", timeout=30).status_code == 200
        assert clerk.get(f"{base}/certificates/bulk/{first.pk}/progress.json", timeout=30).json()["status"] == "queued"
        assert time.monotonic() - began < 60, "pages without Redis must not hang on it"
        time.sleep(1)
        first.refresh_from_db()
        assert first.status == CertificateBatch.Status.QUEUED and not first.rendered.exists()

        # Redis is back; a worker starting (as after an outage of everything) sends what is pending.
        redis_server.start()
        worker = start_worker("celery", **env)
        wait_for(lambda: CertificateBatch.objects.filter(pk=first.pk, status="done").exists(), BOOT + 60,
                 "the batch started without Redis to be rendered by the worker that came up")

        # Again, now under a running worker: Redis stops, a batch is started, Redis returns; celery beat sends it.
        redis_server.stop()
        r = post(clerk, base, "/certificates/bulk/new/", {"submission": sub.pk})
        assert r.status_code == 302, (r.status_code, r.text[:2000])
        second = CertificateBatch.objects.latest("pk")
        assert second.pk != first.pk and second.status == CertificateBatch.Status.QUEUED
        redis_server.start()
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=warning",
             "-s", str(tmp_path / "beat-schedule")],
            cwd=ROOT, env={**os.environ, **env, "JOB_REDISPATCH_EVERY": "2"},
            stdout=(tmp_path / "beat.log").open("wb"), stderr=subprocess.STDOUT)
        wait_for(lambda: CertificateBatch.objects.filter(pk=second.pk, status="done").exists(), BOOT + 60,
                 "celery beat to send the batch started without Redis, and the worker to render it")
        assert web.poll() is None, "the web kept serving through both outages"
    finally:
        outputs = {"beat": stop(beat), "worker": stop_worker(worker) if worker else "", "web": stop(web)}
        redis_server.stop()
        if any(p is not None and p.returncode not in (None, 0, -15, 143) for p in (beat, worker, web)):
            print(outputs, web_log.read_text(errors="replace")[-5000:] if web_log.exists() else "")

    for batch in (first, second):  # exactly once: every chunk once, every certificate on one page
        chunks = list(CertificateChunk.objects.filter(batch=batch).order_by("number"))
        assert [c.number for c in chunks] == list(range(certificates))
        assert sorted(s for c in chunks for s in c.serials) == sorted(sub.items.values_list("certificate_no",
                                                                                          flat=True))
        batch.refresh_from_db()
        assert batch.archive and batch.error == ""


# --- 2. a worker SIGKILLed in the middle of a results import -------------------------------------------------------


@pytest.fixture
def big_class(kaifeng):
    """A class at 开封大学 with ROWS registered people, its staff login, and their results as a workbook."""
    import datetime

    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course
    from apps.core.demo import resident_id_for_index
    from apps.enrollment import services
    from apps.enrollment.models import Registration
    from apps.orgs.models import Region
    from apps.personnel.models import Person

    base = TrainingBase.objects.get(code="kf-kfdx")
    cls = services.class_create(base=base, course=Course.objects.get(year=2016, code="GX16-F01"), code="KD-BIG",
                                starts_on=datetime.date(2016, 7, 20), ends_on=datetime.date(2016, 7, 22),
                                capacity=BIG_ROWS)
    unit = f.UnitFactory(region=Region.objects.get(code="410200"))
    people = [Person(id_number=resident_id_for_index(8_000_000 + i), name=f"赵{i}", unit=unit) for i in range(BIG_ROWS)]
    for p in people:
        p.derive_from_id_number()
    people = Person.objects.bulk_create(people)
    Registration.objects.bulk_create([Registration(training_class=cls, person=p, unit=unit) for p in people])
    rows = [[p.id_number, p.name, "GX16-F01", "KD-BIG", 60 + i % 40, "合格", datetime.date(2016, 7, 22)]
            for i, p in enumerate(people)]
    staff = f.UserFactory(username="kfdx-big", role=Role.BASE_STAFF, base=base, is_staff=False)
    return {"base": base, "cls": cls, "staff": staff, "rows": rows}


BIG_ROWS = 6000  # an import of some seconds: long enough to kill the worker in the middle of it


@pytest.mark.services
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_every_result_exactly_once(big_class, settings, tmp_path, monkeypatch):
    from django.core.cache import cache

    from apps.core import jobs
    from apps.enrollment import uploads
    from apps.enrollment.models import ExamResult, ResultUpload
    from config.celery_app import app

    from .live_worker import new_queue, start_worker, stop_workers
    from .test_results_upload import xlsx_file

    settings.MEDIA_ROOT = tmp_path / "media"
    # The dry run here (tasks run in-process in tests), the real run on the worker.
    upload = uploads.upload_check(base=big_class["base"], file=xlsx_file(big_class["rows"]), user=big_class["staff"])
    upload.refresh_from_db()
    assert upload.status == ResultUpload.Status.CHECKED and upload.new_rows == BIG_ROWS, upload.report

    queue = new_queue()
    real_send = jobs.send
    monkeypatch.setattr(jobs, "send", lambda task, args=(), kwargs=None, **o: real_send(task, args, kwargs,
                                                                                         queue=queue, **o))
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    first = start_worker(queue, **env)
    second = None
    try:
        time.sleep(0.5)
        assert uploads.upload_confirm(upload_id=upload.pk, user=big_class["staff"]).status == "importing"
        key = uploads._progress_key(upload.pk)
        # Progress is reported every 1,000 rows, from inside the import's one transaction: kill after the first.
        wait_for(lambda: (cache.get(key) or 0) >= 1000, BOOT + 60, "the import to be under way", every=0.02)
        first.kill()
        first.wait(timeout=20)
        assert ResultUpload.objects.get(pk=upload.pk).status == ResultUpload.Status.IMPORTING, \
            "the worker finished before it could be killed"
        assert not ExamResult.objects.filter(upload=upload).exists()  # its transaction died with it

        second = start_worker(queue, **env)  # the unacknowledged message comes back (visibility timeout 5 s)
        wait_for(lambda: ResultUpload.objects.filter(pk=upload.pk, status="done").exists(), BOOT + 120,
                 "the import to be run again by the new worker")
    finally:
        app.conf.task_always_eager = eager
        stop_workers(first, second)

    upload.refresh_from_db()
    assert upload.new_rows == BIG_ROWS and upload.error_rows == 0
    results = ExamResult.objects.filter(registration__training_class=big_class["cls"])
    assert results.count() == BIG_ROWS == results.values("registration").distinct().count()
    assert results.filter(upload=upload).count() == BIG_ROWS


# --- 3. PostgreSQL restarted ------------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A throwaway cluster (trust auth, loopback, no fsync) run as the `postgres` OS user: initdb refuses root."""

    def __init__(self):
        self.bin = _pg_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ce_h_faults_pg_"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(cmd, check=True, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def init(self) -> None:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                          "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def cleanup(self) -> None:
        if self.running():
            try:
                self.stop()
            except Exception:  # noqa: BLE001 — last resort: the postmaster by its pid file
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGQUIT)
        shutil.rmtree(self.dir, ignore_errors=True)


SEED = """
from apps.accounts.models import Role
from apps.personnel.models import Person
from apps.orgs.models import Region
from tests import factories as f
import datetime
person = f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410200")), name="王测试")
f.TitleHoldingFactory(person=person, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
f.UserFactory(username="pg-trainee", role=Role.TRAINEE, person=person, is_staff=False)
print(person.pk)
"""


@pytest.mark.postgres
def test_the_web_answers_503_while_postgres_is_down_and_recovers_without_a_restart(tmp_path):
    import requests

    if _pg_bin() is None or shutil.which("runuser") is None:
        missing_service("needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) and runuser")
    pg = PrivatePostgres()
    web = None
    web_log = tmp_path / "gunicorn.log"
    try:
        pg.init()
        pg.start()
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE ce_h_faults_pg")
        admin.close()
        # The web as deployed (persistent connections), without Redis (in-process tasks, local cache).
        env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": pg.url("ce_h_faults_pg"),
               "REDIS_URL": "", "CONN_MAX_AGE": "600", "MEDIA_ROOT": str(tmp_path / "media")}
        run = {"cwd": ROOT, "env": {**os.environ, **env}, "capture_output": True, "text": True, "timeout": 300}
        for command in (["migrate", "--noinput", "-v", "0"], ["loaddata", "kaifeng_2016", "-v", "0"],
                        ["shell", "-c", SEED]):
            done = subprocess.run([sys.executable, "manage.py", *command], **run)
            assert done.returncode == 0, done.stdout + done.stderr
        person_id = int(done.stdout.split()[-1])

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = start_gunicorn(port, env, web_log)
        wait_http(base, web, web_log)
        s = log_in(base, "pg-trainee")
        pages = ("/", "/my/hours/2016/", f"/api/v1/people/{person_id}/compliance/?year=2016")
        for _ in range(2):  # both gunicorn workers now hold a persistent connection (most likely)
            for path in pages:
                r = s.get(f"{base}{path}", timeout=30)
                assert r.status_code == 200, (path, r.status_code, r.text[:500])

        pg.stop()
        for path in ("/", "/my/hours/2016/"):
            r = s.get(f"{base}{path}", timeout=30)
            assert r.status_code == 503, (path, r.status_code, r.text[:500])
            assert "系统暂时无法访问" in r.text and "稍" in r.text and r.headers["Retry-After"]
            assert "Traceback" not in r.text and "OperationalError" not in r.text
        r = s.get(f"{base}/api/v1/people/{person_id}/compliance/?year=2016", timeout=30)
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
        r = post(s, base, "/login/", {"username": "pg-trainee", "password": PASSWORD})
        assert r.status_code == 503 and "系统暂时无法访问" in r.text
        assert requests.get(f"{base}/healthz", timeout=30).status_code == 503

        pg.start()
        workers_before = _children(web.pid)
        # The same processes serve again at once: each reused connection is checked first (CONN_HEALTH_CHECKS).
        for _ in range(3):
            for path in pages:
                r = s.get(f"{base}{path}", timeout=30)
                assert r.status_code == 200, (path, r.status_code, r.text[:500])
        assert "王测试" in s.get(f"{base}/", timeout=30).text  # still logged in: the session outlived the restart

        # A restart no request saw: the workers' persistent connections are dead without knowing it. Each is
        # checked before reuse, so not even the first request after it fails.
        pg.stop()
        pg.start()
        for _ in range(3):
            for path in pages:
                r = s.get(f"{base}{path}", timeout=30)
                assert r.status_code == 200, (path, r.status_code, r.text[:500])
        assert web.poll() is None and _children(web.pid) == workers_before, "the web was not restarted"
    finally:
        out = stop(web)
        pg.cleanup()
        if web is not None and web.returncode not in (None, 0, -15, 143):
            print(out, web_log.read_text(errors="replace")[-5000:])


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


# --- the pieces, without services (run on the SQLite pass too) ----------------------------------------------------


def test_a_database_outage_inside_a_view_is_a_friendly_503(client, monkeypatch, db):
    from apps.portal import views

    def down(request):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(views.selectors, "home_for", down)
    user = f.UserFactory(username="someone")
    client.force_login(user)
    client.raise_request_exception = False
    r = client.get("/")
    assert r.status_code == 503 and r["Retry-After"]
    html = r.content.decode()
    assert "系统暂时无法访问" in html and "Connection refused" not in html and "Traceback" not in html


def test_an_other_error_is_still_a_500(client, monkeypatch, db):
    from apps.portal import views

    def broken(request):
        raise ZeroDivisionError

    monkeypatch.setattr(views.selectors, "home_for", broken)
    client.force_login(f.UserFactory(username="someone"))
    client.raise_request_exception = False
    assert client.get("/").status_code == 500


def test_the_redis_cache_degrades_to_nothing_cached_when_redis_is_unreachable():
    from apps.core.cache import DegradingRedisCache

    cache = DegradingRedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    assert cache.get_many(["k"]) == {} and cache.delete("k") is False
    with pytest.raises(ValueError):  # what django-ratelimit reads as "no count" (RATELIMIT_FAIL_OPEN)
        cache.incr("k")


def test_a_job_whose_message_cannot_be_sent_is_logged_and_left_pending(caplog):
    from apps.core import jobs

    class Unreachable:
        name = "some.task"

        def apply_async(self, args, kwargs, **options):
            raise ConnectionRefusedError(111, "Connection refused")

    assert jobs.send(Unreachable(), (7,)) is False
    assert re.search(r"could not send some\.task\(7,\)", caplog.text)


def test_beat_resends_the_jobs_idle_long_enough_and_leaves_fresh_ones_alone(world, reviewer, monkeypatch):
    import datetime

    from django.utils import timezone

    from apps.certificates import batches
    from apps.certificates.models import CertificateBatch
    from apps.core import jobs
    from apps.enrollment import review
    from apps.enrollment.models import ResultUpload
    from apps.portal.tasks import redispatch_pending

    from .test_review import submitted

    sub = submitted(world["kfdx"])
    review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    sent: list = []
    monkeypatch.setattr(batches, "enqueue", lambda batch_id, chunks: sent.append((batch_id, list(chunks))) or True)
    monkeypatch.setattr(jobs, "send", lambda task, args=(), kwargs=None, **o: sent.append((task.name, args)) or True)
    # Inside the test's transaction nothing commits, so no message goes out: as if the broker had been down.
    stale = batches.batch_for_submission(user=reviewer, submission_id=sub.pk)
    fresh = batches.batch_for_submission(user=reviewer, submission_id=sub.pk)
    done = batches.batch_for_submission(user=reviewer, submission_id=sub.pk)
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    CertificateBatch.objects.filter(pk__in=[stale.pk, done.pk]).update(created_at=long_ago)
    CertificateBatch.objects.filter(pk=done.pk).update(status=CertificateBatch.Status.DONE)
    upload = ResultUpload.objects.create(base=world["kfdx"], file="x.csv", file_name="x.csv", sha256="0" * 64,
                                         status=ResultUpload.Status.CHECKING, created_at=long_ago)
    ResultUpload.objects.create(base=world["kfdx"], file="y.csv", file_name="y.csv", sha256="1" * 64,
                                status=ResultUpload.Status.CHECKING)
    assert sent == []

    assert redispatch_pending(idle_seconds=300) == {"certificate_chunks": stale.chunks, "uploads": 1}
    assert sent == [(stale.pk, list(range(stale.chunks))), ("enrollment.check_result_upload", (upload.pk,))]
    assert fresh.pk not in {s[0] for s in sent}
