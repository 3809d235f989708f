"""继续教育证书 pages: the booklet of a person-year and its learning-record PDF, for the trainee and for staff.

Visibility as on 我的学时: a trainee has only their own; staff see the people of their scope; anyone else gets
404 (outside the scope is the same as absent).

The verification page (/verify/<serial>/) is the one public page: anyone holding a certificate or its QR code
checks it there, without login, rate-limited per IP so the serials cannot be enumerated cheaply.
"""
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.utils.safestring import mark_safe
from django_ratelimit.decorators import ratelimit

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.models import Action
from apps.auditlog.services import record
from apps.core.errors import DomainError, NotVisible
from apps.enrollment.models import Submission, SubmissionItem
from apps.ledger.compliance import fmt
from apps.orgs.models import Region
from apps.personnel.models import Person

from . import batches, pdf, selectors, signing, verification
from .models import CertificateBatch

YEARS = range(1990, 2101)  # the ledger's CHECK range: no entries outside it
PERSON_QS = Person.objects.select_related("unit__region")


def _own_person(request, year: int) -> Person:
    if year not in YEARS or request.user.role != Role.TRAINEE or not request.user.person_id:
        raise Http404
    return _person(request, request.user.person_id, year)


def _person(request, person_id: int, year: int) -> Person:
    if year not in YEARS:
        raise Http404
    try:
        return get_visible_or_404(request.user, PERSON_QS, pk=person_id)
    except NotVisible:
        raise Http404 from None


def _qr_codes(request, pages) -> dict[str, str]:
    """certificate serial → QR code (inline SVG) of its verification address with the signed token."""
    valid = verification.valid_certificates(p.certificate_no for p in pages if p.certificate_no and not p.revoked)
    # The SVG is generated here from our own URL, never from user input, so it is safe to inline.
    return {serial: mark_safe(verification.qr_svg(request.build_absolute_uri(verification.verify_path(cert))))
            for serial, cert in valid.items()}


def _booklet(request, person: Person, year: int, own: bool):
    pages = selectors.booklet(person=person, year=year)
    qr_codes = _qr_codes(request, pages)
    # The valid certificates' items, for the 合格证书 download link (one query).
    item_ids = dict(SubmissionItem.objects.filter(certificate_no__in=list(qr_codes))
                    .values_list("certificate_no", "pk"))
    full_id = not own and sees_full_id(request.user)
    if full_id:
        record(request, Action.VIEW_FULL_ID, target=person, details={"page": "booklet", "year": year})
    return render(request, "certificates/booklet.html", {
        "person": person, "year": year, "pages": pages, "own": own,
        "page_rows": [(p, qr_codes.get(p.certificate_no) if not p.revoked else None,
                       item_ids.get(p.certificate_no) if not p.revoked else None) for p in pages],
        "total": fmt(sum((p.hours for p in pages if not p.revoked), Decimal(0))),
        "id_number": person.id_number if full_id else person.masked_id,
    })


def _download(request, person: Person, year: int) -> HttpResponse:
    return _export(request, person, pdf.learning_record_pdf(person=person, year=year), year=year)


@login_required
def my_booklet(request, year: int):
    return _booklet(request, _own_person(request, year), year, own=True)


@login_required
def my_learning_record(request, year: int):
    return _download(request, _own_person(request, year), year)


@login_required
def person_booklet(request, person_id: int, year: int):
    return _booklet(request, _person(request, person_id, year), year, own=False)


@login_required
def person_learning_record(request, person_id: int, year: int):
    return _download(request, _person(request, person_id, year), year)


def _attachment(filename: str, content_type: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export(request, target, document: tuple[str, str, bytes], **details) -> HttpResponse:
    """A generated document as a download, recorded in the audit log (who took which document of what)."""
    filename, content_type, data = document
    record(request, Action.EXPORT, target=target, details={"file": filename, **details})
    return _attachment(filename, content_type, data)


@login_required
def item_certificate(request, item_id: int):
    """The 合格证书 of one endorsed item: its trainee, the staff of its base and the bureaus (visibility decides;
    outside the scope is 404). An item not (or no longer) endorsed is refused with the reason."""
    try:
        item = get_visible_or_404(request.user, SubmissionItem.objects.select_related("person", "course"), pk=item_id)
    except NotVisible:
        raise Http404 from None
    try:
        return _export(request, item, pdf.qualification_certificate_pdf(item=item))
    except DomainError as exc:
        return HttpResponse(str(exc.message), status=409, content_type="text/plain; charset=utf-8")


LIST_ROLES = (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)


@login_required
def batch_endorsement_list(request, submission_id: int):
    """The endorsement list (认证清单) of a submitted batch, for the city bureau and the system admin only."""
    if request.user.role not in LIST_ROLES:
        raise PermissionDenied
    try:
        submission = get_visible_or_404(request.user, Submission.objects.filter(status=Submission.Status.SUBMITTED)
                                        .select_related("base"), pk=submission_id)
    except NotVisible:
        raise Http404 from None
    return _export(request, submission, pdf.endorsement_list_pdf(submission=submission))


VERIFY_RATE = "30/m"


@ratelimit(key="ip", rate=VERIFY_RATE, block=False)
def verify(request, serial: str):
    if getattr(request, "limited", False):
        return render(request, "errors/429.html", status=429)
    certificate = verification.certificate_by_serial(serial)
    if certificate is None:
        return render(request, "certificates/verify.html", {"serial": serial}, status=404)
    token = request.GET.get("t")
    signature = None  # not asked
    if token is not None:
        try:
            claimed = signing.verify(token)
        except signing.InvalidToken:
            signature = "invalid"
        else:
            # A genuine token of another certificate must not vouch for this one.
            signature = "valid" if claimed.get("s") == certificate.serial else "invalid"
    return render(request, "certificates/verify.html", {
        "serial": serial, "certificate": certificate, "signature": signature,
        "public_key": signing.public_key_b64(),
        "VALID": verification.VALID, "REVOKED": verification.REVOKED,
    })


# --- batch generation (合格证书批量生成) ---------------------------------------------------------------------------

BATCH_ROLES = (Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.COUNTY_BUREAU, Role.BASE_STAFF)
BATCH_LIST_LENGTH = 50
SUBMISSION_CHOICES = 100


def _batch_roles(request) -> None:
    if request.user.role not in BATCH_ROLES:
        raise PermissionDenied


def _batch_for(request, batch_id: int) -> CertificateBatch:
    _batch_roles(request)
    try:
        return get_visible_or_404(request.user, CertificateBatch.objects.select_related("requested_by"),
                                  pk=batch_id)
    except NotVisible:
        raise Http404 from None


def _counties(user):
    return batches.counties_for(user).order_by("code")


def _submissions(user):
    if user.role not in batches.SUBMISSION_ROLES:
        return Submission.objects.none()
    endorsed = verification.standing_items().values("submission_id")
    return (visible(user, Submission).filter(status=Submission.Status.SUBMITTED, pk__in=endorsed)
            .select_related("base").order_by("-submitted_at")[:SUBMISSION_CHOICES])


def _batch_list(request, *, error: str = "", status: int = 200):
    return render(request, "certificates/batches.html", {
        "batches": visible(request.user, CertificateBatch).select_related("requested_by")[:BATCH_LIST_LENGTH],
        "counties": _counties(request.user), "submissions": _submissions(request.user),
        "years": range(timezone.localdate().year, 2009, -1), "error": error,
    }, status=status)


@login_required
@require_GET
def batch_list(request):
    _batch_roles(request)
    return _batch_list(request)


@login_required
@require_POST
def batch_start(request):
    """Start a batch for a submission (`submission`) or for a county and year (`region`, `year`)."""
    _batch_roles(request)
    try:
        if request.POST.get("submission"):
            batch = batches.batch_for_submission(user=request.user, submission_id=int(request.POST["submission"]))
        else:
            region, year = request.POST.get("region", ""), request.POST.get("year", "")
            if not (region.isdigit() and year.isdigit()):
                return _batch_list(request, error=_("请选择县区和年度"), status=400)
            batch = batches.batch_for_county(user=request.user, region_id=int(region), year=int(year))
    except ValueError:
        return _batch_list(request, error=_("上报批次无效"), status=400)
    except DomainError as exc:
        return _batch_list(request, error=str(exc.message), status=400)
    return redirect("certificates:batch_detail", batch_id=batch.pk)


@login_required
@require_GET
def batch_detail(request, batch_id: int):
    batch = _batch_for(request, batch_id)
    return render(request, "certificates/batch_detail.html", {
        "batch": batch, "progress": batches.batch_progress(batch),
        "chunks": batch.rendered.order_by("number"), "DONE": CertificateBatch.Status.DONE,
        "FAILED": CertificateBatch.Status.FAILED,
    })


@login_required
@require_GET
def batch_progress(request, batch_id: int):
    return JsonResponse(batches.batch_progress(_batch_for(request, batch_id)))


@login_required
@require_GET
def batch_download(request, batch_id: int):
    batch = _batch_for(request, batch_id)
    if batch.status != CertificateBatch.Status.DONE or not batch.archive:
        return HttpResponse(_("证书尚未生成完毕"), status=409, content_type="text/plain; charset=utf-8")
    record(request, Action.EXPORT, target=batch, details={"file": f"certificates-batch-{batch.pk}.zip"})
    return FileResponse(batch.archive.open("rb"), as_attachment=True, filename=f"certificates-batch-{batch.pk}.zip",
                        content_type="application/zip")


@login_required
@require_POST
def batch_resume(request, batch_id: int):
    batch = _batch_for(request, batch_id)
    if batch.status != CertificateBatch.Status.DONE:
        batches.batch_resume(batch=batch)
    return redirect("certificates:batch_detail", batch_id=batch.pk)
