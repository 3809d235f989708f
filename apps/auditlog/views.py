"""操作日志 pages: the search (filters, newest first, paged) and its export, for the city bureau and superusers.

Everyone else is refused (403), as on the other supervision pages. The export is itself a sensitive action and
is recorded like any other.
"""
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import exports, selectors
from .models import Action
from .services import record

PAGE_SIZE = 50


def _require(request) -> None:
    if not selectors.may_search(request.user):
        raise PermissionDenied


def _index(request, filters: selectors.Filters, *, error: str = "", status: int = 200):
    page = Paginator(selectors.events_for(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode(filters.as_query())
    return render(request, "auditlog/index.html", {
        "page_obj": page, "filters": filters, "actions": Action.choices, "query": query,
        "formats": exports.FORMATS, "error": error,
    }, status=status)


@login_required
@require_GET
def index(request):
    _require(request)
    return _index(request, selectors.Filters.from_query(request.GET))


@login_required
@require_GET
def export(request, fmt: str):
    _require(request)
    if fmt not in exports.FORMATS:
        raise Http404
    filters = selectors.Filters.from_query(request.GET)
    events = selectors.events_for(request.user, filters)
    count = events.count()
    if count > exports.MAX_ROWS:
        return _index(request, filters, status=400, error=_("结果共 %(n)d 条，超过导出上限 %(max)d 条，请缩小筛选范围")
                      % {"n": count, "max": exports.MAX_ROWS})
    filename, content_type, data = exports.events_file(events, fmt)
    record(request, Action.EXPORT, target=_("操作日志"), target_type="auditlog.AuditEvent",
           details={"format": fmt, "rows": count, "filters": filters.as_query(), "file": filename})
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
