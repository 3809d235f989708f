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

def standalone_page(template_name: str, *, status: int, heading: str, english: str) -> HttpResponse:
    """A page rendered without a request (templates/errors/standalone.html): nothing it needs can fail the way the
    request did. If even the template cannot be loaded, a plain bilingual page with `heading` and `english`."""
    try:
        body = loader.get_template(template_name).render()
    except Exception:  # noqa: BLE001 — whatever broke the template, the visitor still gets a page
        logger.exception("%s could not be rendered", template_name)
        body = ('<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{status}</title></head>'
                '<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">'
                f"<h1>{heading}</h1><p>{english}</p>"
                '<p><a href="/">返回首页 / Home</a></p></body></html>')
    return HttpResponse(body, status=status)


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Django's wrappers of the driver's connection errors (and of deadlocks and statement timeouts, for which
    "try again shortly" is the right answer too)."""
    return isinstance(exc, (OperationalError, InterfaceError))


def database_unavailable(request) -> HttpResponse:
    if request is not None and request.path.startswith("/api/"):
        response = JsonResponse({"detail": "数据库暂时不可用，请稍后再试 (database temporarily unavailable)",
                                 "code": "database_unavailable"}, status=503)
    else:
        response = standalone_page("errors/503.html", status=503, heading="系统暂时无法访问",
                                   english="Service temporarily unavailable. Please try again in a minute.")
    response["Retry-After"] = RETRY_AFTER
    response["Cache-Control"] = "no-store"
    return response
