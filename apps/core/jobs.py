"""Handing work to Celery without trusting the broker to be there.

The job's database row (a certificate batch, a results upload) is the truth; the broker message only says "look at
row N now". So a failed send is logged and swallowed: the row stays pending, the request that started the job
still succeeds, and `apps.portal.tasks.redispatch_pending_jobs` (celery beat, and every worker's start) sends it
again once Redis is back. Every task is idempotent, so a message sent twice does the work once.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _unreachable() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    return (OperationalError, RedisError, OSError)


def send(task, args: tuple = (), kwargs: dict | None = None, **options) -> bool:
    """apply_async that does not raise for an unreachable broker; returns whether the message went out. Anything
    else (a task failing in embedded mode, an argument that cannot be serialised) still raises."""
    try:
        # ignore_result: our jobs report through their rows, and the result store's reconnect loop would hold the
        # request for ~20 s while Redis is down.
        task.apply_async(args, kwargs, ignore_result=True, **options)
    except _unreachable():
        log.warning("could not send %s%r to the broker: the job stays pending and is sent again later",
                    task.name, tuple(args), exc_info=True)
        return False
    return True
