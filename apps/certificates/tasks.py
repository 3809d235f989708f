"""Certificate batches on Celery workers: one task per chunk (see apps/certificates/batches.py).

Acknowledged late (settings: a worker killed mid-chunk leaves the message to be delivered again) and retried with
backoff on any error; the service is idempotent, so a second run of a chunk never yields a second file or serial.
When the retries are spent, the batch is marked failed with the reason, and the page offers to resume it.
"""
from celery import Task, shared_task


class ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from .batches import batch_failed

        batch_failed(args[0], f"{type(exc).__name__}: {exc}")


@shared_task(name="certificates.render_chunk", base=ChunkTask, acks_late=True, autoretry_for=(Exception,),
             retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=3)
def render_chunk(batch_id: int, number: int) -> str:
    from .batches import chunk_render

    return chunk_render(batch_id, number)
