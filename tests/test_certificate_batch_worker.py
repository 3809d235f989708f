"""A certificate batch on real Celery workers (Redis broker, PostgreSQL): the worker is killed with SIGKILL in the
middle of the batch, another one starts, and in the end every certificate exists exactly once — one record and
one file per chunk, each serial on exactly one page of the zip."""
import io
import time
import zipfile
from collections import Counter

import pytest
from django.db import close_old_connections
from pypdf import PdfReader

from apps.certificates import batches
from apps.certificates.models import CertificateBatch, CertificateChunk
from apps.enrollment import review
from config.celery_app import app

from .live_worker import new_queue, start_worker, stop_workers
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_submissions import graded_class, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.services, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHUNK = 12
DEADLINE = 180  # seconds for the whole batch, restart and redelivery included


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        close_old_connections()
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_killed_mid_batch_leaves_every_certificate_exactly_once(world, reviewer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CERT_BATCH_CHUNK = CHUNK
    graded_class(world["kfdx"], world["f01"], "KD-K1", [True] * 48)
    graded_class(world["kfdx"], world["f01"], "KD-K2", [True] * 48)
    sub = submitted(world["kfdx"])
    review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    serials = set(sub.items.values_list("certificate_no", flat=True))
    assert len(serials) == 98

    queue = new_queue()
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    settings.CERT_BATCH_QUEUE = queue
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    first = start_worker(queue, **env)
    second = None
    try:
        batch = batches.batch_for_submission(user=reviewer, submission_id=sub.pk)  # autocommit: enqueued now
        assert batch.chunks == 9
        # Kill the worker while it renders: just after a chunk is recorded it is already on the next one.
        wait_for(lambda: CertificateChunk.objects.filter(batch=batch).count() >= 2, 240, "two chunks rendered")  # the worker starts first
        time.sleep(0.3)
        first.kill()
        first.wait(timeout=20)
        rendered_before = CertificateChunk.objects.filter(batch=batch).count()
        assert rendered_before < batch.chunks, "the worker finished before it could be killed"

        second = start_worker(queue, **env)
        wait_for(lambda: CertificateBatch.objects.filter(pk=batch.pk, status="done").exists(), DEADLINE,
                 "the batch to finish after the restart")
    finally:
        app.conf.task_always_eager = eager
        stop_workers(first, second)

    batch.refresh_from_db()
    chunks = list(CertificateChunk.objects.filter(batch=batch).order_by("number"))
    assert [c.number for c in chunks] == list(range(9)) and sum(c.pages for c in chunks) == 98
    folder = settings.MEDIA_ROOT / "certificates" / "batches" / str(batch.pk)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"certificates-{n:04d}.pdf" for n in range(1, 10)] + [f"certificates-batch-{batch.pk}.zip"])
    archive = zipfile.ZipFile(batch.archive.open("rb"))
    text = "".join(page.extract_text() for name in archive.namelist() if name.endswith(".pdf")
                   for page in PdfReader(io.BytesIO(archive.read(name))).pages)
    assert Counter({s: text.count(s) for s in serials}) == Counter({s: 1 for s in serials})
    index = archive.read("index.csv").decode("utf-8-sig").splitlines()[1:]
    assert sorted(line.split(",")[0] for line in index) == sorted(serials)
