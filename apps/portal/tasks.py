"""Re-sending jobs whose broker message was lost or never sent (Redis down when the job started, a broker that
lost its data): the database rows are the truth, see apps/core/jobs.py.

celery beat runs `redispatch_pending_jobs` every settings.JOB_REDISPATCH_EVERY seconds for jobs idle at least that
long; each worker does it once at start (worker_ready) for every pending job, since a worker that comes up is the
usual sign that the whole system just came back. Sending twice is harmless (every task is idempotent): a chunk
already rendered is skipped, an upload already checked or imported is left alone.

Not re-sent: the yearly audit. Two runs of one snapshot at once would collide, so a snapshot whose message could
not be sent is marked failed instead (apps/assessment/services.py) and the city bureau runs it again.
"""
from __future__ import annotations

import datetime
import logging

from celery import shared_task
from celery.signals import worker_ready

log = logging.getLogger(__name__)


def redispatch_pending(*, idle_seconds: float) -> dict[str, int]:
    """Send again the pending jobs untouched for `idle_seconds`; returns how many of each kind were sent."""
    from django.core.cache import cache
    from django.db.models import Max
    from django.db.models.functions import Coalesce, Greatest
    from django.utils import timezone

    from apps.certificates import batches
    from apps.certificates.models import CertificateBatch
    from apps.core import jobs
    from apps.enrollment import tasks as enrollment_tasks
    from apps.enrollment.models import ResultUpload
    from apps.enrollment.uploads import _progress_key as upload_progress_key

    before = timezone.now() - datetime.timedelta(seconds=idle_seconds)
    sent = {"certificate_chunks": 0, "uploads": 0}

    # A batch's last sign of life is its newest rendered chunk: a long batch that is moving is left alone.
    pending = (CertificateBatch.objects.filter(status__in=[CertificateBatch.Status.QUEUED,
                                                           CertificateBatch.Status.RUNNING])
               .annotate(active=Greatest("created_at", Coalesce(Max("rendered__rendered_at"), "created_at")))
               .filter(active__lte=before))
    for batch in pending:
        missing = sorted(set(range(batch.chunks)) - set(batch.rendered.values_list("number", flat=True)))
        if not missing:
            batches.batch_finish(batch.pk)
            continue
        if not batches.enqueue(batch.pk, missing):
            return sent  # the broker is still down: the next run tries again
        sent["certificate_chunks"] += len(missing)

    # An upload's run reports progress in the cache (apps.enrollment.uploads): one that does is alive, left alone.
    uploads = [u for u in ResultUpload.objects.filter(created_at__lte=before, status__in=[
        ResultUpload.Status.CHECKING, ResultUpload.Status.IMPORTING]).only("pk", "status", "created_by_id")
        if cache.get(upload_progress_key(u.pk)) is None]
    for upload in [u for u in uploads if u.status == ResultUpload.Status.CHECKING]:
        if not jobs.send(enrollment_tasks.check_result_upload, (upload.pk,)):
            return sent
        sent["uploads"] += 1
    # An import holds the upload's row lock, so a second message for one that is running waits and then finds it
    # done. The confirming user is not stored on the row: the uploader stands in for a re-sent import.
    for upload in [u for u in uploads if u.status == ResultUpload.Status.IMPORTING]:
        if not jobs.send(enrollment_tasks.import_result_upload, (upload.pk, upload.created_by_id)):
            return sent
        sent["uploads"] += 1
    if any(sent.values()):
        log.info("re-sent pending jobs: %s", sent)
    return sent


@shared_task(name="portal.redispatch_pending_jobs")
def redispatch_pending_jobs(idle_seconds: float = 300) -> dict[str, int]:
    return redispatch_pending(idle_seconds=idle_seconds)


@worker_ready.connect
def _redispatch_on_worker_start(sender=None, **kwargs) -> None:
    # Only a worker of the default queue speaks for the installation; one started for a queue of its own (a PDF
    # worker, a test's worker) leaves the rest alone.
    consumer = getattr(sender, "task_consumer", None)
    queues = {q.name for q in getattr(consumer, "queues", ())} if consumer is not None else set()
    if sender is not None and sender.app.conf.task_default_queue not in queues:
        return
    try:
        redispatch_pending(idle_seconds=0)
    except Exception:  # noqa: BLE001 — a worker must start even when this fails; beat tries again
        log.exception("re-sending pending jobs at worker start failed")
