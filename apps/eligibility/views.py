"""学时资格查询 pages: the check (a form and the per-year answer) and the lookup log.

The form is POSTed, not sent in the query string: an ID number in a URL ends up in proxies' and browsers' logs.
"""
import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.accounts.models import Role
from apps.core.errors import DomainError

from . import selectors, services


def _require_asker(user) -> None:
    if not selectors.may_ask(user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def check(request):
    _require_asker(request.user)
    context = {"id_number": "", "years": selectors.default_years(), "answer": None, "error": None,
               "max_years": selectors.MAX_YEARS}
    if request.method == "POST":
        context["id_number"] = request.POST.get("id_number", "").strip()
        context["years"] = request.POST.get("years", "").strip()
        status = 200
        try:
            context["answer"] = services.eligibility_lookup(
                user=request.user, id_number=context["id_number"], years=context["years"], channel="page",
                ip=request.META.get("REMOTE_ADDR"))
        except DomainError as exc:
            context["error"], status = exc.message, exc.status_code
        return render(request, "eligibility/check.html", context, status=status)
    return render(request, "eligibility/check.html", context)


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def log(request):
    _require_asker(request.user)
    supervises = request.user.role in (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)
    filters = {"q": request.GET.get("q", "").strip(), "username": request.GET.get("user", "").strip(),
               "day_from": _day(request.GET.get("from", "")), "day_to": _day(request.GET.get("to", ""))}
    if not supervises:
        filters["username"] = ""  # everyone else sees only their own lookups anyway
    page = Paginator(selectors.lookups_for(request.user, **filters), 50).get_page(request.GET.get("page"))
    day = lambda d: d.isoformat() if d else ""  # noqa: E731
    query = urlencode({k: v for k, v in (("q", filters["q"]), ("user", filters["username"]),
                                         ("from", day(filters["day_from"])), ("to", day(filters["day_to"]))) if v})
    return render(request, "eligibility/log.html", {"page_obj": page, "supervises": supervises, "query": query,
                                                    **filters})
