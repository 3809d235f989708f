"""The city bureau's review queue (审核认证): submitted batches oldest first, and per batch per row endorse or return.

The views check the role and fetch through `visibility`; every decision is `review`'s, which locks, records who
and why, and writes the ledger exactly once.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.models import Action
from apps.auditlog.services import record, record_full_ids
from apps.core.errors import DomainError, NotVisible

from .. import review
from ..models import Submission, SubmissionItem

REVIEWERS = (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)


def _reviewer(request) -> None:
    if request.user.role not in REVIEWERS:
        raise PermissionDenied


def _batch(user, pk: int) -> Submission:
    try:
        return get_visible_or_404(user, Submission.objects.filter(status=Submission.Status.SUBMITTED)
                                  .select_related("base"), pk=pk)
    except NotVisible:
        raise Http404 from None


@login_required
def review_queue(request):
    _reviewer(request)
    batches = (visible(request.user, Submission).filter(status=Submission.Status.SUBMITTED)
               .annotate(pending=Count("items", filter=Q(items__status="pending")), total=Count("items"))
               .filter(pending__gt=0).select_related("base").order_by("submitted_at"))
    now = timezone.now()
    rows = [{"batch": b, "age_days": (now - b.submitted_at).days if b.submitted_at else 0} for b in batches]
    return render(request, "enrollment/review/queue.html", {"rows": rows})


@login_required
def review_batch(request, pk: int):
    _reviewer(request)
    batch = _batch(request.user, pk)
    items = (batch.items.select_related("person", "course").order_by("status", "pk"))
    full_ids = sees_full_id(request.user)
    if full_ids:
        record_full_ids(request, page="review_batch", target=batch, person_ids=[i.person_id for i in items])
    return render(request, "enrollment/review/batch.html",
                  {"batch": batch, "items": items, "full_ids": full_ids,
                   "pending": sum(1 for i in items if i.status == "pending"),
                   "endorsed": sum(1 for i in items if i.status == "endorsed")})


@login_required
@require_POST
def review_endorse_all(request, pk: int):
    _reviewer(request)
    batch = _batch(request.user, pk)
    try:
        with transaction.atomic():  # the audit event commits with the decision, or not at all
            done = review.submission_endorse_all(submission_id=batch.pk, by=request.user)
            if done.endorsed:
                record(request, Action.ENDORSEMENT, target=batch,
                       details={"endorsed": done.endorsed, "already": done.already})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已认证 %(n)d 条，学时已计入台账（此前已认证 %(m)d 条）")
                         % {"n": done.endorsed, "m": done.already})
    return redirect("enrollment:review_batch", batch.pk)


@login_required
@require_POST
def review_item(request, pk: int, item_id: int):
    _reviewer(request)
    batch = _batch(request.user, pk)
    item = batch.items.filter(pk=item_id).first()
    if item is None:
        raise Http404
    try:
        if request.POST.get("action") == "return":
            with transaction.atomic():  # the audit event commits with the decision, or not at all
                reason = request.POST.get("reason", "")
                review.item_return(item_id=item.pk, reason=reason, by=request.user)
                record(request, Action.RETURN, target=item, details={"reason": reason.strip()[:500]})
            messages.success(request, _("已退回 %(c)s") % {"c": item.certificate_no})
        else:
            with transaction.atomic():
                done = review.items_endorse(item_ids=[item.pk], by=request.user)
                if done.endorsed:
                    record(request, Action.ENDORSEMENT, target=item, details={"endorsed": done.endorsed})
            messages.success(request, _("已认证 %(c)s，学时已计入台账") % {"c": item.certificate_no})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("enrollment:review_batch", batch.pk)


urlpatterns = [
    path("review/", review_queue, name="review_queue"),
    path("review/<int:pk>/", review_batch, name="review_batch"),
    path("review/<int:pk>/endorse-all/", review_endorse_all, name="review_endorse_all"),
    path("review/<int:pk>/items/<int:item_id>/", review_item, name="review_item"),
]
