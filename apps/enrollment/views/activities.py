"""Self-reported activities (学时申报): the trainee's form and list, the unit's check queue, the bureau's
recognition queue, and the evidence file served only to those who may see the report (never a public media URL).

The views check the role and fetch through `visibility`; every change is `activities`' service.
"""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.models import Action
from apps.auditlog.services import record, record_full_ids
from apps.catalog.models import ActivityKind
from apps.core.errors import DomainError, NotVisible

from .. import activities
from ..models import ActivityReport

BUREAU = (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("申报类型"), choices=ActivityKind.choices)
    title = forms.CharField(label=gettext_lazy("活动名称"), max_length=200)
    activity_date = forms.DateField(label=gettext_lazy("活动日期"), widget=forms.DateInput(attrs={"type": "date"}))
    evidence = forms.FileField(label=gettext_lazy("证明材料（PDF、PNG 或 JPG，不超过 10 MB）"))


def _role(request, roles) -> None:
    if request.user.role not in roles:
        raise PermissionDenied


def _report(user, pk: int, **filters) -> ActivityReport:
    try:
        return get_visible_or_404(user, ActivityReport.objects.filter(**filters)
                                  .select_related("person", "person__unit"), pk=pk)
    except NotVisible:
        raise Http404 from None


@login_required
def activity_mine(request):
    _role(request, (Role.TRAINEE,))
    person = request.user.person
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            activities.activity_report(person=person, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("已提交申报，等待单位审核"))
            return redirect("enrollment:activity_mine")
    reports = ActivityReport.objects.filter(person=person).order_by("-created_at")
    return render(request, "enrollment/activities/mine.html", {"form": form, "reports": reports},
                  status=400 if form.errors else 200)


@login_required
def activity_unit_queue(request):
    _role(request, (Role.UNIT_ADMIN,))
    reports = (visible(request.user, ActivityReport).filter(status=ActivityReport.Status.SUBMITTED)
               .select_related("person").order_by("created_at"))
    full_ids = sees_full_id(request.user)
    if full_ids:
        record_full_ids(request, page="activity_unit_queue", person_ids=[r.person_id for r in reports])
    return render(request, "enrollment/activities/queue.html",
                  {"reports": reports, "stage": "unit", "full_ids": full_ids})


@login_required
def activity_bureau_queue(request):
    _role(request, BUREAU)
    reports = (visible(request.user, ActivityReport).filter(status=ActivityReport.Status.CHECKED)
               .select_related("person", "person__unit").order_by("unit_checked_at"))
    full_ids = sees_full_id(request.user)
    if full_ids:
        record_full_ids(request, page="activity_bureau_queue", person_ids=[r.person_id for r in reports])
    return render(request, "enrollment/activities/queue.html",
                  {"reports": reports, "stage": "bureau", "full_ids": full_ids})


@login_required
def activity_evidence(request, pk: int):
    report = _report(request.user, pk)
    try:
        handle = report.evidence.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    record(request, Action.EXPORT, target=report, details={"file": report.evidence_name, "kind": "evidence"})
    # Served as an attachment with a fixed type: an uploaded file is never rendered in the portal's origin.
    response = FileResponse(handle, as_attachment=True, filename=report.evidence_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _act(request, pk: int, stage: str, action, audit: str | None = None):
    """Run one service; `audit` names the audit-log action to record with it, in the same transaction."""
    back = "enrollment:activity_unit_queue" if stage == "unit" else "enrollment:activity_bureau_queue"
    try:
        with transaction.atomic():
            report = action()
            if audit:
                record(request, audit, target=report,
                       details={"status": report.status, "hours": report.hours, "reason": report.reason})
    except NotVisible:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("%(t)s：%(s)s") % {"t": report.title, "s": report.get_status_display()})
    return redirect(back)


@login_required
@require_POST
def activity_check(request, pk: int):
    _role(request, (Role.UNIT_ADMIN,))
    report = _report(request.user, pk)
    return _act(request, pk, "unit", lambda: activities.activity_check(report_id=report.pk, by=request.user))


@login_required
@require_POST
def activity_recognise(request, pk: int):
    _role(request, BUREAU)
    report = _report(request.user, pk)
    return _act(request, pk, "bureau", lambda: activities.activity_recognise(report_id=report.pk, by=request.user),
                audit=Action.ENDORSEMENT)


@login_required
@require_POST
def activity_return(request, pk: int):
    _role(request, (Role.UNIT_ADMIN, *BUREAU))
    report = _report(request.user, pk)
    stage = "unit" if request.user.role == Role.UNIT_ADMIN else "bureau"
    return _act(request, pk, stage, lambda: activities.activity_return(
        report_id=report.pk, reason=request.POST.get("reason", ""), by=request.user), audit=Action.RETURN)


urlpatterns = [
    path("activities/", activity_mine, name="activity_mine"),
    path("activities/unit/", activity_unit_queue, name="activity_unit_queue"),
    path("activities/bureau/", activity_bureau_queue, name="activity_bureau_queue"),
    path("activities/<int:pk>/evidence/", activity_evidence, name="activity_evidence"),
    path("activities/<int:pk>/check/", activity_check, name="activity_check"),
    path("activities/<int:pk>/recognise/", activity_recognise, name="activity_recognise"),
    path("activities/<int:pk>/return/", activity_return, name="activity_return"),
]
