"""成绩上传: a base's staff upload exam results, read the check, and confirm (W2).

Only base staff use these pages (anyone else: 403); an upload of another base does not exist for them (404,
through `visibility`). The views fetch, call one service and render; the rules are in `apps.enrollment.uploads`.
"""
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, visible
from apps.auditlog.models import Action
from apps.auditlog.services import record
from apps.core.errors import DomainError, NotVisible

from .. import uploads
from ..models import ResultUpload
from ..resources import COLUMNS

SHOWN_ERRORS = 200


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("成绩文件（.xlsx 或 .csv）"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))


def base_staff_only(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.role != Role.BASE_STAFF or not request.user.base_id:
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapped


def _upload_for(request, upload_id: int) -> ResultUpload:
    try:
        return get_visible_or_404(request.user, ResultUpload.objects.select_related("base"), pk=upload_id)
    except NotVisible:
        raise Http404 from None


@base_staff_only
@require_GET
def upload_list(request):
    uploads_ = visible(request.user, ResultUpload).select_related("created_by").order_by("-created_at")[:100]
    return render(request, "enrollment/results/list.html", {"uploads": uploads_})


@base_staff_only
@require_http_methods(["GET", "POST"])
def upload_new(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = uploads.upload_check(base=request.user.base, file=form.cleaned_data["file"], user=request.user)
        except DomainError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("enrollment:result_upload", upload_id=upload.pk)
    return render(request, "enrollment/results/new.html", {"form": form, "columns": COLUMNS,
                                                            "max_mb": uploads.MAX_BYTES // (1024 * 1024)},
                  status=400 if form.errors else 200)


@base_staff_only
@require_GET
def upload_detail(request, upload_id: int):
    upload = _upload_for(request, upload_id)
    progress = uploads.upload_progress(upload)
    if not progress["finished"]:
        return render(request, "enrollment/results/progress.html", {"upload": upload, "progress": progress})
    report = upload.report or {}
    errors = report.get("errors", [])
    return render(request, "enrollment/results/detail.html", {
        "upload": upload, "counts": report.get("counts", {}), "rows": report.get("rows", []),
        "errors": errors[:SHOWN_ERRORS], "more_errors": max(len(errors) - SHOWN_ERRORS, 0),
        "file_errors": report.get("file_errors", []),
        "can_confirm": upload.status == ResultUpload.Status.CHECKED and not errors and not upload.error_rows,
    })


@base_staff_only
@require_GET
def upload_progress(request, upload_id: int):
    return JsonResponse(uploads.upload_progress(_upload_for(request, upload_id)))


@base_staff_only
@require_POST
def upload_confirm(request, upload_id: int):
    upload = _upload_for(request, upload_id)
    try:
        upload = uploads.upload_confirm(upload_id=upload.pk, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if upload.status == ResultUpload.Status.DONE:
            messages.success(request, _("已导入：新增 %(new)d 条，更新 %(updated)d 条，未变化 %(unchanged)d 条") % {
                "new": upload.new_rows, "updated": upload.report.get("counts", {}).get("updated", 0),
                "unchanged": upload.unchanged_rows})
        elif upload.status == ResultUpload.Status.REJECTED:
            messages.error(request, _("数据在检查后发生了变化，出现错误，未导入任何数据"))
    return redirect("enrollment:result_upload", upload_id=upload.pk)


@base_staff_only
@require_GET
def upload_errors(request, upload_id: int):
    upload = _upload_for(request, upload_id)
    filename, content_type, content = uploads.errors_xlsx(upload)
    record(request, Action.EXPORT, target=upload, details={"file": filename})
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


urlpatterns = [
    path("results/", upload_list, name="result_uploads"),
    path("results/new/", upload_new, name="result_upload_new"),
    path("results/<int:upload_id>/", upload_detail, name="result_upload"),
    path("results/<int:upload_id>/progress.json", upload_progress, name="result_upload_progress"),
    path("results/<int:upload_id>/confirm/", upload_confirm, name="result_upload_confirm"),
    path("results/<int:upload_id>/errors.xlsx", upload_errors, name="result_upload_errors"),
]
