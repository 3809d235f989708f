"""年度考核 pages: snapshots by year with the run button, one snapshot's figures and commendations, the weights.

The city bureau (and the system administrator) runs the audit, sets the weights and decides the commendations; a
county bureau may look at the snapshots, seeing only its own county's rows (visibility decides); everyone else is
refused. Views only check the role, fetch through the selectors and call one service.
"""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404
from apps.core.errors import DomainError, NotVisible
from apps.orgs.models import Region

from . import selectors, services
from .forms import RunForm, WeightsForm
from .models import AuditSnapshot, Commendation

VIEW_ROLES = (Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.COUNTY_BUREAU)
MANAGE_ROLES = (Role.SYSTEM_ADMIN, Role.CITY_BUREAU)
LIST_LENGTH = 50


def _require(request, roles) -> None:
    if request.user.role not in roles:
        raise PermissionDenied


def _city(request) -> Region:
    """The city whose audit this user runs: the city bureau's own; the system administrator's installation city."""
    if request.user.role == Role.CITY_BUREAU:
        return request.user.region
    city = Region.objects.filter(code=settings.PORTAL_CITY_CODE).first()
    if city is None:
        raise Http404
    return city


def _snapshot(request, snapshot_id: int) -> AuditSnapshot:
    _require(request, VIEW_ROLES)
    try:
        return get_visible_or_404(request.user, selectors.snapshots_for(user=request.user), pk=snapshot_id)
    except NotVisible:
        raise Http404 from None


def _index(request, *, form=None, error: str = "", status: int = 200):
    manager = request.user.role in MANAGE_ROLES
    this_year = timezone.localdate().year
    return render(request, "assessment/index.html", {
        "snapshots": selectors.snapshots_for(user=request.user)[:LIST_LENGTH],
        "manager": manager, "years": range(this_year, 2009, -1), "default_year": this_year - 1,
        "form": form or RunForm(), "error": error,
    }, status=status)


@login_required
@require_GET
def index(request):
    _require(request, VIEW_ROLES)
    return _index(request)


@login_required
@require_POST
def start(request):
    _require(request, MANAGE_ROLES)
    form = RunForm(request.POST)
    if not form.is_valid():
        return _index(request, form=form, error=_("请选择有效的考核年度"), status=400)
    try:
        snapshot = services.audit_start(year=form.cleaned_data["year"], region=_city(request), by=request.user)
    except DomainError as exc:
        return _index(request, form=form, error=str(exc.message), status=400)
    return redirect("assessment:detail", snapshot_id=snapshot.pk)


@login_required
@require_GET
def detail(request, snapshot_id: int):
    snapshot = _snapshot(request, snapshot_id)
    context = {"snapshot": snapshot, "manager": request.user.role in MANAGE_ROLES,
               "DONE": AuditSnapshot.Status.DONE, "FAILED": AuditSnapshot.Status.FAILED,
               "PROPOSED": Commendation.Status.PROPOSED}
    if snapshot.status == AuditSnapshot.Status.DONE:
        context["summary"] = selectors.snapshot_summary(snapshot=snapshot, user=request.user)
        context["commendations"] = selectors.commendations_for(snapshot=snapshot, user=request.user)
    else:
        context["progress"] = selectors.audit_progress(snapshot)
    return render(request, "assessment/detail.html", context)


@login_required
@require_GET
def progress(request, snapshot_id: int):
    return JsonResponse(selectors.audit_progress(_snapshot(request, snapshot_id)))


@login_required
@require_http_methods(["GET", "POST"])
def weights(request):
    _require(request, MANAGE_ROLES)
    city = _city(request)
    current = selectors.weights_for(region=city)
    form = WeightsForm(request.POST or None, instance=current)
    saved = False
    if request.method == "POST" and form.is_valid():
        current = services.weights_update(region=city, by=request.user,
                                          **{f: form.cleaned_data[f] for f in services.WEIGHT_FIELDS})
        saved = True
        form = WeightsForm(instance=current)
    return render(request, "assessment/weights.html", {"form": form, "weights": current, "city": city,
                                                       "saved": saved},
                  status=400 if request.method == "POST" and not saved else 200)


@login_required
@require_POST
def decide(request, commendation_id: int, decision: str):
    _require(request, MANAGE_ROLES)
    if decision not in ("confirm", "drop"):
        raise Http404
    try:
        commendation = get_visible_or_404(request.user, Commendation, pk=commendation_id)
        services.commendation_decide(commendation_id=commendation.pk, by=request.user,
                                     confirm=decision == "confirm")
    except NotVisible:
        raise Http404 from None
    except DomainError as exc:
        snapshot = Commendation.objects.get(pk=commendation_id).snapshot
        return render(request, "assessment/detail.html", {
            "snapshot": snapshot, "manager": True, "error": str(exc.message), "DONE": AuditSnapshot.Status.DONE,
            "FAILED": AuditSnapshot.Status.FAILED, "PROPOSED": Commendation.Status.PROPOSED,
            "summary": selectors.snapshot_summary(snapshot=snapshot, user=request.user),
            "commendations": selectors.commendations_for(snapshot=snapshot, user=request.user)}, status=409)
    return redirect("assessment:detail", snapshot_id=commendation.snapshot_id)
