"""A real Celery worker process, on the real Redis broker, runs a task sent from here."""
import pytest
from django.db import connection

from config.celery_app import app

from .live_worker import new_queue, start_worker, stop_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    queue = new_queue()
    proc = start_worker(queue)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = eager
        out = stop_worker(proc)
        if proc.returncode not in (0, -15, 143):
            print(out)


def test_a_task_sent_to_redis_is_run_by_a_live_worker(worker):
    from apps.core.tasks import healthcheck

    result = healthcheck.apply_async(queue=worker)
    # Generous: the worker imports Django first, which takes long on a loaded 2-core machine.
    assert result.get(timeout=180) == {"database": connection.vendor, "ok": True}
    assert result.successful()
