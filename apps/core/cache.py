"""A Redis cache that degrades to "nothing cached" while Redis is unreachable, instead of failing the request.

What we keep in the cache is disposable (progress counters, the /verify/ rate-limit counts): without Redis a page
shows less progress or is not rate-limited (settings.RATELIMIT_FAIL_OPEN), but it is served. Sessions are in the
database, so logins do not depend on Redis. Short socket timeouts keep a Redis that stopped answering (rather than
refusing connections) from holding every request.
"""
from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_LOG_EVERY = 60.0  # seconds: one warning a minute while Redis is down, not one per request
_last_logged = 0.0


def _warn(operation: str, exc: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= _LOG_EVERY:
        _last_logged = now
        log.warning("cache unavailable (%s: %s); serving without it", operation, exc)


def _degrading(name: str, fallback):
    """RedisCache's method `name`, answering `fallback(*args, **kwargs)` while Redis is unreachable."""
    parent = getattr(RedisCache, name)

    @functools.wraps(parent)
    def method(self, *args, **kwargs):
        try:
            return parent(self, *args, **kwargs)
        except UNREACHABLE as exc:
            _warn(name, exc)
            return fallback(*args, **kwargs)

    return method


def _no_count(key, *args, **kwargs):
    # What Django's backends raise for a missing key; callers (django-ratelimit) treat it as "no count".
    raise ValueError("cache unavailable")


class DegradingRedisCache(RedisCache):
    add = _degrading("add", lambda *a, **k: False)
    get = _degrading("get", lambda key, default=None, version=None: default)
    get_many = _degrading("get_many", lambda *a, **k: {})
    has_key = _degrading("has_key", lambda *a, **k: False)
    set = _degrading("set", lambda *a, **k: None)
    set_many = _degrading("set_many", lambda data, *a, **k: list(data))  # the keys not stored: all of them
    touch = _degrading("touch", lambda *a, **k: False)
    incr = _degrading("incr", _no_count)
    delete = _degrading("delete", lambda *a, **k: False)
    delete_many = _degrading("delete_many", lambda *a, **k: None)
    clear = _degrading("clear", lambda *a, **k: False)
