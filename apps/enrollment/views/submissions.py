"""上报批次 pages for base staff (W1, W2): list, new draft, add everything ready, items, remove, submit.

The views check the role (403), fetch through `visibility` (another base's batch is a 404), call one service and
redirect; a refusal comes back as a message on the batch page, with nothing changed.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.services import record_full_ids
from apps.core.errors import DomainError, NotVisible

from .. import submissions as services
from ..models import Submission, SubmissionItem


def _base_staff(user) -> None:
    if user.role != Role.BASE_STAFF or not user.base_id:
        raise PermissionDenied


def _submission(user, pk: int) -> Submission:
    _base_staff(user)
    try:
        return get_visible_or_404(user, Submission.objects.select_related("base", "submitted_by"), pk=pk)
    except NotVisible:
        raise Http404 from None


def _to_detail(pk: int):
    return redirect("enrollment:submission_detail", pk)


@login_required
def submission_list(request):
    _base_staff(request.user)
    rows = (visible(request.user, Submission).select_related("submitted_by")
            .annotate(n_items=Count("items"), n_hours=Sum("items__hours")).order_by("-created_at", "-pk"))
    return render(request, "enrollment/submissions/list.html", {"submissions": rows, "base": request.user.base})


@login_required
@require_POST
def submission_create(request):
    _base_staff(request.user)
    try:
        sub = services.submission_create(base=request.user.base, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrollment:submission_list")
    messages.success(request, _("已新建上报批次 %(number)s（草稿）") % {"number": sub.number})
    return _to_detail(sub.pk)


@login_required
def submission_detail(request, pk: int):
    sub = _submission(request.user, pk)
    items = (visible(request.user, SubmissionItem).filter(submission=sub)
             .select_related("person", "course", "result", "completion").order_by("pk"))
    full_id = sees_full_id(request.user)
    rows = [(item, item.person.id_number if full_id else item.person.masked_id) for item in items]
    if full_id:
        record_full_ids(request, page="submission_detail", target=sub, person_ids=[i.person_id for i, _n in rows])
    n, hours = services.submission_totals(sub)
    return render(request, "enrollment/submissions/detail.html", {
        "submission": sub, "rows": rows, "n_items": n, "n_hours": hours,
        "is_draft": sub.status == Submission.Status.DRAFT,
        "n_endorsed": sum(1 for item in items if item.status == "endorsed"),
    })


@login_required
@require_POST
def submission_add_ready(request, pk: int):
    sub = _submission(request.user, pk)
    try:
        added = services.submission_add_ready(submission_id=sub.pk, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if added:
            messages.success(request, _("已添加 %(n)d 条合格记录") % {"n": added})
        else:
            messages.info(request, _("没有新的待上报记录：合格的成绩和网络学习记录都已在上报批次中"))
    return _to_detail(sub.pk)


@login_required
@require_POST
def submission_remove_item(request, pk: int, item_id: int):
    sub = _submission(request.user, pk)
    if not SubmissionItem.objects.filter(pk=item_id, submission=sub).exists():
        raise Http404
    try:
        services.submission_remove_item(item_id=item_id, by=request.user)
    except NotVisible:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已移除一条明细，该记录可在以后的批次中重新上报"))
    return _to_detail(sub.pk)


@login_required
@require_http_methods(["GET", "POST"])
def submission_submit(request, pk: int):
    """GET asks for confirmation (what will be reported); POST submits."""
    sub = _submission(request.user, pk)
    if request.method == "POST":
        try:
            services.submission_submit(submission_id=sub.pk, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("上报批次 %(number)s 已上报市人社局") % {"number": sub.number})
        return _to_detail(sub.pk)
    n, hours = services.submission_totals(sub)
    return render(request, "enrollment/submissions/confirm_submit.html", {
        "submission": sub, "n_items": n, "n_hours": hours, "is_draft": sub.status == Submission.Status.DRAFT})


urlpatterns = [
    path("submissions/", submission_list, name="submission_list"),
    path("submissions/new/", submission_create, name="submission_create"),
    path("submissions/<int:pk>/", submission_detail, name="submission_detail"),
    path("submissions/<int:pk>/add-ready/", submission_add_ready, name="submission_add_ready"),
    path("submissions/<int:pk>/items/<int:item_id>/remove/", submission_remove_item, name="submission_remove_item"),
    path("submissions/<int:pk>/submit/", submission_submit, name="submission_submit"),
]
