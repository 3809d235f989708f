"""The answer while the database is unreachable (PostgreSQL restarting, a failover, the network): a friendly 503
in Chinese that says to try again shortly, instead of a bare 500 — for the pages and, as JSON, for the API.

Called from the 500 handler (apps.portal.views.error_500), which Django runs for an exception raised anywhere in
the request, the session middleware included. Nothing here touches the database. The connection recovers by
itself: a broken connection is closed at the end of the request, and CONN_HEALTH_CHECKS tests a persistent one
before it is reused.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader

logger = logging.getLogger(__name__)
RETRY_AFTER = "30"  # seconds; a restart of PostgreSQL takes a few

_PLAIN_503 = (
    '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>503</title></head>'
    '<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">'
    "<h1>系统暂时无法访问</h1><p>数据库正在维护或重启，请稍后再试。</p>"
    "<p>Service temporarily unavailable. Please try again in a minute.</p>"
    '<p><a href="/">返回首页 / Home</a></p></body></html>'
)


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Django's wrappers of the driver's connection errors (and of deadlocks and statement timeouts, for which
    "try again shortly" is the right answer too)."""
    return isinstance(exc, (OperationalError, InterfaceError))


def database_unavailable(request) -> HttpResponse:
    if request is not None and request.path.startswith("/api/"):
        response = JsonResponse({"detail": "数据库暂时不可用，请稍后再试 (database temporarily unavailable)",
                                 "code": "database_unavailable"}, status=503)
    else:
        try:
            body = loader.get_template("errors/503.html").render()
        except Exception:  # noqa: BLE001 — whatever broke the template, the visitor still gets a page
            logger.exception("errors/503.html could not be rendered")
            body = _PLAIN_503
        response = HttpResponse(body, status=503)
    response["Retry-After"] = RETRY_AFTER
    response["Cache-Control"] = "no-store"
    return response
