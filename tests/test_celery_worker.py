"""A real Celery worker process, on the real Redis broker, runs a task sent from here."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    """Start `celery worker` on a queue of its own, so a stray worker elsewhere cannot take the task."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
           "TEST_DATABASE_NAME": str(db["NAME"]), "REDIS_URL": settings.REDIS_URL}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=warning", "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = eager
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        if proc.returncode not in (0, -15, 143):
            print(out.decode(errors="replace"))


def test_a_task_sent_to_redis_is_run_by_a_live_worker(worker):
    from apps.core.tasks import healthcheck

    result = healthcheck.apply_async(queue=worker)
    assert result.get(timeout=60) == {"database": connection.vendor, "ok": True}
    assert result.successful()
