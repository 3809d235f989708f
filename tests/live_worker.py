"""Start and stop a real `celery worker` process for tests that need one (Redis broker, the test database)."""
import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# Every worker its own node name: two workers named alike on one broker (parallel test processes, a restarted
# worker) share their control mailbox and confuse each other.
_serial = itertools.count(1)


def new_queue() -> str:
    """A queue of the test's own, so a stray worker elsewhere cannot take its tasks."""
    return f"test-{uuid.uuid4().hex[:8]}"


def start_worker(queue: str, **env: str) -> subprocess.Popen:
    db = connection.settings_dict
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
                   "TEST_DATABASE_NAME": str(db["NAME"]), "REDIS_URL": settings.REDIS_URL, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=warning", "-Q", queue, "-n", f"{queue}-{next(_serial)}@%h", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def stop_worker(proc: subprocess.Popen) -> str:
    """Stop the worker (politely, then not) and return what it printed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def stop_workers(*procs: subprocess.Popen | None) -> None:
    """Stop every worker a test started (None: never started) and print what any of them said on an unexpected
    exit (killed on purpose, -9, is expected)."""
    for proc in procs:
        if proc is not None:
            out = stop_worker(proc)
            if proc.returncode not in (0, -9, -15, 143):
                print(out)
